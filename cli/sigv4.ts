import { createHash, createHmac } from "node:crypto";
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import { SignatureV4 } from "@smithy/signature-v4";
import type { Authorizer } from "../shared/api/client.ts";

/**
 * The CLI against Ferry's API in AWS: API Gateway authorizes every method with IAM, so each
 * request is signed with Signature Version 4 (service `execute-api`) from the standard AWS
 * credential chain (environment, profile and SSO, web identity, container and instance roles).
 */

/** SHA-256 (or HMAC-SHA-256 with a key), shaped as the signer's checksum constructor wants. */
export class Sha256 {
	private readonly hash;
	constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
		this.hash = secret === undefined ? createHash("sha256") : createHmac("sha256", toBuffer(secret));
	}
	update(data: string | ArrayBuffer | ArrayBufferView): void {
		this.hash.update(toBuffer(data));
	}
	async digest(): Promise<Uint8Array> {
		return new Uint8Array(this.hash.digest());
	}
}

function toBuffer(data: string | ArrayBuffer | ArrayBufferView): Buffer {
	if (typeof data === "string") return Buffer.from(data, "utf8");
	if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
	return Buffer.from(data);
}

/** The region of an API Gateway URL (`https://{id}.execute-api.{region}.amazonaws.com/...`), if it is one. */
export function regionOfApiUrl(url: string): string | undefined {
	return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(new URL(url).hostname)?.[1];
}

export function sigv4(region: string, credentials: ReturnType<typeof defaultProvider> = defaultProvider()): Authorizer {
	const signer = new SignatureV4({ service: "execute-api", region, credentials, sha256: Sha256 });
	return async (req) => {
		const signed = await signer.sign({
			method: req.method,
			protocol: req.url.protocol,
			hostname: req.url.hostname,
			port: req.url.port ? Number(req.url.port) : undefined,
			path: req.url.pathname,
			query: Object.fromEntries(req.url.searchParams),
			headers: { ...req.headers, host: req.url.host },
			body: req.body,
		});
		// fetch sets Host itself from the URL, which is what was signed
		const { host: _host, ...headers } = signed.headers;
		return headers;
	};
}
