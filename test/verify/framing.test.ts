import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planAllChunks } from "../../shared/chunking/plan.ts";
import { chunkChecksum } from "../../shared/verify/checksum.ts";
import { prepareTable } from "../../shared/verify/normalise.ts";
import { verifyTable } from "../../shared/verify/verify-table.ts";
import { uniqueDatabase } from "../support/databases.ts";
import { identity, openPair, type Pair } from "../support/pair.ts";
import { counts, verifyCorrect } from "./helpers.ts";

const ZERO = { missing: 0, extra: 0, different: 0 };

/** Changes that a weaker row encoding or aggregate would miss: each must be found. */
describe("row framing and hash sums", () => {
	let pair: Pair;
	beforeAll(async () => {
		pair = await openPair(uniqueDatabase("verify_frame"));
	});
	afterAll(async () => {
		await pair?.close();
	});

	it("finds values moved across a column boundary, in every framing", async () => {
		for (const c of [pair.source, pair.destination]) {
			await c.query(`CREATE TABLE shift (id INT PRIMARY KEY,
				a VARCHAR(10) NOT NULL, b VARCHAR(10) NOT NULL,
				n1 VARCHAR(10), n2 VARCHAR(10),
				l1 VARCHAR(10) CHARACTER SET latin1, l2 VARCHAR(10) CHARACTER SET latin1,
				b1 VARBINARY(10), b2 VARBINARY(10),
				i1 INT, i2 INT)`);
		}
		// latin1 'ÿ' and binary x'ff' are the separator byte; '' and NULL must stay apart
		await pair.source.query(`INSERT INTO shift VALUES
			(1, 'ab', 'c', NULL, 'x', 'aÿ', 'b', x'61ff', x'62', 12, 3),
			(2, 'ab', 'c', '', NULL, 'aÿ', 'b', x'61ff', x'62', 12, 3),
			(3, 'ab', 'c', 'x', 'y', 'aÿ', 'b', x'61ff', x'62', 12, 3),
			(4, 'ab', 'c', 'x', 'y', 'aÿ', 'b', x'61ff', x'62', 12, 3),
			(5, 'ab', 'c', 'x', 'y', 'aÿ', 'b', x'61ff', x'62', 12, 3),
			(6, 'ab', 'c', 'x', 'y', 'aÿ', 'b', x'61ff', x'62', 12, NULL)`);
		await pair.destination.query(`INSERT INTO shift VALUES
			(1, 'a', 'bc', 'x', NULL, 'aÿ', 'b', x'61ff', x'62', 12, 3),
			(2, 'ab', 'c', NULL, '', 'aÿ', 'b', x'61ff', x'62', 12, 3),
			(3, 'ab', 'c', 'x', 'y', 'a', 'ÿb', x'61ff', x'62', 12, 3),
			(4, 'ab', 'c', 'x', 'y', 'aÿ', 'b', x'61', x'ff62', 12, 3),
			(5, 'ab', 'c', 'x', 'y', 'aÿ', 'b', x'61ff', x'62', 1, 23),
			(6, 'ab', 'c', 'x', 'y', 'aÿ', 'b', x'61ff', x'62', NULL, 12)`);
		const { first, after } = await verifyCorrect(pair, await identity(pair.source, pair.table("shift")), {
			chunkRows: 10,
		});
		expect(first.differences).toEqual(
			expect.arrayContaining([
				{ kind: "different", key: ["1"], columns: ["a", "b", "n1", "n2"] },
				{ kind: "different", key: ["2"], columns: ["n1", "n2"] },
				{ kind: "different", key: ["3"], columns: ["l1", "l2"] },
				{ kind: "different", key: ["4"], columns: ["b1", "b2"] },
				{ kind: "different", key: ["5"], columns: ["i1", "i2"] },
				{ kind: "different", key: ["6"], columns: ["i1", "i2"] },
			]),
		);
		expect(counts(first)).toEqual({ missing: 0, extra: 0, different: 6 });
		expect(counts(after)).toEqual(ZERO);
	});

	it("finds the same edit made to two rows and values swapped between rows (no XOR cancelling)", async () => {
		for (const c of [pair.source, pair.destination]) {
			await c.query("CREATE TABLE twins (id INT PRIMARY KEY, k INT NOT NULL, pad CHAR(20) NOT NULL)");
			await c.query(
				"INSERT INTO twins VALUES (1, 5, 'aaaa-one'), (2, 5, 'aaaa-two'), (3, 5, 'cccc-three'), (4, 5, 'dddd-four')",
			);
		}
		await pair.destination.query("UPDATE twins SET pad = CONCAT('b', SUBSTRING(pad, 2)) WHERE id IN (1, 2)");
		await pair.destination.query("UPDATE twins SET pad = IF(id = 3, 'dddd-four', 'cccc-three') WHERE id IN (3, 4)");
		// within one chunk: the chunk checksum itself must differ
		const v = await verifyTable(pair.source, pair.destination, await identity(pair.source, pair.table("twins")), {
			chunkRows: 100,
		});
		expect(v.chunks).toEqual({ total: 1, differing: 1 });
		expect(counts(v)).toEqual({ missing: 0, extra: 0, different: 4 });
	});

	it("compares two sides described alone (every value fully normalised)", async () => {
		await pair.source.query(
			"CREATE TABLE alone (id INT PRIMARY KEY, d DECIMAL(6,2), t DATETIME(3), l VARCHAR(10) CHARACTER SET latin1, b BLOB, j JSON)",
		);
		await pair.destination.query(
			"CREATE TABLE alone (id INT PRIMARY KEY, d DECIMAL(8,4), t DATETIME(6), l VARCHAR(10), b LONGBLOB, j JSON)",
		);
		for (const c of [pair.source, pair.destination]) {
			await c.query(
				`INSERT INTO alone VALUES (1, 1.5, '2024-01-02 03:04:05.5', 'aÿ', x'00ff', '{"a": 1, "b": 2}'), (2, NULL, NULL, NULL, NULL, NULL)`,
			);
		}
		const mapping = await identity(pair.source, pair.table("alone"));
		const [chunk] = await planAllChunks(pair.source, mapping, { chunkRows: 10 });
		if (!chunk) throw new Error("no chunk");
		const s = await chunkChecksum(pair.source, "source", mapping, chunk);
		const d = await chunkChecksum(pair.destination, "destination", mapping, chunk);
		expect(s).toEqual(d);
		await pair.destination.query("UPDATE alone SET l = 'aý' WHERE id = 1");
		expect(await chunkChecksum(pair.destination, "destination", mapping, chunk)).not.toEqual(s);
	});

	it("sums MD5 bits exactly when the servers lack CRC32C", async () => {
		for (const c of [pair.source, pair.destination]) {
			await c.query("CREATE TABLE md5 (id INT PRIMARY KEY, v VARCHAR(20))");
			await c.query(
				`INSERT INTO md5 VALUES ${Array.from({ length: 200 }, (_, i) => `(${i + 1}, 'value ${i}')`).join(", ")}`,
			);
		}
		const mapping = await identity(pair.source, pair.table("md5"));
		const prepared = { ...(await prepareTable(pair.source, pair.destination, mapping)), hash: "md5" as const };
		const [chunk] = await planAllChunks(pair.source, mapping, { chunkRows: 1000 });
		if (!chunk) throw new Error("no chunk");
		const sum = () =>
			Promise.all([
				chunkChecksum(pair.source, "source", mapping, chunk, prepared),
				chunkChecksum(pair.destination, "destination", mapping, chunk, prepared),
			]);
		const [s, d] = await sum();
		expect(s).toEqual(d);
		// exact integers (a double would print as 1.23e21 and drop the low bits)
		expect(s.hash).toMatch(/^\d+:\d+$/);
		await pair.destination.query("UPDATE md5 SET v = 'value 0.' WHERE id = 1");
		const [s2, d2] = await sum();
		expect(s2.hash).not.toEqual(d2.hash);
	});
});
