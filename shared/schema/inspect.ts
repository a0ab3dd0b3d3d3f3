import type { Connection } from "../db/connect.ts";
import { quoteTable } from "../db/sql.ts";
import type { TableName } from "../model/rules.ts";

/** What already exists at the destination, read from information_schema before touching anything. */

/** Name -> TABLE_TYPE of everything in a database (empty when the database does not exist). */
export async function existingObjects(conn: Connection, database: string): Promise<Map<string, string>> {
	const [rows] = await conn.query(
		"SELECT TABLE_NAME AS name, TABLE_TYPE AS type FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?",
		[database],
	);
	return new Map((rows as { name: string; type: string }[]).map((r) => [r.name, r.type]));
}

/** Columns (name and COLUMN_TYPE, in order) of every table in a database, keyed by table name. */
export async function existingColumns(
	conn: Connection,
	database: string,
): Promise<Map<string, { name: string; type: string }[]>> {
	const [rows] = await conn.query(
		`SELECT TABLE_NAME AS t, COLUMN_NAME AS name, COLUMN_TYPE AS type FROM information_schema.COLUMNS
		 WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION`,
		[database],
	);
	const byTable = new Map<string, { name: string; type: string }[]>();
	for (const r of rows as { t: string; name: string; type: string }[]) {
		byTable.set(r.t, [...(byTable.get(r.t) ?? []), { name: r.name, type: r.type }]);
	}
	return byTable;
}

/** Counting stops here: the number only has to tell "empty" from "has data" and size the message. */
const COUNT_CAP = 1_000_000;

/** Rows in the table as a phrase ("3 rows", "more than 1000000 rows"), or null when it is empty. */
export async function describeRows(conn: Connection, table: TableName): Promise<string | null> {
	const [rows] = await conn.query(
		`SELECT COUNT(*) AS n FROM (SELECT 1 FROM ${quoteTable(table)} LIMIT ${COUNT_CAP + 1}) AS capped`,
	);
	const n = Number((rows as { n: number | string }[])[0]?.n ?? 0);
	if (n === 0) return null;
	if (n > COUNT_CAP) return `more than ${COUNT_CAP} rows`;
	return n === 1 ? "1 row" : `${n} rows`;
}

/** Column types compared across servers: integer display widths are cosmetic and MySQL 8 drops them. */
export function sameColumns(
	planned: { name: string; type: string }[],
	found: { name: string; type: string }[],
): boolean {
	const norm = (t: string) =>
		t
			.toLowerCase()
			.replace(/\/\*.*?\*\//g, "")
			.replace(/\b(tinyint|smallint|mediumint|int|bigint|year)\(\d+\)/g, "$1")
			.replace(/\s+/g, " ")
			.trim();
	return (
		planned.length === found.length &&
		planned.every((p, i) => {
			const f = found[i];
			return f !== undefined && p.name.toLowerCase() === f.name.toLowerCase() && norm(p.type) === norm(f.type);
		})
	);
}
