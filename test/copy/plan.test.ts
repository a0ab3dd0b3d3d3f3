import type { RowDataPacket } from "mysql2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findCopyKey } from "../../shared/chunking/keys.ts";
import { type ChunkSpec, describePlan, planAllChunks, type RangeChunk } from "../../shared/chunking/plan.ts";
import { rangeCondition, whereClause } from "../../shared/chunking/range.ts";
import { quoteTable } from "../../shared/db/sql.ts";
import type { TableMapping, TableName } from "../../shared/model/rules.ts";
import { uniqueDatabase } from "../support/databases.ts";
import { identity, openPair, type Pair } from "../support/pair.ts";
import { copyAll, count, dump } from "./helpers.ts";

/** Rows of each chunk, counted by the server over the chunk's own range (and row filter). */
async function countChunks(pair: Pair, mapping: TableMapping, chunks: ChunkSpec[]): Promise<number[]> {
	const counts: number[] = [];
	for (const chunk of chunks) {
		const range =
			chunk.kind === "range"
				? rangeCondition(
						chunk.key.columns.map((c) => ({
							name: c.source,
							kind: c.kind,
							...(c.cast ? { cast: c.cast } : {}),
						})),
						chunk.lower,
						chunk.upper,
					)
				: null;
		const where = whereClause(mapping.where, range);
		const [[row]] = await pair.source.query<RowDataPacket[]>(
			`SELECT COUNT(*) AS n FROM ${quoteTable(mapping.source)}${where.sql}`,
			where.values,
		);
		counts.push(Number(row?.n));
	}
	return counts;
}

/** Chunks are numbered 0.., open at both ends of the plan, and each starts where the last ended. */
function expectContiguous(chunks: ChunkSpec[]): void {
	expect(chunks.map((c) => c.index)).toEqual(chunks.map((_, i) => i));
	const ranges = chunks as RangeChunk[];
	expect(ranges[0]?.lower).toBeNull();
	expect(ranges.at(-1)?.upper).toBeNull();
	for (let i = 1; i < ranges.length; i++) expect(ranges[i]?.lower).toEqual(ranges[i - 1]?.upper);
	// A plan survives JSON (it is stored and sent through queues).
	expect(JSON.parse(JSON.stringify(chunks))).toEqual(chunks);
}

describe("chunk planning", () => {
	let pair: Pair;
	const t = (table: string): TableName => ({ database: pair.database, table });

	beforeAll(async () => {
		pair = await openPair(uniqueDatabase("copy"));
		const s = pair.source;
		await s.query(`USE \`${pair.database}\``);
		await s.query("CREATE TABLE dense (id BIGINT UNSIGNED PRIMARY KEY, v INT)");
		await s.query("INSERT INTO dense SELECT seq, seq FROM seq_1_to_5000");
		await s.query("CREATE TABLE sparse (id BIGINT PRIMARY KEY, v INT)");
		// Negative, huge and clustered keys: stepping MIN..MAX would give millions of empty chunks.
		await s.query(
			"INSERT INTO sparse SELECT CAST(seq * seq * 1000003 AS SIGNED) - 9223372036854775807, seq FROM seq_1_to_3000 UNION ALL SELECT 9223372036854775807, 0",
		);
		await s.query("CREATE TABLE composite (a INT NOT NULL, b VARCHAR(20) NOT NULL, v INT, PRIMARY KEY (a, b))");
		await s.query("INSERT INTO composite SELECT seq DIV 37, CONCAT('k', seq MOD 37), seq FROM seq_1_to_4000");
		await s.query(
			"CREATE TABLE words (w VARCHAR(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci PRIMARY KEY, v INT)",
		);
		// Mixed case, accents (equal to their base letter in general_ci), CJK, Cyrillic, spaces:
		// binary order differs from the collation's, so only server-side comparisons cut right.
		const alphabet = ["a", "A", "b", "B", "z", "Z", "ä", "Ä", "é", "ß", "日", "本", "ж", "Ж", " ", "-", "_", "1", "ø"];
		let seed = 7;
		const rand = () => {
			seed = (seed * 1103515245 + 12345) & 0x7fffffff;
			return seed;
		};
		const words = Array.from({ length: 4000 }, () =>
			Array.from({ length: 1 + (rand() % 6) }, () => alphabet[rand() % alphabet.length]).join(""),
		);
		await s.query("INSERT IGNORE INTO words (w, v) VALUES ?", [words.map((w, i) => [w.trim() || "x", i])]);
		await s.query("CREATE TABLE nokey (a INT, b INT, UNIQUE KEY (a))");
		await s.query("INSERT INTO nokey SELECT seq, seq FROM seq_1_to_600");
		await s.query("INSERT INTO nokey VALUES (NULL, 1), (NULL, 1)");
		await s.query("CREATE TABLE uniq (a INT NULL, b INT NOT NULL, c INT, UNIQUE KEY ua (a), UNIQUE KEY ub (b))");
		await s.query("INSERT INTO uniq SELECT seq, seq * 2, seq FROM seq_1_to_1000");
		await s.query("CREATE TABLE empty (id INT PRIMARY KEY)");
		await s.query("CREATE TABLE dec_key (d DECIMAL(30,10) PRIMARY KEY)");
		// Neighbours that a comparison as doubles would not tell apart.
		await s.query(
			"INSERT INTO dec_key SELECT CAST('12345678901234567890' AS DECIMAL(30,10)) + seq * 0.0000000001 FROM seq_1_to_2000",
		);
		await s.query("ANALYZE TABLE dense, sparse, composite, words, uniq");
	});
	afterAll(async () => {
		await pair?.close();
	});

	it("steps a dense integer key arithmetically", async () => {
		const mapping = await identity(pair.source, t("dense"));
		const chunks = await planAllChunks(pair.source, mapping, {
			chunkRows: 1000,
		});
		expectContiguous(chunks);
		expect(chunks.map((c) => (c as RangeChunk).upper)).toEqual([["1001"], ["2001"], ["3001"], ["4001"], null]);
		expect(await countChunks(pair, mapping, chunks)).toEqual([1000, 1000, 1000, 1000, 1000]);
		expect(await describePlan(pair.source, mapping, { chunkRows: 1000 })).toMatchObject({
			strategy: "step",
			min: "1",
			max: "5000",
			chunks: 5,
		});
		// Re-planning yields the same chunks (stable ids).
		expect(await planAllChunks(pair.source, mapping, { chunkRows: 1000 })).toEqual(chunks);
	});

	it("walks a sparse integer key", async () => {
		const mapping = await identity(pair.source, t("sparse"));
		const chunks = await planAllChunks(pair.source, mapping, {
			chunkRows: 700,
		});
		expectContiguous(chunks);
		const counts = await countChunks(pair, mapping, chunks);
		expect(counts).toEqual([700, 700, 700, 700, 201]);
		// Forced stepping still covers every row, however empty its chunks.
		const stepped = await planAllChunks(pair.source, mapping, {
			chunkRows: 2 ** 58,
			strategy: "step",
		});
		expectContiguous(stepped);
		expect((await countChunks(pair, mapping, stepped)).reduce((a, b) => a + b, 0)).toBe(3001);
	});

	it("walks a composite key", async () => {
		const mapping = await identity(pair.source, t("composite"));
		const chunks = await planAllChunks(pair.source, mapping, {
			chunkRows: 450,
		});
		expectContiguous(chunks);
		expect((chunks[1] as RangeChunk).lower).toHaveLength(2);
		const counts = await countChunks(pair, mapping, chunks);
		expect(counts.slice(0, -1).every((n) => n === 450)).toBe(true);
		expect(counts.reduce((a, b) => a + b, 0)).toBe(4000);
	});

	it("walks a case-insensitive unicode string key in the column's collation", async () => {
		const mapping = await identity(pair.source, t("words"));
		const total = await count(pair.source, t("words"));
		const chunks = await planAllChunks(pair.source, mapping, { chunkRows: 97 });
		expectContiguous(chunks);
		const counts = await countChunks(pair, mapping, chunks);
		expect(counts.slice(0, -1).every((n) => n === 97)).toBe(true);
		expect(counts.reduce((a, b) => a + b, 0)).toBe(total);
		// And the copy of all chunks is the table.
		await pair.destination.query(
			`CREATE TABLE ${quoteTable(t("words"))} (w VARCHAR(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci PRIMARY KEY, v INT)`,
		);
		await copyAll(pair, mapping, { chunkRows: 97 }, { batchBytes: 500 });
		expect(await dump(pair.destination, t("words"), "v")).toEqual(await dump(pair.source, t("words"), "v"));
	});

	it("bounds decimal keys exactly", async () => {
		const mapping = await identity(pair.source, t("dec_key"));
		const chunks = await planAllChunks(pair.source, mapping, {
			chunkRows: 300,
		});
		expectContiguous(chunks);
		expect(await countChunks(pair, mapping, chunks)).toEqual([300, 300, 300, 300, 300, 300, 200]);
	});

	it("applies the row filter when walking", async () => {
		const mapping = {
			...(await identity(pair.source, t("composite"))),
			where: "v % 3 = 0 -- every third row",
		};
		const chunks = await planAllChunks(pair.source, mapping, {
			chunkRows: 300,
		});
		expectContiguous(chunks);
		const counts = await countChunks(pair, mapping, chunks);
		expect(counts).toEqual([300, 300, 300, 300, 133]);
	});

	it("uses the first NOT NULL unique key when there is no primary key", async () => {
		const { key, unusable } = await findCopyKey(pair.source, t("uniq"));
		expect(key).toEqual({
			index: "ub",
			primary: false,
			columns: [{ name: "b", kind: "integer" }],
		});
		// The server lists unique NOT NULL keys first (as InnoDB picks its clustered index), so the
		// nullable `ua` is not even looked at.
		expect(unusable).toEqual([]);
		const mapping = await identity(pair.source, t("uniq"));
		const chunks = await planAllChunks(pair.source, mapping, {
			chunkRows: 300,
		});
		expectContiguous(chunks);
		expect((await countChunks(pair, mapping, chunks)).reduce((a, b) => a + b, 0)).toBe(1000);
		// A key whose column is not copied cannot find the chunk's rows at the destination.
		const partial = {
			...mapping,
			columns: mapping.columns.filter((c) => c.source !== "b"),
		};
		const whole = await planAllChunks(pair.source, partial, { chunkRows: 300 });
		expect(whole).toEqual([
			expect.objectContaining({
				kind: "whole",
				index: 0,
				reason: expect.stringContaining("column b is not copied"),
			}),
		]);
	});

	it("plans a table without a usable key as one whole-table chunk", async () => {
		const mapping = await identity(pair.source, t("nokey"));
		const chunks = await planAllChunks(pair.source, mapping, {
			chunkRows: 100,
		});
		expect(chunks).toEqual([
			{
				index: 0,
				kind: "whole",
				source: t("nokey"),
				destination: t("nokey"),
				reason: "no usable key: a: column a is nullable",
			},
		]);
		expect(await countChunks(pair, mapping, chunks)).toEqual([602]);
	});

	it("plans an empty table as one open range", async () => {
		const mapping = await identity(pair.source, t("empty"));
		const chunks = await planAllChunks(pair.source, mapping, {
			chunkRows: 100,
		});
		expect(chunks).toMatchObject([{ index: 0, kind: "range", lower: null, upper: null }]);
	});

	it("yields chunks one at a time", async () => {
		const mapping = await identity(pair.source, t("sparse"));
		const iterator = (await import("../../shared/chunking/plan.ts")).planChunks(pair.source, mapping, {
			chunkRows: 10,
		});
		const first = await iterator.next();
		expect(first.value).toMatchObject({ index: 0, lower: null });
		await iterator.return(undefined);
	});
});
