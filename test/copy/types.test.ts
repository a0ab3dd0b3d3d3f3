import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quoteTable } from "../../shared/db/sql.ts";
import type { TableMapping } from "../../shared/model/rules.ts";
import { uniqueDatabase } from "../support/databases.ts";
import { identity, openPair, type Pair } from "../support/pair.ts";
import { copyAll, count, dump } from "./helpers.ts";

const DDL = `(
	id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
	ti TINYINT, tu TINYINT UNSIGNED, si SMALLINT, mi MEDIUMINT, i INT, iu INT UNSIGNED,
	bi BIGINT, bu BIGINT UNSIGNED,
	d65 DECIMAL(65,30), d10 DECIMAL(10,0), dn DECIMAL(5,2),
	f FLOAT, dbl DOUBLE,
	b1 BIT(1), b64 BIT(64),
	y YEAR, dt DATE, dtm DATETIME(6), ts TIMESTAMP(6) NULL DEFAULT NULL, tm TIME(6), tm0 TIME,
	ch CHAR(10), vc VARCHAR(255), vl VARCHAR(100) CHARACTER SET latin1, tx TEXT, mt MEDIUMTEXT,
	bn BINARY(8), vb VARBINARY(300), bl BLOB, lb LONGBLOB,
	e ENUM('a','b','c'), st SET('x','y','z'),
	j JSON, g GEOMETRY, pt POINT,
	u UUID, ip INET6
) CHARACTER SET utf8mb4`;

const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString("hex");

/** Literal rows, written as SQL so that the source content does not depend on the code under test. */
const ROWS = [
	// id 0 in an AUTO_INCREMENT column (kept by NO_AUTO_VALUE_ON_ZERO), every other column NULL.
	"(0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
	`(1, -128, 0, -32768, -8388608, -2147483648, 0, -9223372036854775808, 0,
		'-99999999999999999999999999999999999.999999999999999999999999999999', -9999999999, -999.99,
		-3.40282e38, -1.7976931348623157e308, b'0', b'0',
		0, '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', '-838:59:59', '-838:59:59',
		'', '', '', '', '', X'00', X'', X'', X'', 'a', '', '{}', ST_GeomFromText('POINT(0 0)'), POINT(-1.5, 2.25),
		'00000000-0000-0000-0000-000000000000', '::')`,
	`(2, 127, 255, 32767, 8388607, 2147483647, 4294967295, 9223372036854775807, 18446744073709551615,
		'99999999999999999999999999999999999.999999999999999999999999999999', 9999999999, 999.99,
		3.40282e38, 1.7976931348623157e308, b'1', X'FFFFFFFFFFFFFFFF',
		2155, '9999-12-31', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999999', '838:59:59', '838:59:59',
		'abc  ', 'trailing   ', CONVERT(_utf8mb4'café ÿ € Œ' USING latin1),
		CONCAT('a\\tb\\nc\\\\d''e"f', CHAR(0), 'g', CHAR(26), 'h\\r', '\`?'),
		_utf8mb4'😀👍🏽 日本語 Ωmega ä', X'FFFEFD0009', X'${allBytes}', X'5C4E', X'00FF5C090A0D0027',
		'c', 'x,z', '{"k": [1, 2.5e300, "ü\\\\n"], "n": null}',
		ST_GeomFromText('LINESTRING(0 0, 1.5 2.5, -3 1e10)'), POINT(1e300, -1e-300),
		'ffffffff-ffff-ffff-ffff-ffffffffffff', '2001:db8::1')`,
	`(3, 0, 1, 0, 0, 0, 1, -1, 1, '0.000000000000000000000000000001', 0, 0.01,
		1.4e-45, 4.9e-324, b'1', b'101',
		1901, '2024-02-29', '2024-02-29 12:34:56.789012', '1970-01-01 00:00:01', '00:00:00.000001', '-00:00:01',
		'\\\\N', 'NULL', '\\\\N', '\\\\N', '', X'5C4E', X'0A', X'09', X'5C',
		'b', 'x,y,z', 'null', ST_GeomFromText('POLYGON((0 0, 1 0, 1 1, 0 0))'), POINT(0.1, 0.2),
		'123e4567-e89b-42d3-a456-426614174000', '::ffff:192.0.2.1')`,
	// Floats whose 6-digit text is not their value, and a negative zero.
	"(4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 3.14159274, -0e0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
];

function randomRows(n: number, first: number): string[] {
	const out: string[] = [];
	let seed = 42;
	const rand = () => {
		seed = (seed * 1103515245 + 12345) & 0x7fffffff;
		return seed / 0x7fffffff;
	};
	const bytes = (len: number) =>
		Buffer.from(Array.from({ length: len }, () => Math.floor(rand() * 256))).toString("hex");
	for (let k = 0; k < n; k++) {
		const x = (rand() - 0.5) * 10 ** Math.floor(rand() * 60 - 30);
		const text = Array.from({ length: Math.floor(rand() * 40) }, () =>
			String.fromCodePoint(
				[9, 10, 92, 39, 0, 0x263a, 0x1f600, 0xe9][Math.floor(rand() * 8)] ?? 65 + Math.floor(rand() * 26),
			),
		).join("");
		out.push(
			`(${first + k}, NULL, NULL, NULL, NULL, ${Math.floor(rand() * 2 ** 31)}, NULL, ${BigInt(Math.floor(rand() * 2 ** 53)) * 1000n - 2n ** 62n}, NULL, ` +
				`${(rand() * 1e6).toFixed(6)}, NULL, NULL, ${x.toPrecision(9)}, ${x.toPrecision(17)}, NULL, X'${bytes(8)}', NULL, NULL, NULL, NULL, NULL, NULL, ` +
				`NULL, X'${Buffer.from(text).toString("hex")}', NULL, X'${Buffer.from(text).toString("hex")}', NULL, NULL, X'${bytes(Math.floor(rand() * 300))}', X'${bytes(Math.floor(rand() * 2000))}', NULL, ` +
				"NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
		);
	}
	return out;
}

describe("every column type round-trips exactly", () => {
	let pair: Pair;
	let mapping: TableMapping;
	const table = { database: "", table: "types" };

	beforeAll(async () => {
		pair = await openPair(uniqueDatabase("copy"));
		table.database = pair.database;
		await pair.source.query(`CREATE TABLE ${quoteTable(table)} ${DDL}`);
		await pair.source.query(`INSERT INTO ${quoteTable(table)} VALUES ${[...ROWS, ...randomRows(300, 100)].join(", ")}`);
		mapping = await identity(pair.source, table);
	});
	afterAll(async () => {
		await pair?.close();
	});

	for (const method of ["insert", "load-data"] as const) {
		it(`with ${method}`, async () => {
			await pair.destination.query(`DROP TABLE IF EXISTS ${quoteTable(table)}`);
			await pair.destination.query(`CREATE TABLE ${quoteTable(table)} ${DDL}`);
			// Small batches and chunks, so that batching and chunk edges are exercised too.
			const { results } = await copyAll(pair, mapping, { chunkRows: 70 }, { method, batchBytes: 20_000 });
			expect(results.every((r) => r.method === method)).toBe(true);
			expect(results.reduce((a, r) => a + r.rows, 0)).toBe(305);
			expect(await count(pair.destination, table)).toBe(305);
			const expected = await dump(pair.source, table, "id");
			const actual = await dump(pair.destination, table, "id");
			expect(actual).toEqual(expected);
		});
	}
});
