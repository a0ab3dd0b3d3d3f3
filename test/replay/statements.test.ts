import type { RowDataPacket } from "mysql2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RowImage, TransactionPart } from "../../shared/capture/change.ts";
import { type Connection, connect } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import type { TableMapping, TableName } from "../../shared/model/rules.ts";
import { Applier } from "../../shared/replay/applier.ts";
import type { ApplierOptions, ApplyStats } from "../../shared/replay/applier-options.ts";
import { readCheckpoint } from "../../shared/replay/checkpoint.ts";
import type { Inconsistency } from "../../shared/replay/statements.ts";
import { destinationCredentials, freshDatabase, sourceCredentials, uniqueDatabase } from "../support/databases.ts";
import { del, identity, ins, rows, Stream, upd } from "./helpers.ts";

describe("replaying row changes", () => {
	const db = uniqueDatabase("replay_st");
	const meta = `${db}_meta`;
	let dst: Connection;
	let src: Connection;
	const t = (table: string): TableName => ({ database: db, table });
	const mappings = new Map<string, TableMapping>();
	let streamNo = 0;

	async function apply(
		parts: TransactionPart[],
		options: Partial<ApplierOptions> = {},
	): Promise<{ stats: ApplyStats; issues: Inconsistency[] }> {
		const issues: Inconsistency[] = [];
		const applier = new Applier({
			destination: destinationCredentials,
			stream: options.stream ?? `st-${++streamNo}`,
			metaDatabase: meta,
			source: src,
			mapping: (name) => mappings.get(name.table) ?? null,
			onInconsistency: (x) => issues.push(x),
			...options,
		});
		const stats = await applier.run(parts);
		await applier.close();
		return { stats, issues };
	}
	/** Safe mode for every transaction of these streams (their positions stay below). */
	const SAFE = { safeUntil: { gtid: "0-1-1000000", file: "", pos: 0 } };

	beforeAll(async () => {
		dst = await freshDatabase(destinationCredentials, db);
		src = await freshDatabase(sourceCredentials, db);
		const tables: [string, string, string[]][] = [
			["ints", "(id INT PRIMARY KEY, v VARCHAR(20), n DECIMAL(20,4), f DOUBLE)", ["id", "v", "n", "f"]],
			["composite", "(a INT NOT NULL, b VARCHAR(10) NOT NULL, v INT, PRIMARY KEY (a, b))", ["a", "b", "v"]],
			["strings", "(code VARCHAR(20) PRIMARY KEY, v INT) COLLATE utf8mb4_general_ci", ["code", "v"]],
			["uniq", "(id INT PRIMARY KEY, email VARCHAR(50) NOT NULL, v INT, UNIQUE KEY (email))", ["id", "email", "v"]],
			["nokey", "(a INT, b VARCHAR(10), c BLOB)", ["a", "b", "c"]],
			["gen", "(id INT PRIMARY KEY, x INT, y INT AS (x * 2) STORED)", ["id", "x", "y"]],
			["bigs", "(id BIGINT UNSIGNED PRIMARY KEY, d DATETIME(3), z DATE, bits BIT(8))", ["id", "d", "z", "bits"]],
			[
				"types",
				`(id INT PRIMARY KEY, j JSON, e ENUM('a','b c'), st SET('x','y','z'), tm TIME(2), l VARCHAR(10) CHARACTER SET latin1,
				fl FLOAT, ts TIMESTAMP(6) NULL, bn VARBINARY(10), dc DECIMAL(65,30))`,
				["id", "j", "e", "st", "tm", "l", "fl", "ts", "bn", "dc"],
			],
			["extra", "(id INT PRIMARY KEY, v INT, note VARCHAR(10) DEFAULT 'dflt')", ["id", "v"]],
		];
		for (const [name, ddl, columns] of tables) {
			await dst.query(`CREATE TABLE ${quoteId(name)} ${ddl}`);
			mappings.set(name, identity(t(name), columns));
		}
	});
	afterAll(async () => {
		await dst?.query(`DROP DATABASE IF EXISTS ${quoteId(db)}`);
		await dst?.query(`DROP DATABASE IF EXISTS ${quoteId(meta)}`);
		await src?.query(`DROP DATABASE IF EXISTS ${quoteId(db)}`);
		await dst?.end();
		await src?.end();
	});

	it("applies inserts, updates and deletes on an int key, exactly, with types intact", async () => {
		const s = new Stream();
		const T = t("ints");
		const r1 = { id: 1, v: "one", n: "12.5000", f: 0.1 };
		const r2 = { id: 2, v: "two\\'\n", n: "-99999999999999.9999", f: 1e300 };
		const r3 = { id: 3, v: null, n: null, f: null };
		const { stats, issues } = await apply([
			s.tx(ins(T, r1), ins(T, r2)),
			s.tx(ins(T, r3)),
			s.tx(upd(T, r1, { ...r1, v: "uno", f: Math.PI })),
			s.tx(del(T, r3)),
		]);
		expect(issues).toEqual([]);
		expect(stats.transactions).toBe(4);
		expect(stats.rows).toBe(5);
		expect(await rows(dst, T, "id")).toEqual([
			{ id: 1, v: "uno", n: "12.5000", f: Math.PI },
			{ id: 2, v: "two\\'\n", n: "-99999999999999.9999", f: 1e300 },
		]);
		// BIGINT UNSIGNED past 2^53, fractional DATETIME, zero date, BIT.
		const B = t("bigs");
		const big = {
			id: "18446744073709551615",
			d: "2024-02-29 23:59:59.123",
			z: "0000-00-00",
			bits: Buffer.from([0xa5]),
		};
		await apply([s.tx(ins(B, big)), s.tx(upd(B, big, { ...big, d: "1970-01-01 00:00:00.001" }))]);
		expect(await rows(dst, B)).toEqual([
			{ id: "18446744073709551615", d: "1970-01-01 00:00:00.001", z: "0000-00-00", bits: Buffer.from([0xa5]) },
		]);
	});

	it("round-trips JSON, ENUM, SET, TIME, latin1, FLOAT, TIMESTAMP, binary and wide DECIMAL values", async () => {
		const s = new Stream();
		const Y = t("types");
		const row = {
			id: 1,
			j: '{"a": [1, 2.5, "ü"], "b": null}',
			e: "b c",
			st: "x,z",
			tm: "-838:59:59.00",
			l: "café",
			fl: 0.10000000149011612, // FLOAT 0.1 as its exact double
			ts: "2038-01-19 03:14:07.999999",
			bn: Buffer.from([0, 0x27, 0x5c, 0xff]),
			dc: "-12345678901234567890123456789012345.123456789012345678901234567891",
		};
		const { issues } = await apply([s.tx(ins(Y, row)), s.tx(upd(Y, row, { ...row, tm: "00:00:00.01" }))]);
		expect(issues).toEqual([]);
		const [got] = await rows(dst, Y);
		// The driver parses JSON on the way back; the text itself is checked below.
		expect({ ...got, fl: undefined }).toEqual({ ...row, j: JSON.parse(row.j), tm: "00:00:00.01", fl: undefined });
		const [[f]] = await dst.query<RowDataPacket[]>(
			"SELECT fl * 1e0 AS f, fl = 0.10000000149011612e0 AS same FROM types",
		);
		expect(Number(f?.same)).toBe(1);
	});

	it("keeps destination-only columns (written with IODKU and UPDATE, never REPLACE)", async () => {
		const s = new Stream();
		const X = t("extra");
		await dst.query("INSERT INTO extra VALUES (1, 1, 'mine')");
		const { issues } = await apply([
			s.tx(upd(X, { id: 1, v: 1 }, { id: 1, v: 2 })),
			s.tx(ins(X, { id: 2, v: 3 })),
			s.tx(ins(X, { id: 1, v: 9 })), // a duplicate: reported, and the row updated
		]);
		expect(issues.map((x) => [x.kind, x.key])).toEqual([["duplicate-row", { id: 1 }]]);
		expect(await rows(dst, X, "id")).toEqual([
			{ id: 1, v: 9, note: "mine" },
			{ id: 2, v: 3, note: "dflt" },
		]);
		// Safe mode, twice.
		const parts = [s.tx(upd(X, { id: 2, v: 3 }, { id: 2, v: 4 })), s.tx(del(X, { id: 1, v: 9 }))];
		await apply(parts, SAFE);
		await apply(parts, SAFE);
		expect(await rows(dst, X, "id")).toEqual([{ id: 2, v: 4, note: "dflt" }]);
	});

	it("handles composite and string keys, including a key change", async () => {
		const s = new Stream();
		const C = t("composite");
		const S = t("strings");
		const { issues } = await apply([
			s.tx(ins(C, { a: 1, b: "x", v: 1 }), ins(C, { a: 1, b: "y", v: 2 }), ins(C, { a: 2, b: "x", v: 3 })),
			s.tx(upd(C, { a: 1, b: "y", v: 2 }, { a: 1, b: "z", v: 20 })), // key change
			s.tx(del(C, { a: 2, b: "x", v: 3 })),
			s.tx(ins(S, { code: "Alpha", v: 1 }), ins(S, { code: "beta", v: 2 })),
			// A key change to a spelling the collation calls equal, then a real one.
			s.tx(upd(S, { code: "Alpha", v: 1 }, { code: "ALPHA", v: 10 })),
			s.tx(upd(S, { code: "beta", v: 2 }, { code: "gamma", v: 3 })),
		]);
		expect(await rows(dst, C, "a, b")).toEqual([
			{ a: 1, b: "x", v: 1 },
			{ a: 1, b: "z", v: 20 },
		]);
		expect(await rows(dst, S, "code")).toEqual([
			{ code: "ALPHA", v: 10 },
			{ code: "gamma", v: 3 },
		]);
		expect(issues).toEqual([]);
	});

	it("keeps a unique secondary key right when values move between rows in one group", async () => {
		const s = new Stream();
		const U = t("uniq");
		const a = { id: 1, email: "a@x", v: 1 };
		const b = { id: 2, email: "b@x", v: 2 };
		await apply([s.tx(ins(U, a), ins(U, b))]);
		// Swap the emails through a temporary value, then a delete and a re-insert of one email.
		const a1 = { ...a, email: "tmp" };
		const b1 = { ...b, email: "a@x" };
		const a2 = { ...a1, email: "b@x" };
		const c = { id: 3, email: "a@x", v: 3 };
		const { issues } = await apply([
			s.tx(upd(U, a, a1), upd(U, b, b1), upd(U, a1, a2)),
			s.tx(del(U, b1)),
			s.tx(ins(U, c)),
		]);
		expect(issues).toEqual([]);
		expect(await rows(dst, U, "id")).toEqual([
			{ id: 1, email: "b@x", v: 1 },
			{ id: 3, email: "a@x", v: 3 },
		]);
	});

	it("matches rows of a table without key on their whole image, one at a time", async () => {
		const s = new Stream();
		const N = t("nokey");
		const r = { a: 1, b: "dup", c: Buffer.from("blob") };
		const n = { a: null, b: null, c: null };
		const { issues } = await apply([
			s.tx(ins(N, r), ins(N, r), ins(N, n)),
			s.tx(upd(N, r, { ...r, a: 2 })), // one of the two identical rows
			s.tx(upd(N, n, { ...n, b: "was null" })),
			s.tx(del(N, r)),
		]);
		expect(issues).toEqual([]);
		expect(await rows(dst, N, "a, b")).toEqual([
			{ a: null, b: "was null", c: null },
			{ a: 2, b: "dup", c: Buffer.from("blob") },
		]);
	});

	it("never writes generated columns", async () => {
		const s = new Stream();
		const G = t("gen");
		await apply([s.tx(ins(G, { id: 1, x: 5, y: 10 })), s.tx(upd(G, { id: 1, x: 5, y: 10 }, { id: 1, x: 7, y: 14 }))]);
		expect(await rows(dst, G)).toEqual([{ id: 1, x: 7, y: 14 }]);
	});

	it("counts and reports inconsistencies in exact mode without stopping, and converges", async () => {
		const s = new Stream();
		const I = t("ints");
		await dst.query("DELETE FROM ints");
		await dst.query("INSERT INTO ints VALUES (50, 'already here', NULL, NULL)");
		const { stats, issues } = await apply([
			s.tx(ins(I, { id: 50, v: "inserted", n: null, f: null })), // duplicate
			s.tx(upd(I, { id: 51, v: "x", n: null, f: null }, { id: 51, v: "y", n: null, f: null })), // missing
			s.tx(del(I, { id: 52, v: "x", n: null, f: null })), // missing
			s.tx(ins(I, { id: 53, v: "fine", n: null, f: null })),
		]);
		expect(stats.transactions).toBe(4);
		expect(stats.inconsistencies).toBe(3);
		expect(issues.map((x) => [x.table.table, x.kind, x.key])).toEqual([
			["ints", "duplicate-row", { id: 50 }],
			["ints", "missing-row", { id: 51 }],
			["ints", "missing-row", { id: 52 }],
		]);
		expect(issues[0]?.detail).toContain(`${db}.ints`);
		// The writes still happened: the destination holds the source's rows.
		expect(await rows(dst, I, "id")).toEqual([
			{ id: 50, v: "inserted", n: null, f: null },
			{ id: 51, v: "y", n: null, f: null },
			{ id: 53, v: "fine", n: null, f: null },
		]);
		// A table without key: an update or delete that finds nothing.
		const N = t("nokey");
		const r = await apply([s.tx(del(N, { a: 99, b: "none", c: null }))]);
		expect(r.issues.map((x) => [x.kind, x.key])).toEqual([["missing-row", { a: 99, b: "none", c: null }]]);
	});

	it("safe mode: applying a stream twice equals applying it once", async () => {
		const tables = ["ints", "composite", "uniq", "nokey"];
		for (const name of tables) await dst.query(`DELETE FROM ${quoteId(name)}`);
		const s = new Stream();
		const I = t("ints");
		const C = t("composite");
		const U = t("uniq");
		const N = t("nokey");
		const parts = [
			s.tx(
				ins(I, { id: 1, v: "a", n: "1.0000", f: 1 }),
				ins(C, { a: 1, b: "k", v: 1 }),
				ins(N, { a: 1, b: "n", c: null }),
			),
			s.tx(upd(I, { id: 1, v: "a", n: "1.0000", f: 1 }, { id: 2, v: "b", n: "2.0000", f: 2 })),
			s.tx(ins(U, { id: 1, email: "e1", v: 1 }), ins(U, { id: 2, email: "e2", v: 2 })),
			s.tx(upd(U, { id: 1, email: "e1", v: 1 }, { id: 1, email: "e3", v: 1 })),
			s.tx(upd(U, { id: 2, email: "e2", v: 2 }, { id: 2, email: "e1", v: 2 })),
			s.tx(upd(N, { a: 1, b: "n", c: null }, { a: 1, b: "m", c: Buffer.from([0]) })),
			s.tx(del(C, { a: 1, b: "k", v: 1 }), ins(C, { a: 1, b: "k", v: 5 })),
			s.tx(ins(N, { a: 2, b: "n", c: null })),
		];
		await apply(parts, SAFE);
		const once = await Promise.all(tables.map((n) => rows(dst, t(n), "1, 2")));
		// Twice, and with every transaction in its own group (groupTransactions: 1).
		await apply(parts, SAFE);
		await apply(parts, { ...SAFE, groupTransactions: 1 });
		const thrice = await Promise.all(tables.map((n) => rows(dst, t(n), "1, 2")));
		expect(thrice).toEqual(once);
		expect(once[0]).toEqual([{ id: 2, v: "b", n: "2.0000", f: 2 }]);
		expect(once[2]).toEqual([
			{ id: 1, email: "e3", v: 1 },
			{ id: 2, email: "e1", v: 2 },
		]);
		expect(once[3]).toEqual([
			{ a: 1, b: "m", c: Buffer.from([0]) },
			{ a: 2, b: "n", c: null },
		]);
	});

	it("safe mode over rows the copy already holds converges to the source's final state", async () => {
		await dst.query("DELETE FROM uniq");
		// The source: u1 (e1), u2 (e2); then during the copy: u1 -> e9, u2 -> e1, u3 inserted (e2), u4 in and out.
		// The copy read u1 and u2 *after* those changes, and u3 too: the destination is ahead.
		await dst.query("INSERT INTO uniq VALUES (1, 'e9', 1), (2, 'e1', 2), (3, 'e2', 3)");
		const s = new Stream();
		const U = t("uniq");
		const { issues, stats } = await apply(
			[
				s.tx(upd(U, { id: 1, email: "e1", v: 1 }, { id: 1, email: "e9", v: 1 })),
				s.tx(upd(U, { id: 2, email: "e2", v: 2 }, { id: 2, email: "e1", v: 2 })),
				s.tx(ins(U, { id: 3, email: "e2", v: 3 })),
				s.tx(ins(U, { id: 4, email: "e4", v: 4 })),
				s.tx(del(U, { id: 4, email: "e4", v: 4 })),
				s.tx(upd(U, { id: 3, email: "e2", v: 3 }, { id: 3, email: "e2", v: 30 })),
			],
			{ ...SAFE, groupTransactions: 1 },
		);
		expect(issues).toEqual([]);
		expect(stats.mode).toBe("safe");
		expect(await rows(dst, U, "id")).toEqual([
			{ id: 1, email: "e9", v: 1 },
			{ id: 2, email: "e1", v: 2 },
			{ id: 3, email: "e2", v: 30 },
		]);
	});

	it("switches from safe to exact mode once the position passes safeUntil", async () => {
		await dst.query("DELETE FROM ints");
		await dst.query("INSERT INTO ints VALUES (7, 'copied', NULL, NULL)");
		const s = new Stream();
		const I = t("ints");
		const row = { id: 7, v: "copied", n: null, f: null };
		const modes: string[] = [];
		const { issues } = await apply(
			[
				s.tx(ins(I, row)), // seq 1: overlaps the copy, safe
				s.tx(upd(I, row, { ...row, v: "two" })), // seq 2: the copy's end position, still safe
				s.tx(ins(I, row)), // seq 3: exact: a duplicate is an inconsistency
			],
			{
				safeUntil: s.position(2),
				groupTransactions: 1,
				onCommit: (x) => modes.push(x.mode),
			},
		);
		// seq 2 is applied in safe mode; once it is, the stream has reached safeUntil and is exact
		expect(modes).toEqual(["safe", "exact", "exact"]);
		expect(issues.map((x) => x.kind)).toEqual(["duplicate-row"]);
	});

	it("applies renames, column selection and row filters like the copy", async () => {
		// The source table exists on the source server: filters are evaluated there, with its types.
		await src.query(
			`CREATE TABLE orders (id INT PRIMARY KEY, region VARCHAR(10) COLLATE utf8mb4_bin, amount DECIMAL(10,2),
				note TEXT, created DATETIME)`,
		);
		await dst.query(
			"CREATE TABLE sales (order_id INT PRIMARY KEY, amt DECIMAL(10,2), zone VARCHAR(10), created DATETIME)",
		);
		const mapping: TableMapping = {
			source: t("orders"),
			destination: t("sales"),
			columns: [
				{ source: "id", destination: "order_id" },
				{ source: "region", destination: "zone" },
				{ source: "amount", destination: "amt" },
				{ source: "created", destination: "created" },
			],
			// Compared under the column's binary collation ('EU' does not pass), DECIMAL exactly,
			// DATETIME as a datetime; `note` is not copied but may be filtered on.
			where:
				"region = 'eu' AND amount >= 100.005 AND created >= '2024-01-01' AND (note IS NULL OR note <> 'skip') -- trailing comment",
		};
		mappings.set("orders", mapping);
		const s = new Stream();
		const O = t("orders");
		const row = (id: number, region: string, amount: string, note: string | null = null): RowImage => ({
			id,
			region,
			amount,
			note,
			created: "2024-06-01 10:00:00",
		});
		const { issues } = await apply(
			[
				s.tx(
					ins(O, row(1, "eu", "150.00")), // in
					ins(O, row(2, "EU", "150.00")), // out: case
					ins(O, row(3, "eu", "100.00")), // out: amount
					ins(O, row(4, "eu", "100.01", "skip")), // out: note
					ins(O, row(5, "eu", "500.00")), // in
				),
				s.tx(upd(O, row(1, "eu", "150.00"), row(1, "eu", "99.00"))), // moves out: deleted
				s.tx(upd(O, row(3, "eu", "100.00"), row(3, "eu", "200.00"))), // moves in: inserted
				s.tx(upd(O, row(5, "eu", "500.00"), row(5, "eu", "600.00"))), // stays in: updated
				s.tx(upd(O, row(2, "EU", "150.00"), row(2, "EU", "160.00"))), // stays out: nothing
				s.tx(del(O, row(4, "eu", "100.01", "skip"))), // out: nothing
			],
			{
				// the rule's column selection leaves `note` out (resolver.ts: without it, its values would count as lost)
				columnRule: (_table, column) => ({ target: column, selected: column !== "note" }),
			},
		);
		expect(issues).toEqual([]);
		expect(await rows(dst, t("sales"), "order_id")).toEqual([
			{ order_id: 3, amt: "200.00", zone: "eu", created: "2024-06-01 10:00:00" },
			{ order_id: 5, amt: "600.00", zone: "eu", created: "2024-06-01 10:00:00" },
		]);
	});

	it("writes the checkpoint in the same transaction, with the source commit time", async () => {
		const s = new Stream();
		const I = t("ints");
		await dst.query("DELETE FROM ints");
		const parts = [s.tx(ins(I, { id: 1, v: null, n: null, f: null }))];
		await apply(parts, { stream: "cp-test" });
		const cp = await readCheckpoint(dst, "cp-test", meta);
		expect(cp?.position).toEqual(s.position(1));
		expect(cp?.sourceCommitTime).toBe("2026-01-01 00:00:00.001000");
		expect(cp?.appliedAt).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/);
		// Delivered again (a restart from an older position): skipped by its GTID.
		const again = await apply(parts, { stream: "cp-test" });
		expect(again.stats.skipped).toBe(1);
		expect(again.stats.transactions).toBe(0);
		const other = await connect(destinationCredentials);
		expect(await readCheckpoint(other, "nothing-here", meta)).toBeNull();
		expect(await readCheckpoint(other, "x", `${meta}_absent`)).toBeNull();
		await other.end();
	});
});
