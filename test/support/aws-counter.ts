import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A counting HTTP relay in front of a DynamoDB- or SQS-compatible server: every request of every
 * Ferry process (the coordinator, the copy workers, the replication task) passes through it, so
 * a test or a benchmark can read how many calls of each operation a migration made and how many
 * items its reads returned, without touching the product's code. Counting at the wire also counts
 * what the SDK retries.
 */
export interface AwsCounts {
	/** Calls by operation (the `X-Amz-Target` suffix: `Query`, `GetItem`, `SendMessageBatch`, ...). */
	calls: Record<string, number>;
	/** DynamoDB items returned by reads (GetItem, Query, Scan, BatchGetItem). */
	itemsRead: number;
	/** Read request units as DynamoDB bills strongly consistent reads: 4 KB of each response, rounded up. */
	readUnits: number;
	/** Write request units: 1 KB of each written item's request, rounded up. */
	writeUnits: number;
	/** Messages sent (SendMessage counts 1, SendMessageBatch its entries). */
	messagesSent: number;
}

export interface CountingRelay {
	endpoint: string;
	counts(): AwsCounts;
	stop(): Promise<void>;
}

export function emptyCounts(): AwsCounts {
	return { calls: {}, itemsRead: 0, readUnits: 0, writeUnits: 0, messagesSent: 0 };
}

/** a - b, operation by operation. */
export function countsSince(a: AwsCounts, b: AwsCounts): AwsCounts {
	const calls: Record<string, number> = {};
	for (const [op, n] of Object.entries(a.calls)) {
		const d = n - (b.calls[op] ?? 0);
		if (d) calls[op] = d;
	}
	return {
		calls,
		itemsRead: a.itemsRead - b.itemsRead,
		readUnits: a.readUnits - b.readUnits,
		writeUnits: a.writeUnits - b.writeUnits,
		messagesSent: a.messagesSent - b.messagesSent,
	};
}

export const totalCalls = (c: AwsCounts) => Object.values(c.calls).reduce((n, x) => n + x, 0);

const READS = new Set(["GetItem", "Query", "Scan", "BatchGetItem"]);
const WRITES = new Set(["PutItem", "UpdateItem", "DeleteItem"]);

function count(counts: AwsCounts, op: string, requestBody: string, responseBody: string): void {
	counts.calls[op] = (counts.calls[op] ?? 0) + 1;
	if (READS.has(op)) {
		try {
			const out = JSON.parse(responseBody) as { Item?: unknown; Count?: number };
			counts.itemsRead += op === "GetItem" ? (out.Item ? 1 : 0) : (out.Count ?? 0);
		} catch {
			// an error answer: no items
		}
		counts.readUnits += Math.max(1, Math.ceil(Buffer.byteLength(responseBody) / 4096));
	}
	if (WRITES.has(op)) counts.writeUnits += Math.max(1, Math.ceil(Buffer.byteLength(requestBody) / 1024));
	if (op === "SendMessage") counts.messagesSent += 1;
	if (op === "SendMessageBatch") {
		try {
			counts.messagesSent += (JSON.parse(requestBody) as { Entries?: unknown[] }).Entries?.length ?? 0;
		} catch {
			// not JSON: not counted
		}
	}
}

/** Starts a relay on 127.0.0.1 (an ephemeral port unless `port`) to `target` (`http://host:port`). */
export async function startCountingRelay(target: string, port = 0): Promise<CountingRelay> {
	const to = new URL(target);
	const counts = emptyCounts();
	const server: Server = createServer((req, res) => {
		const parts: Buffer[] = [];
		req.on("data", (b: Buffer) => parts.push(b));
		req.on("end", () => {
			const body = Buffer.concat(parts);
			const op =
				String(req.headers["x-amz-target"] ?? "unknown")
					.split(".")
					.pop() ?? "unknown";
			const out = request(
				{ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers },
				(answer) => {
					const back: Buffer[] = [];
					answer.on("data", (b: Buffer) => back.push(b));
					answer.on("end", () => {
						const response = Buffer.concat(back);
						count(counts, op, body.toString("utf8"), response.toString("utf8"));
						res.writeHead(answer.statusCode ?? 502, answer.headers);
						res.end(response);
					});
				},
			);
			out.on("error", (err) => {
				res.writeHead(502);
				res.end(err.message);
			});
			out.end(body);
		});
	});
	server.keepAliveTimeout = 60_000;
	await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
	return {
		endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
		counts: () => structuredClone(counts),
		stop: () =>
			new Promise<void>((resolve) => {
				server.closeAllConnections();
				server.close(() => resolve());
			}),
	};
}
