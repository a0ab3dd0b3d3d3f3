/** Table introspection: what information_schema says about a table's columns (copy, verify and replay read it). */
import type { RowDataPacket } from "mysql2";
import type { TableName } from "../model/rules.ts";
import type { Queryable } from "./connect.ts";

/** Anything that can run a query: a pool or one connection (mysql2 promise API). */

/** One column of a table as information_schema describes it. */
export interface ColumnInfo {
	name: string;
	/** Lower-case base type, e.g. `int`, `varchar`, `decimal`, `float`, `geometry`. */
	dataType: string;
	/** The full type, e.g. `int(10) unsigned`, `decimal(65,30)`, `enum('a','B')` (lower case outside quotes). */
	columnType: string;
	nullable: boolean;
	charset: string | null;
	collation: string | null;
	numericPrecision: number | null;
	numericScale: number | null;
	/** A generated (virtual or stored) column: never written, the server computes it. */
	generated: boolean;
	autoIncrement: boolean;
	/**
	 * The default as information_schema prints it (MariaDB: an SQL expression, e.g. `'x'`, `1.50`,
	 * `current_timestamp(3)`, `NULL`); null when the column has none. Absent where a column was not
	 * read from information_schema.
	 */
	defaultValue?: string | null;
	/** The column comment ('' when none); absent like `defaultValue`. */
	comment?: string;
}

/** Lower case, except inside quotes: ENUM and SET members keep their case (`enum('Red','x')`). */
function lowerType(columnType: string): string {
	return columnType.replace(/('(?:[^']|'')*')|[^']+/g, (part, quoted) => (quoted ? part : part.toLowerCase()));
}

/**
 * A column known only by its type text (`int(10) unsigned`, `decimal(65,30)`, `enum('a','b')`,
 * "" for none): what a message says of a column the table does not have. Nullable, without
 * charset, default or comment.
 */
export function columnOfType(name: string, columnType: string): ColumnInfo {
	const type = lowerType(columnType.trim());
	const dataType = /^[a-z]+/.exec(type)?.[0] ?? "";
	const args = /^[a-z ]+\((\d+)(?:,\s*(\d+))?\)/.exec(type);
	const decimal = (dataType === "decimal" || dataType === "numeric") && args !== null;
	return {
		name,
		dataType,
		columnType: type,
		nullable: true,
		charset: null,
		collation: null,
		numericPrecision: decimal ? Number(args[1]) : null,
		numericScale: decimal ? Number(args[2] ?? 0) : null,
		generated: false,
		autoIncrement: false,
	};
}

/** Columns of a table in ordinal order; empty if the table does not exist. */
export async function describeColumns(conn: Queryable, table: TableName): Promise<ColumnInfo[]> {
	const [rows] = await conn.query<RowDataPacket[]>(
		`SELECT COLUMN_NAME AS name, DATA_TYPE AS dataType, COLUMN_TYPE AS columnType, IS_NULLABLE AS nullable,
			CHARACTER_SET_NAME AS charset, COLLATION_NAME AS collation, NUMERIC_PRECISION AS numericPrecision,
			NUMERIC_SCALE AS numericScale, EXTRA AS extra,
			COLUMN_DEFAULT AS defaultValue, COLUMN_COMMENT AS comment
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
		[table.database, table.table],
	);
	return rows.map((r) => ({
		name: String(r.name),
		dataType: String(r.dataType).toLowerCase(),
		columnType: lowerType(String(r.columnType)),
		nullable: r.nullable === "YES",
		charset: r.charset == null ? null : String(r.charset),
		collation: r.collation == null ? null : String(r.collation),
		numericPrecision: r.numericPrecision == null ? null : Number(r.numericPrecision),
		numericScale: r.numericScale == null ? null : Number(r.numericScale),
		generated: /\b(VIRTUAL|STORED|PERSISTENT)\b/i.test(String(r.extra ?? "")),
		autoIncrement: /\bauto_increment\b/i.test(String(r.extra ?? "")),
		defaultValue: r.defaultValue == null ? null : String(r.defaultValue),
		comment: String(r.comment ?? ""),
	}));
}
