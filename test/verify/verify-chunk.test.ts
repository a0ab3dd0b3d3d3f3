import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type ChunkSpec, planAllChunks, type RangeChunk, type WholeTableChunk } from "../../shared/chunking/plan.ts";
import type { TableMapping } from "../../shared/model/rules.ts";
import { MAX_CHUNK_DIFFERENCES, verifyChunk } from "../../shared/verify/chunk.ts";
import type { RowDiff } from "../../shared/verify/diff.ts";
import { uniqueDatabase } from "../support/databases.ts";
import { identity, openPair, type Pair } from "../support/pair.ts";
import { counts } from "./helpers.ts";

/**
 * `verifyChunk` is what the verify workers run on each chunk of a verification run (the table
 * level `verifyTable` of the other verify tests serves the bench and tests only): one chunk of
 * real tables at the source and destination instances, its verdict and the rows it names.
 */

const CLEAN = { missing: 0, extra: 0, different: 0, differences: [], truncated: false };

/** The differences in a stable order (the verdict lists them in the order it found them). */
const sorted = (diffs: RowDiff[]) =>
	[...diffs].sort((a, b) => `${a.kind}${a.key}${a.rowHash}`.localeCompare(`${b.kind}${b.key}${b.rowHash}`));

describe("verifyChunk: one chunk of a verification run", () => {
	let pair: Pair;
	let mapping: TableMapping;
	/** The plan of `t` (ids 1-100, 25 rows a chunk): [-, 26), [26, 51), [51, 76), [76, -). */
	let chunks: RangeChunk[];
	const chunk = (i: number) => chunks[i] as RangeChunk;

	beforeAll(async () => {
		pair = await openPair(uniqueDatabase("h_vc"));
		for (const c of [pair.source, pair.destination]) {
			await c.query("CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(20), b INT)");
		}
		mapping = await identity(pair.source, pair.table("t"));
	});

	afterAll(async () => {
		await pair?.close();
	});

	beforeEach(async () => {
		const rows = Array.from({ length: 100 }, (_, i) => [i + 1, `row ${i + 1}`, i % 7]);
		for (const c of [pair.source, pair.destination]) {
			await c.query("DELETE FROM t");
			await c.query("INSERT INTO t VALUES ?", [rows]);
		}
		chunks = (await planAllChunks(pair.source, mapping, { chunkRows: 25, strategy: "step" })) as RangeChunk[];
	});

	it("plans the chunks these tests name (premise)", () => {
		expect(chunks.map((c) => [c.kind, c.lower, c.upper])).toEqual([
			["range", null, ["26"]],
			["range", ["26"], ["51"]],
			["range", ["51"], ["76"]],
			["range", ["76"], null],
		]);
	});

	it("finds nothing in a clean chunk and counts its source rows", async () => {
		for (const [i, c] of chunks.entries()) {
			expect(await verifyChunk(pair.source, pair.destination, mapping, c), `chunk ${i}`).toEqual({
				rows: 25,
				...CLEAN,
			});
		}
	});

	it("names each missing, extra and different row of its range, with the columns that differ, and nothing outside it", async () => {
		await pair.destination.query("DELETE FROM t WHERE id = 30"); // missing
		await pair.source.query("DELETE FROM t WHERE id = 40"); // extra (the destination still has it)
		await pair.destination.query("UPDATE t SET a = 'changed' WHERE id = 35"); // one column
		await pair.destination.query("UPDATE t SET a = 'x', b = NULL WHERE id = 45"); // two, one of them NULL
		await pair.destination.query("UPDATE t SET b = b + 1 WHERE id = 60"); // in the next chunk

		const v = await verifyChunk(pair.source, pair.destination, mapping, chunk(1));
		expect(v.rows).toBe(24);
		expect(counts(v)).toEqual({ missing: 1, extra: 1, different: 2 });
		expect(v.truncated).toBe(false);
		expect(sorted(v.differences)).toEqual([
			{ kind: "different", key: ["35"], columns: ["a"] },
			{ kind: "different", key: ["45"], columns: ["a", "b"] },
			{ kind: "extra", key: ["40"] },
			{ kind: "missing", key: ["30"] },
		]);

		const next = await verifyChunk(pair.source, pair.destination, mapping, chunk(2));
		expect(next).toEqual({
			rows: 25,
			missing: 0,
			extra: 0,
			different: 1,
			differences: [{ kind: "different", key: ["60"], columns: ["b"] }],
			truncated: false,
		});
		expect(await verifyChunk(pair.source, pair.destination, mapping, chunk(0))).toEqual({ rows: 25, ...CLEAN });
	});

	it("given an earlier check's differences, checks only those rows again: fixed ones drop out, new ones are not added", async () => {
		await pair.destination.query("DELETE FROM t WHERE id = 30");
		await pair.destination.query("UPDATE t SET a = 'changed' WHERE id = 35");
		const first = await verifyChunk(pair.source, pair.destination, mapping, chunk(1));
		expect(first).toMatchObject({ missing: 1, different: 1 });

		// replay catches up on row 30; meanwhile row 50 changes (in flight, not in the earlier list)
		await pair.destination.query("INSERT INTO t VALUES (30, 'row 30', 1)");
		await pair.destination.query("UPDATE t SET b = 99 WHERE id = 50");
		const again = await verifyChunk(pair.source, pair.destination, mapping, chunk(1), first);
		expect(again).toEqual({
			rows: 25,
			missing: 0,
			extra: 0,
			different: 1,
			differences: [{ kind: "different", key: ["35"], columns: ["a"] }],
			truncated: false,
		});

		// a truncated earlier list is no list: the whole chunk is compared again
		const full = await verifyChunk(pair.source, pair.destination, mapping, chunk(1), { ...first, truncated: true });
		expect(sorted(full.differences)).toEqual([
			{ kind: "different", key: ["35"], columns: ["a"] },
			{ kind: "different", key: ["50"], columns: ["b"] },
		]);

		// checksums equal again: clean, whatever the earlier list said
		await pair.destination.query("UPDATE t SET a = 'row 35' WHERE id = 35");
		await pair.destination.query("UPDATE t SET b = 0 WHERE id = 50"); // its source value, 49 % 7
		expect(await verifyChunk(pair.source, pair.destination, mapping, chunk(1), first)).toEqual({ rows: 25, ...CLEAN });
	});

	it("at the table's edges, the first and last chunks take every key below and above the planned range", async () => {
		await pair.destination.query("INSERT INTO t VALUES (-5, 'below', 1), (0, 'zero', 1)"); // extra, before the first boundary
		await pair.destination.query("INSERT INTO t VALUES (1000, 'above', 1)"); // extra, past the last row planned
		await pair.source.query("INSERT INTO t VALUES (2000, 'new at the source', 1)"); // missing, after planning
		await pair.destination.query("DELETE FROM t WHERE id IN (1, 100)"); // the first and the last row

		const first = await verifyChunk(pair.source, pair.destination, mapping, chunk(0));
		expect(first.rows).toBe(25);
		expect(sorted(first.differences)).toEqual([
			{ kind: "extra", key: ["-5"] },
			{ kind: "extra", key: ["0"] },
			{ kind: "missing", key: ["1"] },
		]);
		const last = await verifyChunk(pair.source, pair.destination, mapping, chunk(3));
		expect(last.rows).toBe(26);
		expect(sorted(last.differences)).toEqual([
			{ kind: "extra", key: ["1000"] },
			{ kind: "missing", key: ["100"] },
			{ kind: "missing", key: ["2000"] },
		]);
		// the boundaries themselves: 26 belongs to the second chunk, 25 to the first
		await pair.destination.query("DELETE FROM t WHERE id IN (25, 26)");
		expect((await verifyChunk(pair.source, pair.destination, mapping, chunk(0))).missing).toBe(2);
		expect((await verifyChunk(pair.source, pair.destination, mapping, chunk(1))).differences).toEqual([
			{ kind: "missing", key: ["26"] },
		]);
	});

	it(`keeps the first ${MAX_CHUNK_DIFFERENCES} differences and says it cut the list; the counts stay complete`, async () => {
		await pair.source.query("CREATE TABLE big (id INT PRIMARY KEY, v INT)");
		await pair.destination.query("CREATE TABLE big (id INT PRIMARY KEY, v INT)");
		try {
			const rows = Array.from({ length: 620 }, (_, i) => [i + 1, i]);
			await pair.source.query("INSERT INTO big VALUES ?", [rows]);
			await pair.destination.query("INSERT INTO big VALUES ?", [rows.slice(0, 10)]);
			const big = await identity(pair.source, pair.table("big"));
			const [whole] = await planAllChunks(pair.source, big, { chunkRows: 10_000 });
			const v = await verifyChunk(pair.source, pair.destination, big, whole as ChunkSpec);
			expect(v.rows).toBe(620);
			expect(v.missing).toBe(610);
			expect(v.differences).toHaveLength(MAX_CHUNK_DIFFERENCES);
			expect(v.truncated).toBe(true);
		} finally {
			for (const c of [pair.source, pair.destination]) await c.query("DROP TABLE big");
		}
	});
});

describe("verifyChunk on a table without a key (one whole-table chunk)", () => {
	let pair: Pair;
	let mapping: TableMapping;
	let whole: WholeTableChunk;

	beforeAll(async () => {
		pair = await openPair(uniqueDatabase("h_vc_nokey"));
		for (const c of [pair.source, pair.destination]) {
			await c.query("CREATE TABLE log (at INT NOT NULL, msg VARCHAR(20))");
		}
		mapping = await identity(pair.source, pair.table("log"));
		const chunks = await planAllChunks(pair.source, mapping, { chunkRows: 2 });
		expect(chunks).toHaveLength(1);
		whole = chunks[0] as WholeTableChunk;
	});

	afterAll(async () => {
		await pair?.close();
	});

	it("is one whole-table chunk (premise), clean when both sides hold the same rows in any order", async () => {
		expect(whole.kind).toBe("whole");
		await pair.source.query("INSERT INTO log VALUES (1, 'a'), (1, 'a'), (2, NULL), (3, '')");
		await pair.destination.query("INSERT INTO log VALUES (3, ''), (2, NULL), (1, 'a'), (1, 'a')");
		expect(await verifyChunk(pair.source, pair.destination, mapping, whole)).toEqual({ rows: 4, ...CLEAN });
	});

	it("counts copies missing and extra by row hash, with no key", async () => {
		await pair.destination.query("DELETE FROM log WHERE at = 1 LIMIT 1"); // one of the two copies
		await pair.destination.query("UPDATE log SET msg = 'B' WHERE at = 2"); // NULL -> 'B': one missing, one extra
		await pair.destination.query("INSERT INTO log VALUES (9, 'z'), (9, 'z')"); // two copies extra
		const v = await verifyChunk(pair.source, pair.destination, mapping, whole);
		expect(v.rows).toBe(4);
		expect(counts(v)).toEqual({ missing: 2, extra: 3, different: 0 });
		expect(v.truncated).toBe(false);
		expect(v.differences.every((d) => d.key === null && typeof d.rowHash === "string")).toBe(true);
		expect(v.differences.map((d) => [d.kind, d.count]).sort()).toEqual([
			["extra", 1],
			["extra", 2],
			["missing", 1],
			["missing", 1],
		]);
		// an earlier list does not narrow a whole-table chunk: it is compared again in full
		const again = await verifyChunk(pair.source, pair.destination, mapping, whole, {
			differences: v.differences.slice(0, 1),
			truncated: false,
		});
		expect(again.missing + again.extra).toBe(5);
	});
});
