import { execFile } from "node:child_process";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { SignatureV4 } from "@smithy/signature-v4";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { regionOfApiUrl, Sha256, sigv4 } from "../../cli/sigv4.ts";
import { FerryClient } from "../../shared/api/client.ts";

const FERRY = fileURLToPath(new URL("../../bin/ferry", import.meta.url));
const KEYS = { accessKeyId: "AKIDFERRYTEST", secretAccessKey: "ferry-test-secret-key" };
const REGION = "eu-west-1";

/**
 * API Gateway's side, played by the AWS SDK's own signer: the request's signed headers, signed
 * again with the key the server knows at the request's own time, must give the same Authorization.
 */
async function verify(req: IncomingMessage, body: string, secret: string): Promise<boolean> {
	const auth = req.headers.authorization ?? "";
	const signedHeaders = /SignedHeaders=([^,]+)/.exec(auth)?.[1]?.split(";") ?? [];
	const amzDate = String(req.headers["x-amz-date"] ?? "");
	if (!auth.startsWith("AWS4-HMAC-SHA256") || !amzDate || !signedHeaders.includes("host")) return false;
	const headers: Record<string, string> = {};
	for (const h of signedHeaders) if (h !== "x-amz-date") headers[h] = String(req.headers[h] ?? "");
	const url = new URL(req.url ?? "/", `http://${req.headers.host}`);
	const signer = new SignatureV4({
		service: "execute-api",
		region: REGION,
		credentials: { accessKeyId: KEYS.accessKeyId, secretAccessKey: secret },
		sha256: Sha256,
	});
	const when = new Date(amzDate.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, "$1-$2-$3T$4:$5:$6Z"));
	const again = await signer.sign(
		{
			method: req.method ?? "GET",
			protocol: "http:",
			hostname: url.hostname,
			port: Number(url.port),
			path: url.pathname,
			query: Object.fromEntries(url.searchParams),
			headers,
			body: body || undefined,
		},
		{ signingDate: when },
	);
	return again.headers.authorization === auth;
}

let server: Server;
let base = "";
const seen: { method: string; path: string; verified: boolean }[] = [];
let serverSecret = KEYS.secretAccessKey;

beforeAll(async () => {
	server = createServer((req, res) => {
		let body = "";
		req.on("data", (c) => {
			body += c;
		});
		req.on("end", async () => {
			const verified = await verify(req, body, serverSecret);
			seen.push({ method: req.method ?? "", path: req.url ?? "", verified });
			res.writeHead(verified ? 200 : 403, { "content-type": "application/json" });
			res.end(
				JSON.stringify(
					verified
						? [{ id: "p-1", echo: body ? JSON.parse(body) : null }]
						: { message: "The request signature we calculated does not match the signature you provided." },
				),
			);
		});
	});
	await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
	base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe("the CLI against the cloud API (SigV4; API Gateway played by a local server)", () => {
	it("knows an API Gateway URL's region", () => {
		expect(regionOfApiUrl("https://abc123.execute-api.eu-central-1.amazonaws.com/prod/")).toBe("eu-central-1");
		expect(regionOfApiUrl("http://127.0.0.1:7300")).toBeUndefined();
	});

	it("signs GETs with a query and POSTs with a body so that the SDK's signer verifies them", async () => {
		const api = new FerryClient(
			base,
			sigv4(REGION, async () => KEYS),
		);
		expect(await api.get("/projects?tag=shop%20eu")).toEqual([{ id: "p-1", echo: null }]);
		expect(await api.post("/projects/p-1/actions/start", { note: "ünïcode" })).toEqual([
			{ id: "p-1", echo: { note: "ünïcode" } },
		]);
		expect(seen.slice(-2).map((s) => s.verified)).toEqual([true, true]);
	});

	it("`ferry --auth sigv4` takes the keys from the standard credential chain; a wrong key is refused", async () => {
		const env = {
			...process.env,
			AWS_ACCESS_KEY_ID: KEYS.accessKeyId,
			AWS_SECRET_ACCESS_KEY: KEYS.secretAccessKey,
			AWS_REGION: REGION,
			AWS_PROFILE: "",
			AWS_CONFIG_FILE: "/nonexistent",
			AWS_SHARED_CREDENTIALS_FILE: "/nonexistent",
			FERRY_API_TOKEN: "",
		};
		const run = promisify(execFile);
		const out = await run(FERRY, ["--api", base, "--auth", "sigv4", "project", "list"], { env });
		expect(out.stdout).toContain("p-1");
		const last = seen.at(-1);
		expect(last).toMatchObject({ method: "GET", path: "/projects", verified: true });

		serverSecret = "another-secret";
		const refused = await run(FERRY, ["--api", base, "--auth", "sigv4", "project", "list"], { env }).catch(
			(e: { code: number; stderr: string }) => e,
		);
		serverSecret = KEYS.secretAccessKey;
		expect((refused as { code: number }).code).not.toBe(0);
		expect(seen.at(-1)?.verified).toBe(false);
	}, 60_000);
});
