import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SourcePosition } from "../../shared/binlog/position.ts";
import type { RowChange, TransactionPart } from "../../shared/capture/change.ts";
import { CaptureError } from "../../shared/capture/errors.ts";
import { checkCaptureSettings } from "../../shared/capture/precheck.ts";
import { openBinlogReader } from "../../shared/capture/reader.ts";
import type { BinlogReader } from "../../shared/capture/reader-types.ts";
import { type Connection, connect } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import { freshDatabase, scratchCredentials, uniqueDatabase } from "../support/databases.ts";
import { readTransactions, uniqueServerId } from "./support.ts";

/**
 * On the scratch instance, which these tests restart and reconfigure: a source restart in the
 * middle of the stream, and sources whose settings would make capture wrong.
 */

function scratch(action: "stop" | "start"): void {
	execFileSync("bash", ["scripts/services/mariadb.sh", action, "scratch"], { stdio: "pipe", timeout: 60_000 });
}

/** What a consumer keeps: changes of transactions whose final part arrived, and the last position. */
class Consumer {
	ids: number[] = [];
	gtids: string[] = [];
	position: SourcePosition | undefined;
	private pending: TransactionPart[] = [];

	take(part: TransactionPart): void {
		this.pending.push(part);
		if (!part.final) return;
		for (const p of this.pending) {
			for (const c of p.changes) if (c.kind === "insert") this.ids.push(Number((c as RowChange).after?.id));
		}
		if (part.gtid && this.pending.some((p) => p.changes.length > 0)) this.gtids.push(part.gtid);
		this.position = part.position;
		this.pending = [];
	}

	/** Reads until `predicate` holds or the reader fails; returns the failure, if any. */
	async readUntil(reader: BinlogReader, predicate: () => boolean, timeoutMs = 20_000): Promise<unknown> {
		const deadline = Date.now() + timeoutMs;
		while (!predicate()) {
			if (Date.now() > deadline) throw new Error(`timed out with ${this.ids.length} rows`);
			try {
				const r = await reader.next();
				if (r.done) return undefined;
				this.take(r.value);
			} catch (err) {
				this.pending = [];
				return err;
			}
		}
		return undefined;
	}
}

describe("capture from a source that restarts or is misconfigured", () => {
	const db = uniqueDatabase("capture_restart");
	let conn: Connection;

	beforeAll(async () => {
		scratch("start");
		conn = await freshDatabase(scratchCredentials, db);
	});

	afterAll(async () => {
		const c = await connect(scratchCredentials).catch(() => null);
		await c?.query("SET GLOBAL binlog_row_metadata = FULL");
		await c?.query(`DROP DATABASE IF EXISTS ${quoteId(db)}`);
		await c?.end();
		await conn?.end().catch(() => undefined);
	});

	/** `transactions` transactions of 100 rows each, ids from `from` on (wide rows: 200 kB a transaction). */
	async function writeBatch(c: Connection, from: number, transactions: number): Promise<void> {
		for (let i = 0; i < transactions; i++) {
			const first = from + 100 * i;
			await c.query(`INSERT INTO seq SELECT seq, REPEAT('x', 2000) FROM seq_${first}_to_${first + 99}`);
		}
	}

	it("throws when the source stops, and a reader opened at the last final position continues exactly", async () => {
		await conn.query("CREATE TABLE seq (id INT PRIMARY KEY, v VARCHAR(2000))");
		const consumer = new Consumer();
		const include = (t: { database: string }) => t.database === db;
		const first = await openBinlogReader(scratchCredentials, {
			from: "now",
			serverId: uniqueServerId(),
			include,
			includeDdl: (d) => d.database === db,
			maxBufferedParts: 2,
			maxPartChanges: 50,
		});
		let failure: unknown;
		try {
			// 20 MB of binlog: more than the socket buffers hold, so the stop comes mid-stream
			await writeBatch(conn, 1, 100);
			// read part of it, then take the server away while the rest is in flight
			await consumer.readUntil(first, () => consumer.ids.length >= 1000);
			await conn.end();
			scratch("stop");
			failure = await consumer.readUntil(first, () => false);
		} finally {
			await first.close();
		}
		expect(failure).toBeInstanceOf(CaptureError);
		expect((failure as CaptureError).code).toBe("CAPTURE_DISCONNECTED");
		expect(consumer.ids.length).toBeLessThan(10_000);

		scratch("start");
		conn = await connect(scratchCredentials);
		await conn.query(`USE ${quoteId(db)}`);
		await writeBatch(conn, 10_001, 10);
		const second = await openBinlogReader(scratchCredentials, {
			from: consumer.position as SourcePosition,
			serverId: uniqueServerId(),
			include,
			includeDdl: (d) => d.database === db,
		});
		try {
			expect(await consumer.readUntil(second, () => consumer.ids.length >= 11_000)).toBeUndefined();
		} finally {
			await second.close();
		}
		expect(consumer.ids).toEqual(Array.from({ length: 11_000 }, (_, i) => i + 1));
		expect(new Set(consumer.gtids).size).toBe(consumer.gtids.length);
	});

	it("refuses a source without FULL row metadata, and stops when it changes under a running reader", async () => {
		await conn.end().catch(() => undefined);
		conn = await connect(scratchCredentials);
		await conn.query(`USE ${quoteId(db)}`);
		await conn.query("SET GLOBAL binlog_row_metadata = MINIMAL");
		try {
			const findings = await checkCaptureSettings(conn);
			expect(findings).toContainEqual(
				expect.objectContaining({
					level: "error",
					object: "@@binlog_row_metadata",
					fix: expect.stringContaining("FULL"),
				}),
			);
			await expect(
				openBinlogReader(scratchCredentials, { from: "now", serverId: uniqueServerId() }),
			).rejects.toMatchObject({
				code: "CAPTURE_SETTINGS",
				message: expect.stringContaining("binlog_row_metadata"),
			});
		} finally {
			await conn.query("SET GLOBAL binlog_row_metadata = FULL");
		}

		await conn.query("CREATE TABLE m (id INT PRIMARY KEY, v VARCHAR(10))");
		const reader = await openBinlogReader(scratchCredentials, {
			from: "now",
			serverId: uniqueServerId(),
			include: (t) => t.database === db,
			includeDdl: (d) => d.database === db,
		});
		try {
			await conn.query("SET GLOBAL binlog_row_metadata = MINIMAL");
			// a new session, so the table map is written under the new setting
			const other = await connect(scratchCredentials);
			await other.query(`INSERT INTO ${quoteId(db)}.m VALUES (1, 'a')`);
			await other.end();
			await expect(readTransactions(reader, 1)).rejects.toMatchObject({ code: "ROW_METADATA_NOT_FULL" });
		} finally {
			await conn.query("SET GLOBAL binlog_row_metadata = FULL");
			await reader.close();
		}
	});

	it("names the missing replication privileges", async () => {
		const user = `capture_np_${process.pid}`;
		const password = `pw-${Date.now()}`;
		await conn.query(`CREATE USER ?@'127.0.0.1' IDENTIFIED BY ?`, [user, password]);
		try {
			await conn.query(`GRANT SELECT ON *.* TO ?@'127.0.0.1'`, [user]);
			const limited = await connect({ ...scratchCredentials, user, password });
			try {
				expect((await checkCaptureSettings(limited)).filter((f) => f.object === "privileges")).toEqual([
					expect.objectContaining({
						level: "error",
						message: expect.stringMatching(/REPLICATION SLAVE and BINLOG MONITOR/),
						fix: expect.stringContaining("GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.*"),
					}),
				]);
				await conn.query(`GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO ?@'127.0.0.1'`, [user]);
				expect((await checkCaptureSettings(limited)).filter((f) => f.object === "privileges")).toEqual([]);
			} finally {
				await limited.end();
			}
		} finally {
			await conn.query(`DROP USER ?@'127.0.0.1'`, [user]);
		}
	});

	it("stops on a row event without the full row image", async () => {
		await conn.query("CREATE TABLE n (id INT PRIMARY KEY, v VARCHAR(10), w INT)");
		await conn.query("INSERT INTO n VALUES (1, 'a', 1)");
		const reader = await openBinlogReader(scratchCredentials, {
			from: "now",
			serverId: uniqueServerId(),
			include: (t) => t.database === db,
			includeDdl: (d) => d.database === db,
		});
		try {
			await conn.query("SET SESSION binlog_row_image = MINIMAL");
			await conn.query("UPDATE n SET w = 2 WHERE id = 1");
			await conn.query("SET SESSION binlog_row_image = FULL");
			await expect(readTransactions(reader, 1)).rejects.toMatchObject({
				code: "ROW_IMAGE_NOT_FULL",
				message: expect.stringContaining(`${db}.n`),
			});
		} finally {
			await reader.close();
		}
	});
});
