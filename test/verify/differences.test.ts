import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeColumns } from "../../shared/db/introspect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import { correctionScript } from "../../shared/verify/correct.ts";
import { recheckDifferences } from "../../shared/verify/diff.ts";
import { verifyTable } from "../../shared/verify/verify-table.ts";
import { ALL_TYPES_ROW_1, ALL_TYPES_ROW_2, ALL_TYPES_ROW_3, ALL_TYPES_TABLE } from "../support/all-types.ts";
import { uniqueDatabase } from "../support/databases.ts";
import { identity, openPair, type Pair } from "../support/pair.ts";
import { counts, verifyCorrect } from "./helpers.ts";

const ZERO = { missing: 0, extra: 0, different: 0 };

describe("verification finds and corrects differences", () => {
	let pair: Pair;
	beforeAll(async () => {
		pair = await openPair(uniqueDatabase("verify_diff"));
		for (const c of [pair.source, pair.destination]) {
			await c.query(`CREATE TABLE all_types ${ALL_TYPES_TABLE}`);
			await c.query("SET SESSION sql_mode = ''");
			await c.query(`INSERT INTO all_types VALUES ${ALL_TYPES_ROW_1}, ${ALL_TYPES_ROW_2}, ${ALL_TYPES_ROW_3}`);
		}
	});
	afterAll(async () => {
		await pair?.close();
	});

	it("finds a missing and an extra row", async () => {
		await pair.destination.query("DELETE FROM all_types WHERE id = 2");
		await pair.destination.query("INSERT INTO all_types (id, vc) VALUES (4, 'surplus')");
		const mapping = await identity(pair.source, pair.table("all_types"));
		const { first, statements, after } = await verifyCorrect(pair, mapping);
		expect(counts(first)).toEqual({ missing: 1, extra: 1, different: 0 });
		expect(first.differences).toEqual(
			expect.arrayContaining([
				{ kind: "missing", key: ["2"] },
				{ kind: "extra", key: ["4"] },
			]),
		);
		expect(statements.some((s) => s.startsWith("REPLACE INTO"))).toBe(true);
		expect(statements.some((s) => s.startsWith("DELETE FROM"))).toBe(true);
		expect(correctionScript(statements)).toContain("SET SESSION time_zone = '+00:00';");
		expect(counts(after)).toEqual(ZERO);
	});

	it("finds one changed column of every type, and a value vs NULL", async () => {
		const mapping = await identity(pair.source, pair.table("all_types"));
		const columns = (await describeColumns(pair.source, mapping.source)).filter((c) => c.name !== "id");
		expect(columns.length).toBe(56);
		const missed: string[] = [];
		for (const c of columns) {
			const q = quoteId(c.name);
			// row 1 takes row 2's value, row 3 (all NULL) takes row 1's original value
			await pair.destination.query("SET SESSION sql_mode = ''");
			await pair.destination.query(
				`UPDATE all_types a JOIN all_types b ON b.id = 1 JOIN all_types x ON x.id = 2
				SET a.${q} = IF(a.id = 1, x.${q}, b.${q}) WHERE a.id IN (1, 3)`,
			);
			const { first, after } = await verifyCorrect(pair, mapping);
			const [same] = await pair.source.query(
				`SELECT (a.${q} <=> b.${q}) AS same FROM all_types a JOIN all_types b ON a.id = 1 AND b.id = 2`,
			);
			// rows 1 and 2 hold the same value in a few columns (e.g. an out-of-range TIMESTAMP stored as zero)
			const expected = (same as { same: number }[])[0]?.same ? ["3"] : ["1", "3"];
			const found = first.differences
				.filter((d) => d.kind === "different" && d.columns?.join() === c.name)
				.map((d) => d.key?.[0])
				.sort();
			if (
				found.join() !== expected.join() ||
				first.different !== expected.length ||
				first.missing + first.extra !== 0
			) {
				missed.push(`${c.name}: ${JSON.stringify(first.differences)}`);
			}
			if (after.missing + after.extra + after.different !== 0) missed.push(`${c.name} not corrected`);
		}
		expect(missed).toEqual([]);
	});

	it("finds NULL vs empty string and 'a' vs 'A' under a _ci collation", async () => {
		for (const c of [pair.source, pair.destination]) {
			await c.query("CREATE TABLE strs (id INT PRIMARY KEY, v VARCHAR(10) COLLATE utf8mb4_general_ci, n VARCHAR(10))");
		}
		await pair.source.query("INSERT INTO strs VALUES (1, 'a', NULL), (2, 'b', ''), (3, 'x', 'NULL')");
		await pair.destination.query("INSERT INTO strs VALUES (1, 'A', NULL), (2, 'b', NULL), (3, 'x', NULL)");
		const { first, after } = await verifyCorrect(pair, await identity(pair.source, pair.table("strs")));
		expect(first.differences).toEqual(
			expect.arrayContaining([
				{ kind: "different", key: ["1"], columns: ["v"] },
				{ kind: "different", key: ["2"], columns: ["n"] },
				{ kind: "different", key: ["3"], columns: ["n"] },
			]),
		);
		expect(counts(first)).toEqual({ missing: 0, extra: 0, different: 3 });
		expect(counts(after)).toEqual(ZERO);
		const [rows] = await pair.destination.query("SELECT BINARY v AS v, n FROM strs ORDER BY id");
		expect(rows).toEqual([
			{ v: Buffer.from("a"), n: null },
			{ v: Buffer.from("b"), n: "" },
			{ v: Buffer.from("x"), n: "NULL" },
		]);
	});

	it("finds a changed row and a duplicate row in a table without a key", async () => {
		for (const c of [pair.source, pair.destination]) {
			await c.query("CREATE TABLE nokey (a INT, b VARCHAR(10), f FLOAT, bl BLOB, ts TIMESTAMP NULL)");
		}
		const rows =
			"(1,'x',1.5,x'00ff','2024-01-01 00:00:00'),(1,'x',1.5,x'00ff','2024-01-01 00:00:00'),(2,NULL,NULL,NULL,NULL),(3,'',0.1,'','2000-01-01 00:00:00')";
		await pair.source.query(`INSERT INTO nokey VALUES ${rows}`);
		await pair.destination.query(`INSERT INTO nokey VALUES ${rows}`);
		// changed row; a third copy of the duplicated row; a duplicate of a NULL row
		await pair.destination.query("UPDATE nokey SET b = 'X' WHERE a = 3");
		await pair.destination.query(
			"INSERT INTO nokey VALUES (1,'x',1.5,x'00ff','2024-01-01 00:00:00'),(2,NULL,NULL,NULL,NULL)",
		);
		const { first, statements, after } = await verifyCorrect(pair, await identity(pair.source, pair.table("nokey")));
		expect(counts(first)).toEqual({ missing: 1, extra: 3, different: 0 });
		expect(statements.some((s) => /^DELETE FROM .* LIMIT 1$/.test(s))).toBe(true);
		expect(counts(after)).toEqual(ZERO);
		const [left] = await pair.destination.query("SELECT COUNT(*) AS n FROM nokey");
		expect(left).toEqual([{ n: "4" }]);
	});

	it("corrects a renamed, filtered table from the source's current data", async () => {
		await pair.source.query("CREATE TABLE src_r (id INT PRIMARY KEY, name VARCHAR(20), keep INT, hidden INT)");
		await pair.destination.query("CREATE TABLE dst_r (ident INT PRIMARY KEY, label VARCHAR(20), keep INT)");
		await pair.source.query("INSERT INTO src_r VALUES (1,'a',1,0),(2,'b',1,0),(3,'c',0,0),(4,'d',1,0)");
		await pair.destination.query("INSERT INTO dst_r VALUES (1,'A',1),(3,'c',0),(4,'d',1)");
		const mapping = {
			source: { database: pair.database, table: "src_r" },
			destination: { database: pair.database, table: "dst_r" },
			columns: [
				{ source: "id", destination: "ident" },
				{ source: "name", destination: "label" },
				{ source: "keep", destination: "keep" },
			],
			where: "keep = 1",
		};
		const { first, after } = await verifyCorrect(pair, mapping);
		expect(counts(first)).toEqual({ missing: 1, extra: 1, different: 1 });
		expect(first.differences).toEqual(
			expect.arrayContaining([
				{ kind: "different", key: ["1"], columns: ["name"] },
				{ kind: "missing", key: ["2"] },
				{ kind: "extra", key: ["3"] },
			]),
		);
		expect(counts(after)).toEqual(ZERO);
	});
});

describe("re-checking suspect rows", () => {
	it("drops differences that no longer persist and keeps those that do", async () => {
		const pair = await openPair(uniqueDatabase("verify_recheck"));
		try {
			for (const c of [pair.source, pair.destination]) await c.query("CREATE TABLE r (id INT PRIMARY KEY, v INT)");
			await pair.source.query("INSERT INTO r VALUES (1, 1), (2, 2), (3, 3)");
			await pair.destination.query("INSERT INTO r VALUES (1, 1), (2, 20)");
			const mapping = await identity(pair.source, pair.table("r"));
			const v = await verifyTable(pair.source, pair.destination, mapping);
			expect(counts(v)).toEqual({ missing: 1, extra: 0, different: 1 });
			// replay catches up on row 3; row 2 stays wrong
			await pair.destination.query("INSERT INTO r VALUES (3, 3)");
			const left = await recheckDifferences(pair.source, pair.destination, v.prepared, v.key, v.differences);
			expect(left).toEqual([{ kind: "different", key: ["2"], columns: ["v"] }]);
		} finally {
			await pair.close();
		}
	});
});
