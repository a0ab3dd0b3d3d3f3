import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quoteId, quoteTable } from "../../shared/db/sql.ts";
import type { TableMapping } from "../../shared/model/rules.ts";
import { uniqueDatabase } from "../support/databases.ts";
import { identity, openPair, type Pair } from "../support/pair.ts";
import { connect, copyAll, destinationCredentials, dump, sourceCredentials } from "./helpers.ts";

/*
 * A source row holding ENUM's error value (index 0, which a non-strict session stores for an
 * invalid member) copied into MariaDB, whose strict mode refuses it for an ENUM without a ''
 * member: by INSERT and by LOAD DATA, with the other rows still written under strict mode.
 */

describe("copying ENUM's error value", () => {
	let pair: Pair;
	let mapping: TableMapping;
	const table = { database: "", table: "colours" };
	const ddl = (v: string) => `(id INT PRIMARY KEY, e ENUM('red','green') NOT NULL, b VARBINARY(4), v ${v})`;

	beforeAll(async () => {
		pair = await openPair(uniqueDatabase("copy_enum"));
		table.database = pair.database;
		await pair.source.query(`CREATE TABLE ${quoteTable(table)} ${ddl("VARCHAR(20)")}`);
		await pair.source.query("SET SESSION sql_mode = ''");
		const rows = Array.from(
			{ length: 40 },
			(_, i) => `(${i}, '${i % 3 ? "red" : "purple"}', X'00${i.toString(16).padStart(2, "0")}', 'ü${i}')`,
		);
		await pair.source.query(`INSERT INTO ${quoteTable(table)} VALUES ${rows.join(", ")}`);
		mapping = await identity(pair.source, table);
	});
	afterAll(async () => {
		await pair?.close();
	});

	for (const method of ["insert", "load-data"] as const) {
		it(`writes it with ${method}, and keeps strict mode for the other rows`, async () => {
			const recreate = async (v: string) => {
				await pair.destination.query(`DROP TABLE IF EXISTS ${quoteTable(table)}`);
				await pair.destination.query(`CREATE TABLE ${quoteTable(table)} ${ddl(v)}`);
			};
			await recreate("VARCHAR(20)");
			const { results } = await copyAll(pair, mapping, { chunkRows: 15 }, { method, batchBytes: 200 });
			expect(results.every((r) => r.method === method)).toBe(true);
			expect(results.reduce((n, r) => n + r.rows, 0)).toBe(40);
			const expected = await dump(pair.source, table, "id");
			expect(expected.filter((r) => r[1] === "").length).toBe(14);
			expect(await dump(pair.destination, table, "id")).toEqual(expected);
			// a column too narrow for the rows that hold no error value still fails the copy (which
			// destroys the connections it was given: fresh ones)
			await recreate("VARCHAR(1)");
			const [source, destination] = await Promise.all([connect(sourceCredentials), connect(destinationCredentials)]);
			await Promise.all([source, destination].map((c) => c.query(`USE ${quoteId(pair.database)}`)));
			const failing = copyAll(
				{ ...pair, source, destination },
				mapping,
				{ chunkRows: 15 },
				{ method, batchBytes: 200 },
			);
			await expect(failing).rejects.toThrow(/Data too long|truncated/);
			await source.end().catch(() => {});
		});
	}
});
