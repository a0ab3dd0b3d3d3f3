import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openBinlogReader } from "../../shared/capture/reader.ts";
import type { Connection } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import { freshDatabase, sourceCredentials, uniqueDatabase } from "../support/databases.ts";
import { readTransactions, uniqueServerId } from "./support.ts";

/** A TCP relay to the source that can go silent without closing anything: a cut network. */
class Relay {
	private server: Server | null = null;
	private sockets: Socket[] = [];
	frozen = false;
	port = 0;

	async start(target: { host: string; port: number }): Promise<void> {
		this.server = createServer((client) => {
			const upstream = tcpConnect(target.port, target.host);
			this.sockets.push(client, upstream);
			for (const [from, to] of [
				[client, upstream],
				[upstream, client],
			] as const) {
				from.on("data", (chunk) => {
					if (!this.frozen) to.write(chunk);
				});
				from.on("error", () => to.destroy());
				from.on("close", () => to.destroy());
			}
		});
		await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", resolve));
		const address = this.server.address();
		this.port = typeof address === "object" && address ? address.port : 0;
	}

	async stop(): Promise<void> {
		for (const s of this.sockets) s.destroy();
		await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
	}
}

describe("capture over a network that goes silent", () => {
	const db = uniqueDatabase("capture_stall");
	let conn: Connection;
	const relay = new Relay();

	beforeAll(async () => {
		conn = await freshDatabase(sourceCredentials, db);
		await conn.query("CREATE TABLE t (id INT PRIMARY KEY)");
		await relay.start(sourceCredentials);
	});

	afterAll(async () => {
		await relay.stop();
		await conn?.query(`DROP DATABASE IF EXISTS ${quoteId(db)}`);
		await conn?.end();
	});

	it("heartbeats keep an idle reader alive; silence beyond the stall timeout makes it throw", async () => {
		const reader = await openBinlogReader(
			{ ...sourceCredentials, port: relay.port },
			{
				from: "now",
				serverId: uniqueServerId(),
				include: (t) => t.database === db,
				includeDdl: (d) => d.database === db,
				heartbeatSeconds: 1,
				stallTimeoutMs: 2_500,
			},
		);
		try {
			// idle for longer than the stall timeout: the server's heartbeats count as data
			await new Promise((resolve) => setTimeout(resolve, 4_000));
			await conn.query("INSERT INTO t VALUES (1)");
			const [txn] = await readTransactions(reader, 1);
			expect(txn?.[0]?.changes).toHaveLength(1);

			relay.frozen = true;
			const began = Date.now();
			// parts already received (other tables' transactions, as empty parts) come first
			let failure: unknown;
			for (;;) {
				try {
					if ((await reader.next()).done) break;
				} catch (err) {
					failure = err;
					break;
				}
			}
			expect(failure).toMatchObject({ code: "CAPTURE_STALLED" });
			expect(Date.now() - began).toBeLessThan(6_000);
		} finally {
			relay.frozen = false;
			await reader.close();
		}
	});
});
