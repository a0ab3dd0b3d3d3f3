import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySignature } from "../../shared/alerts/signature.ts";

export interface ReceivedNotification {
	type: string;
	alert: { id: string; name: string; state: string; projectId: string; subject: string; message: string };
	verified: boolean;
	headers: IncomingHttpHeaders;
}

/**
 * A webhook receiver as a user would write one: it checks each request's signature over the raw
 * body with the shared secret (refusing with 401 when it does not match) and keeps what it got.
 * `failNext` makes it answer 500 to that many requests first, as a receiver that is down.
 */
export async function startWebhookReceiver(secret: string) {
	const received: ReceivedNotification[] = [];
	let failNext = 0;
	let refused = 0;
	const server = createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on("data", (c: Buffer) => chunks.push(c));
		req.on("end", () => {
			const body = Buffer.concat(chunks).toString("utf8");
			if (failNext > 0) {
				failNext--;
				res.writeHead(500).end();
				return;
			}
			const check = verifySignature(secret, body, {
				signature: req.headers[SIGNATURE_HEADER] as string | undefined,
				timestamp: req.headers[TIMESTAMP_HEADER] as string | undefined,
			});
			if (!check.ok) {
				refused++;
				res.writeHead(401).end(check.reason);
				return;
			}
			received.push({
				...(JSON.parse(body) as Omit<ReceivedNotification, "verified" | "headers">),
				verified: true,
				headers: req.headers,
			});
			res.writeHead(204).end();
		});
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	return {
		url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/ferry-alerts`,
		received,
		refused: () => refused,
		failNext(n: number) {
			failNext = n;
		},
		close: () => new Promise<void>((resolve) => server.close(() => resolve())),
	};
}
