import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planAllChunks } from "../../shared/chunking/plan.ts";
import { chunkChecksum } from "../../shared/verify/checksum.ts";
import { prepareTable } from "../../shared/verify/normalise.ts";
import { verifyTable } from "../../shared/verify/verify-table.ts";
import { ALL_TYPES_ROW_1, ALL_TYPES_ROW_2, ALL_TYPES_ROW_3, ALL_TYPES_TABLE } from "../support/all-types.ts";
import { uniqueDatabase } from "../support/databases.ts";
import { identity, openPair, type Pair } from "../support/pair.ts";
import { counts } from "./helpers.ts";

const ZERO = { missing: 0, extra: 0, different: 0 };

describe("verification of equal data", () => {
	let pair: Pair;
	beforeAll(async () => {
		pair = await openPair(uniqueDatabase("verify_eq"));
	});
	afterAll(async () => {
		await pair?.close();
	});

	it("reports zero differences on every column type", async () => {
		for (const c of [pair.source, pair.destination]) {
			await c.query(`CREATE TABLE all_types ${ALL_TYPES_TABLE}`);
			await c.query("SET SESSION sql_mode = ''");
			await c.query(`INSERT INTO all_types VALUES ${ALL_TYPES_ROW_1}, ${ALL_TYPES_ROW_2}, ${ALL_TYPES_ROW_3}`);
		}
		const mapping = await identity(pair.source, pair.table("all_types"));
		const v = await verifyTable(pair.source, pair.destination, mapping, { chunkRows: 2 });
		expect(counts(v)).toEqual(ZERO);
		expect(v.rowsChecked).toBe(3);
		expect(v.chunks.total).toBeGreaterThan(1);
		// the chunk checksum itself, side by side
		const prepared = await prepareTable(pair.source, pair.destination, mapping);
		const [chunk] = await planAllChunks(pair.source, mapping, { chunkRows: 10 });
		if (!chunk) throw new Error("no chunk");
		const s = await chunkChecksum(pair.source, "source", mapping, chunk, prepared);
		const d = await chunkChecksum(pair.destination, "destination", mapping, chunk, prepared);
		expect(s).toEqual(d);
		expect(s.rows).toBe(3);
	});

	it("treats collation, charset, float, decimal scale, fractions, time zones and JSON order as equal", async () => {
		await pair.source.query(`CREATE TABLE tricky (
			id INT PRIMARY KEY, ci VARCHAR(20) COLLATE utf8mb4_general_ci, l1 VARCHAR(20) CHARACTER SET latin1,
			f FLOAT, d DOUBLE, dec1 DECIMAL(10,2), dt DATETIME(3), ts TIMESTAMP(3) NULL, j JSON)`);
		await pair.destination.query(`CREATE TABLE tricky (
			id INT PRIMARY KEY, ci VARCHAR(20) COLLATE utf8mb4_bin, l1 VARCHAR(20) CHARACTER SET utf8mb4,
			f FLOAT, d DOUBLE, dec1 DECIMAL(12,4), dt DATETIME(6), ts TIMESTAMP(6) NULL, j JSON)`);
		await pair.source.query("SET SESSION time_zone = '+00:00'");
		await pair.destination.query("SET SESSION time_zone = '+05:30'");
		await pair.source.query(`INSERT INTO tricky VALUES
			(1, 'Abc', 'café €', 3.1415926, 0.1, 1.50, '2024-01-02 03:04:05.678', '2024-01-01 00:00:00.250', '{"a": 1, "b": [1, 2.5], "c": {"y": null, "x": "é"}}'),
			(2, 'ß', 'naïve', -1e-20, 1.7976931348623157e308, -0.05, '1000-01-01 00:00:00', '2038-01-19 03:14:07', '[]'),
			(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`);
		await pair.destination.query(`INSERT INTO tricky VALUES
			(1, 'Abc', 'café €', 3.1415926, 0.1, 1.5, '2024-01-02 03:04:05.678000', '2024-01-01 05:30:00.25', '{ "c": {"x": "é", "y": null}, "b": [1, 2.5],  "a": 1 }'),
			(2, 'ß', 'naïve', -1e-20, 1.7976931348623157e308, -0.0500, '1000-01-01 00:00:00.000000', '2038-01-19 08:44:07', '[ ]'),
			(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`);
		await pair.destination.query("SET SESSION time_zone = '+00:00'");
		const v = await verifyTable(pair.source, pair.destination, await identity(pair.source, pair.table("tricky")), {
			chunkRows: 1,
		});
		expect(counts(v)).toEqual(ZERO);
		expect(v.rowsChecked).toBe(3);
	});

	it("follows renames, column selection and row filters", async () => {
		await pair.source.query("CREATE TABLE src_t (id INT PRIMARY KEY, name VARCHAR(20), secret VARCHAR(20), n INT)");
		await pair.destination.query("CREATE TABLE dst_t (ident INT PRIMARY KEY, label VARCHAR(20), n INT, extra_col INT)");
		await pair.source.query(
			"INSERT INTO src_t VALUES (1,'one','s1',1),(2,'two','s2',2),(3,'three','s3',3),(4,'four','s4',4),(5,'five','s5',5)",
		);
		await pair.destination.query("INSERT INTO dst_t VALUES (2,'two',2,99),(4,'four',4,98)");
		const mapping = {
			source: { database: pair.database, table: "src_t" },
			destination: { database: pair.database, table: "dst_t" },
			columns: [
				{ source: "id", destination: "ident" },
				{ source: "name", destination: "label" },
				{ source: "n", destination: "n" },
			],
			where: "n % 2 = 0",
		};
		const v = await verifyTable(pair.source, pair.destination, mapping, { chunkRows: 2 });
		expect(counts(v)).toEqual(ZERO);
		expect(v.rowsChecked).toBe(2);
	});

	it("compares tables without a key as multisets", async () => {
		for (const c of [pair.source, pair.destination]) {
			await c.query("CREATE TABLE nokey (a INT, b VARCHAR(10))");
		}
		await pair.source.query("INSERT INTO nokey VALUES (1,'x'),(1,'x'),(2,NULL),(3,'')");
		await pair.destination.query("INSERT INTO nokey VALUES (3,''),(2,NULL),(1,'x'),(1,'x')");
		const v = await verifyTable(pair.source, pair.destination, await identity(pair.source, pair.table("nokey")));
		expect(v.key).toBeNull();
		expect(counts(v)).toEqual(ZERO);
		expect(v.rowsChecked).toBe(4);
	});
});
