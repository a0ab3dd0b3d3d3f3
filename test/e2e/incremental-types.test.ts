import { describe, expect, it } from "vitest";
import { type Connection, connect } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import { ALL_TYPES_ROW_1, ALL_TYPES_ROW_2, ALL_TYPES_ROW_3, ALL_TYPES_TABLE } from "../support/all-types.ts";
import { createDatabase, destinationCredentials, sourceCredentials, uniqueDatabase } from "../support/databases.ts";
import { startIncrementalProject, useTestStack } from "../support/stack.ts";

/** Every column, as text the server prints (binary as hex, FLOAT as its double value): equal means byte-identical. */
async function dump(conn: Connection, db: string): Promise<unknown[]> {
	const [cols] = await conn.query(
		"SELECT COLUMN_NAME AS name, DATA_TYPE AS type FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'all_types' ORDER BY ORDINAL_POSITION",
		[db],
	);
	const list = (cols as { name: string; type: string }[])
		.map((c) => {
			const q = quoteId(c.name);
			if (c.type === "float") return `${q} * 1e0`;
			return `HEX(${q})`;
		})
		.join(", ");
	const [rows] = await conn.query({
		sql: `SELECT ${list} FROM ${quoteId(db)}.all_types ORDER BY id`,
		rowsAsArray: true,
	});
	return rows as unknown[];
}

describe("every column type through capture and replay", () => {
	const db = uniqueDatabase("types");
	const t = useTestStack({
		workers: 1,
		seed: () => createDatabase(sourceCredentials, db, `CREATE TABLE all_types ${ALL_TYPES_TABLE}`),
		databases: [db],
	});

	it("inserts, updates and deletes arrive byte-identical", async () => {
		await startIncrementalProject(t.api, t.ids, db);
		const src = await connect(sourceCredentials);
		await src.query("SET SESSION sql_mode = ''"); // zero dates and the invalid ENUM value
		await src.query(`USE ${quoteId(db)}`);
		await src.query("SET time_zone = '+05:00'"); // TIMESTAMPs written from another zone
		// row 2's 'purple' stores ENUM's error value, which replay writes past strict mode
		await src.query(`INSERT INTO all_types VALUES ${ALL_TYPES_ROW_1}, ${ALL_TYPES_ROW_2}, ${ALL_TYPES_ROW_3}`);
		await src.query(
			"UPDATE all_types SET vc = CONCAT(vc, '✓'), d = d / 3, bit64 = b'1', j = JSON_SET(j, '$.n', 1) WHERE id = 1",
		);
		await src.query("UPDATE all_types SET id = 4 WHERE id = 3");
		await src.query("INSERT INTO all_types (id) VALUES (5)");
		await src.query("DELETE FROM all_types WHERE id = 5");
		await src.query("SET time_zone = '+00:00'"); // both sides are read in UTC
		const dst = await connect(destinationCredentials);
		const expected = await dump(src, db);
		let actual: unknown[] = [];
		for (let i = 0; i < 60; i++) {
			actual = await dump(dst, db);
			if (JSON.stringify(actual) === JSON.stringify(expected)) break;
			await new Promise((r) => setTimeout(r, 500));
		}
		expect(expected).toHaveLength(3);
		expect(actual).toEqual(expected);
		await Promise.all([src.end(), dst.end()]);
	});
});
