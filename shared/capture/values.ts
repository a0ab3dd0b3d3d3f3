import type { RowImage, Value } from "./change.ts";
import { jsonBinaryToText } from "./json-binary.ts";
import { MysqlType } from "./type-codes.ts";

/**
 * From zongji's decoded row values to the representation of change.ts (the server's own text for
 * numbers and temporal values, Buffers for binary). zongji is run with `dateStrings: true` and
 * `timezone: 'Z'`, which makes it produce the server's text for DATE/DATETIME/TIMESTAMP/TIME
 * (TIMESTAMP in UTC), exact strings for DECIMAL and for BIGINT beyond 2^53, and numbers for
 * smaller integers, FLOAT and DOUBLE. What remains is done per column here:
 *
 * - GEOMETRY: zongji parses it into {x, y} objects and drops the SRID; the column descriptor is
 *   switched to a binary BLOB (same length-prefixed layout) so the internal bytes arrive as a
 *   Buffer, which is what a SELECT returns (SRID + WKB).
 * - MySQL JSON (binary format): zongji's text serialiser reorders object members (integer-like
 *   keys first, as JS objects do) and prints doubles the JS way ('1' for 1.0, '1e+100');
 *   the descriptor is switched to a binary BLOB and `jsonBinaryToText` prints the value as
 *   MySQL itself does. (MariaDB's JSON is LONGTEXT and arrives as text.)
 * - YEAR: zongji adds 1900 to the stored byte, so YEAR 0000 arrives as 1900 (a value YEAR cannot
 *   hold): mapped back to 0.
 * - ENUM: the empty "error" value (index 0) arrives as undefined: mapped to ''.
 * - MariaDB UUID/INET4/INET6: in the binlog they are BINARY(16)/BINARY(4); the reader tells which
 *   columns really are (from INFORMATION_SCHEMA) and zongji then prints the server's text form.
 * - Buffers (BINARY, VARBINARY, BLOB, BIT): zongji returns slices of the network buffer; they are
 *   copied so a captured row never pins a whole socket chunk in memory.
 */

/** MariaDB data-type plugins that travel in the binlog as BINARY(n). */
export type LogicalType = "uuid" | "inet4" | "inet6";

/** Shape of zongji's per-table cache entry (`zongji.tableMap[tableId]`) that this module touches. */
export interface ZongjiColumn {
	name: string;
	charset: string | null;
	type: number;
	metadata?: Record<string, unknown> | undefined;
	/** Set by adaptTable: the binlog type before a descriptor switch (zongji may reuse an entry). */
	binlogType?: number;
	binlogCharset?: string | null;
}
export interface ZongjiColumnSchema {
	COLUMN_NAME: string;
	COLUMN_TYPE: string;
	CHARACTER_SET_NAME: string | null;
}
export interface ZongjiTableEntry {
	columnSchemas: ZongjiColumnSchema[];
	parentSchema: string;
	tableName: string;
	columns?: ZongjiColumn[];
}

type Normaliser = (v: unknown) => Value;

export interface ColumnShape {
	name: string;
	/** The binlog type code (ENUM/SET resolved), before any descriptor switch. */
	type: number;
	binary: boolean;
	logical?: LogicalType;
}

/** One table as of a TABLE_MAP event: its columns, and how to turn zongji's row into a RowImage. */
export interface TableShape {
	columns: ColumnShape[];
	/** Normalises a row object from zongji in place and returns it. */
	normalise(row: Record<string, unknown>): RowImage;
}

function copyBuffer(v: unknown): Value {
	if (v === null || v === undefined) return null;
	if (Buffer.isBuffer(v)) return Buffer.from(v);
	return v as Value;
}

function identity(v: unknown): Value {
	return v === undefined ? null : (v as Value);
}

function year(v: unknown): Value {
	if (v === null || v === undefined) return null;
	return v === 1900 ? 0 : (v as number);
}

function enumValue(v: unknown): Value {
	if (v === null) return null;
	return v === undefined ? "" : (v as string);
}

function jsonBinary(v: unknown): Value {
	if (v === null || v === undefined) return null;
	const buf = v as Buffer;
	// an empty JSON value is what MySQL stores for NULL in a few legacy paths; zongji maps it to NULL too
	return buf.length === 0 ? null : jsonBinaryToText(buf);
}

const BINARY_TYPES = new Set<number>([
	MysqlType.STRING,
	MysqlType.VARCHAR,
	MysqlType.VAR_STRING,
	MysqlType.BLOB,
	MysqlType.TINY_BLOB,
	MysqlType.MEDIUM_BLOB,
	MysqlType.LONG_BLOB,
	MysqlType.BLOB_COMPRESSED,
	MysqlType.VARCHAR_COMPRESSED,
]);

/**
 * Adapts zongji's cache entry for one TABLE_MAP event (call it synchronously from the TableMap
 * event handler, before the table's row events are decoded) and returns the table's shape.
 * `columnNames` are the names carried by the event itself (binlog_row_metadata=FULL): they win
 * over names zongji may have read from INFORMATION_SCHEMA, which describe the table as it is now
 * rather than when the event was written. `logical` maps column names to MariaDB data-type plugins.
 */
export function adaptTable(
	entry: ZongjiTableEntry,
	options: { mariadb: boolean; columnNames?: string[] | undefined; logical?: ReadonlyMap<string, LogicalType> },
): TableShape {
	const columns = entry.columns ?? [];
	const shapes: ColumnShape[] = [];
	const normalisers: Normaliser[] = [];
	const names: string[] = [];
	for (let i = 0; i < columns.length; i++) {
		const column = columns[i] as ZongjiColumn;
		const schema = entry.columnSchemas[i];
		const eventName = options.columnNames?.[i];
		if (eventName !== undefined && eventName !== column.name) {
			column.name = eventName;
			if (schema) schema.COLUMN_NAME = eventName;
		}
		// zongji reuses a cached entry for tables it reads from INFORMATION_SCHEMA: start from the
		// binlog's own type, not from a switch made for an earlier event
		column.binlogType ??= column.type;
		if (column.binlogCharset === undefined) column.binlogCharset = column.charset;
		const type = column.binlogType;
		column.type = type;
		column.charset = column.binlogCharset;
		const binary = column.charset === null || column.charset === "binary";
		const shape: ColumnShape = { name: column.name, type, binary: BINARY_TYPES.has(type) && binary };
		let normalise: Normaliser = identity;
		switch (type) {
			case MysqlType.GEOMETRY:
				// read the internal bytes (length-prefixed like a BLOB) instead of zongji's parsed points
				column.type = MysqlType.BLOB;
				column.charset = null;
				normalise = copyBuffer;
				shape.binary = true;
				break;
			case MysqlType.JSON:
				if (options.mariadb) break;
				column.type = MysqlType.BLOB;
				column.charset = null;
				normalise = jsonBinary;
				break;
			case MysqlType.YEAR:
				normalise = year;
				break;
			case MysqlType.ENUM:
				normalise = enumValue;
				break;
			case MysqlType.BIT:
				normalise = copyBuffer;
				break;
			case MysqlType.STRING: {
				const logical = options.mariadb ? options.logical?.get(column.name) : undefined;
				if (logical && schema && binary) {
					// zongji prints these from COLUMN_TYPE; the binlog metadata only says binary(n)
					schema.COLUMN_TYPE = logical;
					shape.logical = logical;
					shape.binary = false;
					break;
				}
				if (binary) normalise = copyBuffer;
				break;
			}
			default:
				if (shape.binary) normalise = copyBuffer;
		}
		shapes.push(shape);
		normalisers.push(normalise);
		names.push(column.name);
	}
	const count = names.length;
	return {
		columns: shapes,
		normalise(row: Record<string, unknown>): RowImage {
			for (let i = 0; i < count; i++) {
				const name = names[i] as string;
				row[name] = (normalisers[i] as Normaliser)(row[name]);
			}
			return row as RowImage;
		},
	};
}

/** Columns whose binlog type cannot tell a MariaDB UUID/INET4/INET6 from BINARY(n). */
export function mayBeLogical(shape: ZongjiColumn): boolean {
	const type = shape.binlogType ?? shape.type;
	const charset = shape.binlogCharset === undefined ? shape.charset : shape.binlogCharset;
	if (type !== MysqlType.STRING || (charset !== null && charset !== "binary")) return false;
	const width = shape.metadata?.max_length;
	return width === 16 || width === 4;
}
