import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { currentPosition, type SourcePosition } from "../../shared/binlog/position.ts";
import type { Change, RowChange, TransactionPart } from "../../shared/capture/change.ts";
import { checkCaptureSettings } from "../../shared/capture/precheck.ts";
import { openBinlogReader } from "../../shared/capture/reader.ts";
import type { Connection } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import { freshDatabase, sourceCredentials, uniqueDatabase } from "../support/databases.ts";
import { readTransactions, uniqueServerId } from "./support.ts";

function summary(c: Change): string {
	if (c.kind === "ddl") return `ddl ${c.database}: ${c.sql}`;
	const row = (c.after ?? c.before) as Record<string, unknown>;
	return `${c.kind} ${c.table.table} ${row.id}`;
}

function changesOf(t: TransactionPart[] | undefined): Change[] {
	return (t ?? []).flatMap((p) => p.changes);
}

describe("capture of transactions", () => {
	const db = uniqueDatabase("capture_txn");
	let conn: Connection;

	beforeAll(async () => {
		conn = await freshDatabase(sourceCredentials, db);
		await conn.query("CREATE TABLE a (id INT PRIMARY KEY, v VARCHAR(20))");
		await conn.query("CREATE TABLE b (id INT PRIMARY KEY, v VARCHAR(20))");
		await conn.query("CREATE TABLE skipped (id INT PRIMARY KEY, v VARCHAR(20))");
	});

	afterAll(async () => {
		await conn?.query(`DROP DATABASE IF EXISTS ${quoteId(db)}`);
		await conn?.end();
	});

	it("the source passes the capture precheck", async () => {
		const findings = await checkCaptureSettings(conn);
		expect(findings.filter((f) => f.level === "error")).toEqual([]);
	});

	it("keeps transactions whole and in order, gives DDL its own transaction, and leaves out excluded tables", async () => {
		const reader = await openBinlogReader(sourceCredentials, {
			from: "now",
			serverId: uniqueServerId(),
			include: (t) => t.database === db && t.table !== "skipped",
			includeDdl: (d) => d.database === db,
		});
		try {
			await conn.query("BEGIN");
			await conn.query("INSERT INTO a VALUES (1, 'a1'), (2, 'a2')");
			await conn.query("INSERT INTO b VALUES (1, 'b1')");
			await conn.query("UPDATE a SET v = 'a1!' WHERE id = 1");
			await conn.query("INSERT INTO skipped VALUES (1, 'not captured')");
			await conn.query("DELETE FROM b WHERE id = 1");
			await conn.query("COMMIT");
			await conn.query("INSERT INTO skipped VALUES (2, 'excluded')");
			await conn.query("ALTER TABLE a ADD COLUMN w INT DEFAULT 7");
			await conn.query("INSERT INTO a (id, v) VALUES (3, 'after the ALTER')");
			await conn.query("CREATE TABLE c SELECT id, v FROM a WHERE id < 3");

			const transactions = await readTransactions(reader, 4);
			const [multi, ddl, single, ctas] = transactions;
			expect(changesOf(multi).map(summary)).toEqual([
				"insert a 1",
				"insert a 2",
				"insert b 1",
				"update a 1",
				"delete b 1",
			]);
			expect(multi).toHaveLength(1);
			expect(multi?.[0]?.final).toBe(true);
			expect(multi?.[0]?.gtid).toMatch(/^\d+-\d+-\d+$/);
			expect(multi?.[0]?.position?.gtid).toContain(multi?.[0]?.gtid);
			expect(multi?.[0]?.bytes).toBeGreaterThan(0);
			expect(Math.abs((multi?.[0]?.commitTime ?? 0) - Date.now())).toBeLessThan(60_000);

			expect(changesOf(ddl)).toEqual([
				{
					kind: "ddl",
					database: db,
					sql: "ALTER TABLE a ADD COLUMN w INT DEFAULT 7",
					session: expect.objectContaining({ sqlMode: expect.arrayContaining(["STRICT_TRANS_TABLES"]) }),
				},
			]);
			expect(ddl?.[0]?.final).toBe(true);

			// the row event after the ALTER is decoded with the new column, named from the binlog
			expect((changesOf(single)[0] as RowChange).after).toEqual({ id: 3, v: "after the ALTER", w: 7 });

			// CREATE TABLE ... SELECT: the DDL and its rows are one transaction
			expect(changesOf(ctas).map(summary)).toEqual([
				expect.stringMatching(/^ddl .*: CREATE TABLE `c`/),
				"insert c 1",
				"insert c 2",
			]);

			// positions only on final parts, and they only move forward
			const positions = transactions
				.flat()
				.filter((p) => p.final)
				.map((p) => p.position?.pos ?? 0);
			expect(positions).toEqual([...positions].sort((x, y) => x - y));
			expect(transactions.flat().every((p) => (p.final ? p.position !== undefined : p.position === undefined))).toBe(
				true,
			);
		} finally {
			await reader.close();
		}
	});

	it("splits a big transaction into bounded parts and pauses the connection for a slow consumer", async () => {
		await conn.query("CREATE TABLE big (id INT PRIMARY KEY, v VARCHAR(40), n BIGINT)");
		const start = await currentPosition(conn);
		await conn.query("INSERT INTO big SELECT seq, CONCAT('row ', seq), seq * 1000 FROM seq_1_to_20000");

		const reader = await openBinlogReader(sourceCredentials, {
			from: start,
			serverId: uniqueServerId(),
			include: (t) => t.database === db && t.table === "big",
			includeDdl: (d) => d.database === db,
			maxPartChanges: 1000,
			maxBufferedParts: 2,
		});
		try {
			const parts: TransactionPart[] = [];
			const began = performance.now();
			while (!parts.some((p) => p.final && p.changes.length > 0)) {
				const r = await reader.next();
				if (r.done) break;
				if (r.value.changes.length === 0 && parts.length === 0) continue;
				parts.push(r.value);
				// a slow consumer for the first parts: the reader must hold back, not buffer
				if (parts.length <= 3) await new Promise((resolve) => setTimeout(resolve, 100));
			}
			const seconds = (performance.now() - began) / 1000 - 0.3;
			expect(parts).toHaveLength(20);
			expect(parts.map((p) => p.changes.length)).toEqual(Array(20).fill(1000));
			expect(parts.map((p) => p.final)).toEqual([...Array(19).fill(false), true]);
			expect(new Set(parts.map((p) => p.gtid)).size).toBe(1);
			expect(parts.slice(0, -1).every((p) => p.position === undefined)).toBe(true);
			const ids = parts.flatMap((p) => p.changes.map((c) => (c as RowChange).after?.id));
			expect(ids).toEqual(Array.from({ length: 20_000 }, (_, i) => i + 1));
			expect((parts[7]?.changes[5] as RowChange | undefined)?.after).toEqual({ id: 7006, v: "row 7006", n: 7_006_000 });
			expect(reader.stats.pauses).toBeGreaterThan(0);
			// cumulative per transaction
			expect(parts.map((p) => p.bytes)).toEqual([...parts.map((p) => p.bytes)].sort((x, y) => x - y));
			console.log(`capture decoded 20000 rows in ${seconds.toFixed(2)} s: ${Math.round(20_000 / seconds)} rows/s`);
		} finally {
			await reader.close();
		}
	});

	it("resumes from a final part's position with exactly the following transactions, by GTID or by file offset", async () => {
		await conn.query("CREATE TABLE r (id INT PRIMARY KEY, v VARCHAR(20))");
		const reader = await openBinlogReader(sourceCredentials, {
			from: "now",
			serverId: uniqueServerId(),
			include: (t) => t.database === db && t.table === "r",
			includeDdl: (d) => d.database === db,
		});
		let first: TransactionPart[][];
		try {
			for (let i = 1; i <= 5; i++) {
				await conn.query("BEGIN");
				await conn.query("INSERT INTO r VALUES (?, ?)", [i * 10, `t${i}`]);
				await conn.query("INSERT INTO r VALUES (?, ?)", [i * 10 + 1, `t${i}`]);
				await conn.query("COMMIT");
			}
			first = await readTransactions(reader, 5);
		} finally {
			await reader.close();
		}
		const after2 = first[1]?.at(-1)?.position as SourcePosition;
		expect(after2.gtid).not.toBe("");
		const expected = first.slice(2).map((t) => ({ gtid: t[0]?.gtid, changes: changesOf(t) }));

		const resumedReaders = await Promise.all(
			[after2, { ...after2, gtid: "" }].map((from) =>
				openBinlogReader(sourceCredentials, {
					from,
					serverId: uniqueServerId(),
					include: (t) => t.database === db && t.table === "r",
					includeDdl: (d) => d.database === db,
				}),
			),
		);
		try {
			for (const again of resumedReaders) {
				expect(again.startedAt.gtid).toBe(after2.gtid);
				const resumed = await readTransactions(again, 3);
				expect(resumed.map((t) => ({ gtid: t[0]?.gtid, changes: changesOf(t) }))).toEqual(expected);
				expect(resumed.map((t) => t.at(-1)?.position)).toEqual(first.slice(2).map((t) => t.at(-1)?.position));
			}
			// and what follows is the next transaction, nothing repeated
			await conn.query("INSERT INTO r VALUES (99, 'next')");
			for (const again of resumedReaders) {
				const [next] = await readTransactions(again, 1);
				expect(changesOf(next).map(summary)).toEqual(["insert r 99"]);
			}
		} finally {
			await Promise.all(resumedReaders.map((r) => r.close()));
		}
	});
});
