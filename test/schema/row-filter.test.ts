import { rmSync } from "node:fs";
import { join } from "node:path";
import type { RowDataPacket } from "mysql2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Connection, connect } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import { mapTable } from "../../shared/ddl/rules.ts";
import type { TableRule } from "../../shared/model/rules.ts";
import { SchemaRuleError } from "../../shared/schema/errors.ts";
import { resolveObjects } from "../../shared/schema/resolve.ts";
import { rowFilterRefusal } from "../../shared/schema/row-filter.ts";
import { freshDatabase, sourceCredentials, uniqueDatabase } from "../support/databases.ts";

/** Row filters are pasted into Ferry's statements on the source: only an expression over the row gets in. */

const db = uniqueDatabase("rowfilter");
const COLUMNS = ["id", "name", "created", "amount", "note", "tags", "2fa"];
let setup: Connection;

beforeAll(async () => {
	setup = await freshDatabase(sourceCredentials, db);
	await setup.query(
		"CREATE TABLE people (id int PRIMARY KEY, name varchar(50), created datetime, amount decimal(10,2), note varchar(100), tags json, `2fa` int)",
	);
	await setup.query("INSERT INTO people (id, name) VALUES (1, 'x'), (2, 'y')");
});

afterAll(async () => {
	await setup?.query(`DROP DATABASE IF EXISTS ${quoteId(db)}`);
	await setup?.end();
});

const rule = (where: string): TableRule => ({ database: db, table: "people", exclude: false, where });

async function refusal(conn: Connection, where: string): Promise<SchemaRuleError> {
	try {
		await resolveObjects(conn, [rule(where)]);
	} catch (err) {
		if (err instanceof SchemaRuleError) return err;
		throw err;
	}
	throw new Error(`the filter ${where} was accepted`);
}

/** Whether the server can read a file (LOAD_FILE is NULL for a missing one), relative to its data directory. */
async function fileOnServer(conn: Connection, relative: string[]): Promise<boolean> {
	const [[dir]] = await conn.query<RowDataPacket[]>("SELECT @@datadir AS d");
	for (const path of relative.map((r) => join(String(dir?.d), r))) {
		const [[row]] = await conn.query<RowDataPacket[]>("SELECT LOAD_FILE(?) IS NOT NULL AS found", [path]);
		if (Number(row?.found) === 1) {
			rmSync(path, { force: true });
			return true;
		}
	}
	return false;
}

describe("a row filter cannot escape its expression", () => {
	it("a string that ends early under NO_BACKSLASH_ESCAPES is refused, and the probe writes no file", async () => {
		// a server configured with NO_BACKSLASH_ESCAPES gives every session that mode
		const conn = await connect(sourceCredentials);
		try {
			await conn.query("SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES'");
			const file = `ferry_outfile_${process.pid}_${Date.now()}.txt`;
			const hostile = `name = 'x\\') INTO OUTFILE "${file}" -- '`;
			const err = await refusal(conn, hostile).catch((e: Error) => e);
			const written = await fileOnServer(conn, [file, join(db, file)]);
			expect(written).toBe(false);
			expect(err).toBeInstanceOf(SchemaRuleError);
			expect(err.message).toContain(`${db}.people`);
			expect(err.message).toContain(`rule #1 (database "${db}", table "people")`);
			expect(err.message).toMatch(/backslash/);
		} finally {
			await conn.end();
		}
	});

	it("refuses what is not an expression over the row, naming the table, the rule and the token", async () => {
		const conn = await connect(sourceCredentials);
		try {
			const cases: [string, string, RegExp][] = [
				["id = 1 OR SLEEP(5) = 0", "SLEEP", /SLEEP\(\) is not a function a row filter may call/],
				["BENCHMARK(100000000, MD5('a')) = 0", "BENCHMARK", /not a function a row filter may call/],
				["LOAD_FILE('/etc/passwd') IS NOT NULL", "LOAD_FILE", /not a function/],
				["GET_LOCK('ferry', 10) = 1", "GET_LOCK", /not a function/],
				["id IN (SELECT id FROM mysql.user)", "SELECT", /subqueries are not allowed/],
				["id = 1 INTO OUTFILE 'x'", "INTO", /INTO is not allowed/],
				["@@version LIKE '%'", "@@version", /variables are not allowed/],
				["(@a := 1) = 1", "@a", /variables are not allowed/],
				["id = 1; DROP TABLE people", ";", /statement separator/],
				["id = 1 /*! OR SLEEP(1) */", "/*! OR SLEEP(1) */", /comments are not allowed/],
				["id = 1 -- rest", "-- rest", /comments are not allowed/],
				["nope > 1", "nope", /nope is not a column of the table/],
				["`nope` > 1", "`nope`", /is not a column of the table/],
				["people.id = 1", "people", /qualified name/],
				[`${db}.f(id) = 1`, db, /qualified name/],
				["`f`(id) = 1", "`f`", /stored function/],
				["created > NOW()", "NOW", /not a function/],
				["RAND() < 0.5", "RAND", /not a function/],
				["id > UNIX_TIMESTAMP()", "UNIX_TIMESTAMP", /reads the clock/],
				["name = 'a' || id = 2", "|", /\|\| is OR or string concatenation/],
				["id = ?", "?", /placeholder/],
				["name = 'a\\'b'", "'a\\'b'", /backslash/],
				["id = (1", "(", /"\(" is not closed/],
				["1) OR (1", ")", /closes more than was opened/],
				["name = 'unclosed", "'unclosed", /string is not closed/],
				["id--1 = 0", "-", /"--" starts a comment/],
			];
			for (const [where, token, why] of cases) {
				const err = await refusal(conn, where);
				expect(err.message, where).toContain(`${db}.people`);
				expect(err.message, where).toContain("rule #1");
				expect(err.message, where).toContain(`at ${JSON.stringify(token)}`);
				expect(err.message, where).toMatch(why);
			}
			// what the check lets through still has to parse
			expect((await refusal(conn, "id = = 1")).message).toMatch(/the source server refused it.*SQL syntax/);
		} finally {
			await conn.end();
		}
	});

	it("keeps filters that are expressions over the row", async () => {
		const conn = await connect(sourceCredentials);
		try {
			for (const where of [
				"id % 2 = 0 AND id <= 2500",
				"name = 'x'",
				'name <> "skip"',
				"note <> 'a;b -- c /* d */ #e ?'",
				"created >= '2024-01-01' AND created < DATE '2025-01-01' + INTERVAL 1 DAY",
				"amount BETWEEN 1.5 AND 1e3 OR amount > .5 OR amount * 1.5e-3 > 0",
				"name IN ('a', 'b') AND NOT (note IS NULL)",
				"CAST(amount AS DECIMAL(10, 2)) > 1 AND CAST(name AS CHAR(10) CHARACTER SET utf8mb4) <> ''",
				"CONVERT(name USING utf8mb4) COLLATE utf8mb4_bin = 'x' AND name COLLATE `utf8mb4_bin` LIKE 'x%'",
				"YEAR(created) = 2024 AND DATE_FORMAT(created, '%Y') = '2024' AND DATEDIFF(created, '2024-01-01') > 0",
				"TRIM(LEADING 'a' FROM name) = 'x' AND SUBSTRING(name FROM 1 FOR 2) = 'x' AND EXTRACT(YEAR FROM created) > 1",
				"CASE WHEN id > 1 THEN 1 ELSE 0 END = 1",
				"IFNULL(note, '') LIKE 'a!_%' ESCAPE '!' AND COALESCE(note, name) REGEXP '^x'",
				"x'78' = name OR _utf8mb4'x' = name OR N'x' = name",
				"JSON_EXTRACT(tags, '$.a') = 1 OR JSON_CONTAINS(tags, '1')",
				"id > UNIX_TIMESTAMP('2024-01-01') OR `2fa` = 1 OR `ID` = 1",
			]) {
				const [m] = await resolveObjects(conn, [rule(where)]);
				expect(m?.where, where).toBe(where);
			}
		} finally {
			await conn.end();
		}
	});
});

describe("rowFilterRefusal", () => {
	it("reads strings and names as the server does in FILTER_SQL_MODE", () => {
		expect(rowFilterRefusal("name = 'it''s'", COLUMNS)).toBeNull();
		expect(rowFilterRefusal('name = "say ""hi"""', COLUMNS)).toBeNull();
		expect(rowFilterRefusal("`na``me` = 1", ["na`me"])).toBeNull();
		expect(rowFilterRefusal("name = '`; SLEEP(1)'", COLUMNS)).toBeNull();
		expect(rowFilterRefusal("COLLATE sleep(1)", COLUMNS)?.token).toBe("sleep");
		expect(rowFilterRefusal("name = CHAR(92)", COLUMNS)).toBeNull();
	});
});

describe("a table created during replay", () => {
	it("gets its rule's filter only if the filter is one over its own columns", () => {
		const columns = ["id", "a"].map((name) => ({ name, primary: name === "id", reads: [] }));
		const name = { database: "shop", table: "fresh" };
		const match = (where: string) => ({ index: 0, rule: { database: "shop", table: "*", exclude: false, where } });
		expect(mapTable(name, match("a > 0"), columns)).toMatchObject({ mapping: { where: "a > 0" } });
		expect(mapTable(name, match("b > 0"), columns)).toEqual({
			refusal: expect.stringMatching(/row filter of rule #1 .* is refused for shop.fresh at "b": b is not a column/),
		});
		expect(mapTable(name, match("SLEEP(1) = 0"), columns)).toEqual({
			refusal: expect.stringContaining('at "SLEEP": SLEEP() is not a function'),
		});
	});
});
