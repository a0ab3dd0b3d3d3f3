import type { RowDataPacket } from "mysql2";
import type { Queryable } from "../db/connect.ts";
import { type ColumnInfo, describeColumns } from "../db/introspect.ts";
import { DECIMAL_TYPES, DOUBLE_TYPES, INTEGER_TYPES, TEMPORAL_TYPES } from "../db/types.ts";
import type { TableName } from "../model/rules.ts";

/**
 * How a key column's values are carried in a chunk boundary (always as a JSON-safe string) and
 * compared back on the server:
 * - integer: decimal digits, bound as a BigInt (an unquoted literal, so exact beyond 2^53);
 * - decimal: digits, bound through `CAST(? AS DECIMAL(p,s))` (a string would compare as a double);
 * - double: the shortest round-trip text, compared as a double like the column itself;
 * - temporal: the server's text, which the server converts to the column's temporal type;
 * - string: the text, compared by the server under the column's own collation (a column has a
 *   stronger coercibility than a literal), so case-insensitive and accent rules match ORDER BY;
 * - binary: base64 of the bytes, bound as a binary string.
 */
export type KeyKind = "integer" | "decimal" | "double" | "temporal" | "string" | "binary";

export interface KeyColumn {
	name: string;
	kind: KeyKind;
	/** For decimal keys: the SQL type to cast a bound boundary to, e.g. `DECIMAL(20,4)`. */
	cast?: string;
}

/** The unique, NOT NULL key the full copy orders and splits a table by. */
export interface CopyKey {
	/** The index name (`PRIMARY` for the primary key). */
	index: string;
	primary: boolean;
	columns: KeyColumn[];
}

/** A candidate key that exists but cannot split a table, with the reason. */
export interface UnusableKey {
	index: string;
	reason: string;
}

/** Character types a key range can be bounded by (no LOBs, no ENUM/SET: see `keyColumnOf`). */
const STRING_TYPES = new Set(["char", "varchar", "uuid", "inet4", "inet6"]);
/** Binary types a key range can be bounded by (no BLOBs). */
const BINARY_TYPES = new Set(["binary", "varbinary"]);

/**
 * The kind of a column as a chunk boundary, or why it cannot be one. ENUM and SET sort by their
 * index but compare with a string literal as text, so a boundary would not split where ORDER BY
 * does; FLOAT's text form is rounded to 6 digits; BIT, BLOB/TEXT and spatial types are not
 * ordered usefully or cannot be fully indexed.
 */
export function keyColumnOf(column: ColumnInfo): KeyColumn | string {
	const t = column.dataType;
	if (INTEGER_TYPES.has(t)) return { name: column.name, kind: "integer" };
	if (DECIMAL_TYPES.has(t)) {
		const p = column.numericPrecision ?? 65;
		const s = column.numericScale ?? 0;
		return { name: column.name, kind: "decimal", cast: `DECIMAL(${p},${s})` };
	}
	if (DOUBLE_TYPES.has(t)) return { name: column.name, kind: "double" };
	if (TEMPORAL_TYPES.has(t)) return { name: column.name, kind: "temporal" };
	if (STRING_TYPES.has(t)) return { name: column.name, kind: "string" };
	if (BINARY_TYPES.has(t)) return { name: column.name, kind: "binary" };
	return `column ${column.name} is of type ${column.columnType}, which cannot bound a key range`;
}

/**
 * Finds the copy key of a table: the primary key, else the first unique key whose columns are all
 * NOT NULL (in the server's own index order, the one InnoDB also uses to pick a clustered index),
 * else none. Keys with prefix parts, or whose columns cannot bound a range (see `keyColumnOf`), or
 * with a column outside `usableColumns` (the copied columns: the destination must be able to find
 * a chunk's rows by the same key), are passed over and reported in `unusable`.
 */
export async function findCopyKey(
	conn: Queryable,
	table: TableName,
	options: { columns?: ColumnInfo[]; usableColumns?: Iterable<string> } = {},
): Promise<{ key: CopyKey | null; unusable: UnusableKey[] }> {
	const columns = options.columns ?? (await describeColumns(conn, table));
	const byName = new Map(columns.map((c) => [c.name.toLowerCase(), c]));
	const usable = options.usableColumns ? new Set([...options.usableColumns].map((c) => c.toLowerCase())) : null;
	const [rows] = await conn.query<RowDataPacket[]>(
		`SELECT INDEX_NAME AS indexName, SEQ_IN_INDEX AS seq, COLUMN_NAME AS columnName, NON_UNIQUE AS nonUnique,
			SUB_PART AS subPart
		FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`,
		[table.database, table.table],
	);
	const indexes = new Map<string, { seq: number; column: string; subPart: unknown }[]>();
	for (const r of rows) {
		if (Number(r.nonUnique) !== 0) continue;
		const name = String(r.indexName);
		let parts = indexes.get(name);
		if (!parts) {
			parts = [];
			indexes.set(name, parts);
		}
		parts.push({
			seq: Number(r.seq),
			column: String(r.columnName),
			subPart: r.subPart,
		});
	}
	const names = [...indexes.keys()];
	names.sort((a, b) => Number(b === "PRIMARY") - Number(a === "PRIMARY"));
	const unusable: UnusableKey[] = [];
	for (const index of names) {
		const parts = (indexes.get(index) ?? []).sort((a, b) => a.seq - b.seq);
		const keyColumns: KeyColumn[] = [];
		let reason: string | null = null;
		for (const part of parts) {
			const column = byName.get(part.column.toLowerCase());
			if (!column) reason = `column ${part.column} is not described`;
			else if (column.nullable) reason = `column ${column.name} is nullable`;
			else if (part.subPart != null) reason = `column ${column.name} is indexed by a prefix`;
			else if (usable && !usable.has(column.name.toLowerCase())) reason = `column ${column.name} is not copied`;
			else {
				const k = keyColumnOf(column);
				if (typeof k === "string") reason = k;
				else keyColumns.push(k);
			}
			if (reason) break;
		}
		if (reason) {
			unusable.push({ index, reason });
			continue;
		}
		return {
			key: { index, primary: index === "PRIMARY", columns: keyColumns },
			unusable,
		};
	}
	return { key: null, unusable };
}
