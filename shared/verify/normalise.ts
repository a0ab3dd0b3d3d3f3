import type { RowDataPacket } from "mysql2";
import type { Queryable } from "../db/connect.ts";
import { type ColumnInfo, describeColumns } from "../db/introspect.ts";
import { qualifiedName, quoteId, quoteTable } from "../db/sql.ts";
import {
	BINARY_STRING_TYPES,
	DECIMAL_TYPES,
	DOUBLE_TYPES,
	INTEGER_TYPES,
	SPATIAL_TYPES,
	TEMPORAL_TYPES,
} from "../db/types.ts";
import { CodedError } from "../errors.ts";
import type { TableMapping, TableName } from "../model/rules.ts";
import { matchColumns } from "./columns.ts";

/**
 * How a column's value is normalised before hashing, so that equal-meaning values hash equal on
 * both servers and every real change hashes differently:
 * - integer, bit: the number's decimal text;
 * - decimal: the text without trailing fractional zeros (`1.50` = `1.5`, across scales), or the
 *   text as it is when both sides have the same scale;
 * - float: the stored single-precision value widened to a double (`col * 1e0`), never the
 *   6-digit text MariaDB prints for FLOAT; double: its shortest round-trip text;
 * - temporal: the server's text without trailing fractional zeros (across precisions), or as it
 *   is when both sides have the same precision;
 * - timestamp: seconds since the epoch (`UNIX_TIMESTAMP`), whatever the session time zone;
 * - string (CHAR, VARCHAR, TEXT, ENUM, SET, UUID, INET): the bytes of its utf8mb4 form, never
 *   collation-folded (`a` and `A` differ under a _ci collation; latin1 and utf8mb4 holding the
 *   same text are equal); UTF-8 columns as stored, and the stored bytes when both sides use the
 *   same other character set;
 * - binary (BINARY, VARBINARY, BLOB, spatial): the bytes;
 * - json: `JSON_NORMALIZE` (key order and whitespace), where the server has it.
 *
 * Shortcuts that depend on the other side's column type are only taken when both sides are
 * known (`prepareTable`); a side described alone (`prepareOneSide`) is always fully normalised.
 */
export type ValueKind =
	| "integer"
	| "bit"
	| "decimal"
	| "float"
	| "double"
	| "temporal"
	| "timestamp"
	| "string"
	| "binary"
	| "json";

/** The hash pair computed per row: CRC32 plus CRC32C (MariaDB 10.8+) or 60 bits of MD5. */
export type HashMode = "crc32c" | "md5";

/** Binary strings and spatial values: both compared as their bytes. */
const BINARY = new Set([...BINARY_STRING_TYPES, ...SPATIAL_TYPES]);

export function valueKind(column: ColumnInfo, json: boolean): ValueKind {
	const t = column.dataType;
	if (json || t === "json") return "json";
	if (INTEGER_TYPES.has(t)) return "integer";
	if (t === "bit") return "bit";
	if (DECIMAL_TYPES.has(t)) return "decimal";
	if (t === "float") return "float";
	if (DOUBLE_TYPES.has(t)) return "double";
	if (t === "timestamp") return "timestamp";
	if (TEMPORAL_TYPES.has(t)) return "temporal"; // timestamp is taken above
	if (BINARY.has(t)) return "binary";
	return "string";
}

/** The fractional-second digits of a temporal column type, e.g. 6 for `datetime(6)`. */
function fraction(column: ColumnInfo): number {
	const m = /\((\d+)\)/.exec(column.columnType);
	return m ? Number(m[1]) : 0;
}

function trimZeros(expr: string): string {
	return `TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM ${expr}))`;
}

/** What one side's server offers for normalisation. */
export interface ServerFeatures {
	mariadb: boolean;
	crc32c: boolean;
	jsonNormalize: boolean;
}

const featureCache = new WeakMap<object, Promise<ServerFeatures>>();

export function serverFeatures(conn: Queryable): Promise<ServerFeatures> {
	let f = featureCache.get(conn);
	if (!f) {
		f = (async () => {
			const [rows] = await conn.query<RowDataPacket[]>("SELECT VERSION() AS v");
			const version = String(rows[0]?.v ?? "");
			const mariadb = /mariadb/i.test(version);
			const probe = async (sql: string) => {
				try {
					await conn.query(sql);
					return true;
				} catch {
					return false;
				}
			};
			return {
				mariadb,
				crc32c: await probe("SELECT CRC32C('')"),
				jsonNormalize: await probe("SELECT JSON_NORMALIZE('{}')"),
			};
		})();
		featureCache.set(conn, f);
		f.catch(() => featureCache.delete(conn));
	}
	return f;
}

/** UTF-8 character sets: their stored bytes are already the utf8mb4 form. */
const UTF8 = new Set(["utf8mb4", "utf8mb3", "utf8"]);

/**
 * The normalised value of one column, as an expression over the column (NULL stays NULL).
 * `other` is the mapped column on the other side, when known: values stored identically on both
 * sides (the same decimal scale, the same fractional precision) are then not normalised, and a
 * string in the same non-UTF-8 character set on both sides is hashed as stored (see
 * `lengthFramed`).
 */
export function normalisedExpr(
	kind: ValueKind,
	column: ColumnInfo,
	features: ServerFeatures,
	other?: ColumnInfo | null,
): string {
	const c = quoteId(column.name);
	switch (kind) {
		case "integer":
		case "double":
			return c;
		case "bit":
			return `${c} + 0`;
		case "decimal": {
			const scale = column.numericScale ?? 0;
			const same = other && DECIMAL_TYPES.has(other.dataType);
			if (scale === 0 || (same && (other.numericScale ?? 0) === scale)) return c;
			return trimZeros(`CAST(${c} AS CHAR)`);
		}
		case "float":
			return `CAST(${c} * 1e0 AS CHAR)`;
		case "temporal": {
			// date, datetime and time keep the server's text; a timestamp on the other side is an epoch
			const same =
				other &&
				TEMPORAL_TYPES.has(other.dataType) &&
				other.dataType !== "timestamp" &&
				fraction(other) === fraction(column);
			return fraction(column) > 0 && !same ? trimZeros(`CAST(${c} AS CHAR)`) : c;
		}
		case "timestamp": {
			// The zero timestamp has no epoch value: keep its text rather than turning it into NULL.
			const epoch = `IFNULL(CAST(UNIX_TIMESTAMP(${c}) AS CHAR), CAST(${c} AS CHAR))`;
			const same = other?.dataType === "timestamp" && fraction(other) === fraction(column);
			return fraction(column) > 0 && !same ? trimZeros(epoch) : epoch;
		}
		case "string":
			// UTF-8 text is already the bytes compared, and so is text in the same character set on both sides
			if (UTF8.has(column.charset ?? "") || sameCharset(column, other)) return c;
			return `CONVERT(${c} USING utf8mb4)`;
		case "binary":
			// binary strings are their bytes already; spatial values are cast to theirs
			return BINARY_STRING_TYPES.has(column.dataType) ? c : `CAST(${c} AS BINARY)`;
		case "json": {
			const text = `CONVERT(${c} USING utf8mb4)`;
			if (features.jsonNormalize) return `IFNULL(JSON_NORMALIZE(${c}), ${text})`;
			if (features.mariadb) return `IFNULL(JSON_COMPACT(${c}), ${text})`;
			return text;
		}
	}
}

/** Both sides hold a string column in the same character set, other than UTF-8. */
function sameCharset(column: ColumnInfo, other: ColumnInfo | null | undefined): boolean {
	return (
		!!other &&
		!!column.charset &&
		!UTF8.has(column.charset) &&
		other.charset === column.charset &&
		valueKind(other, false) === "string"
	);
}

/**
 * Whether a mapped column's value is framed by its length rather than ended by the row
 * separator: bytes that may hold any byte (binary, or text in a character set other than UTF-8)
 * are; the text of numbers, temporal values and UTF-8 text never holds the bytes 0xFE and 0xFF
 * (they are not UTF-8) and is not. The same for both sides of a mapped column.
 */
export function lengthFramed(
	kind: ValueKind,
	otherKind: ValueKind | null,
	column: ColumnInfo,
	other?: ColumnInfo | null,
): boolean {
	if (kind === "binary" || otherKind === "binary") return true;
	return kind === "string" && sameCharset(column, other);
}

/** The row separator, and the item of a NULL value: bytes no UTF-8 text holds (binary strings). */
const SEPARATOR = "CHAR(255)";
const NULL_ITEM = "CHAR(254)";

/**
 * A column's normalised value framed unambiguously within a row (see `rowExpr`): the value's
 * text, or `<bytes>:<value>` for length-framed values, or the byte 0xFE for NULL (never a
 * value's item: not UTF-8, and length-framed items start with a digit). A column declared
 * NOT NULL needs no NULL check.
 */
export function itemExpr(normalised: string, framed = true, nullable = true): string {
	const value = framed ? `CONCAT(LENGTH(${normalised}), ':', ${normalised})` : normalised;
	return nullable ? `IFNULL(${value}, ${NULL_ITEM})` : value;
}

/**
 * A row's normalised bytes: its items joined by the byte 0xFF. The result is a binary string
 * (the separator is one), so the bytes hashed are the items' own, whatever the columns' character
 * sets. Unambiguous: no unframed item holds 0xFF, a framed one says its length first.
 */
export function rowExpr(items: string[]): string {
	return `CONCAT_WS(${SEPARATOR}, ${items.join(", ")})`;
}

/** One column of a mapped table on one side. */
export interface SideColumn {
	/** Source column name (what differences are reported in). */
	source: string;
	/** This side's column name. */
	name: string;
	info: ColumnInfo;
	kind: ValueKind;
	/** The framed, normalised value (never NULL). */
	item: string;
}

/** Everything needed to hash or read one side of a mapped table. */
export interface SideSql {
	side: "source" | "destination";
	table: TableName;
	columns: SideColumn[];
	/** The row's normalised bytes: the concatenation of the column items. */
	row: string;
	/** The row filter (source side only). */
	filter?: string;
	features: ServerFeatures;
}

/** Both sides of a mapped table, with the hash both servers can compute. */
export interface PreparedTable {
	/** The columns compared: those both ends have now (columns.ts `matchColumns`). */
	mapping: TableMapping;
	/** Columns at one end only (source names, destination names), which are not compared. */
	unmatched: { source: string[]; destination: string[] };
	source: SideSql;
	destination: SideSql;
	hash: HashMode;
}

export class VerifyError extends CodedError {
	override readonly name = "VerifyError";
}

async function jsonColumns(conn: Queryable, table: TableName): Promise<Set<string>> {
	try {
		const [rows] = await conn.query<RowDataPacket[]>(
			"SELECT CHECK_CLAUSE AS clause FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?",
			[table.database, table.table],
		);
		const out = new Set<string>();
		for (const r of rows) {
			const m = /^json_valid\(`((?:[^`]|``)+)`\)$/i.exec(String(r.clause).trim());
			if (m?.[1]) out.add(m[1].replaceAll("``", "`").toLowerCase());
		}
		return out;
	} catch {
		return new Set(); // MySQL before 8.0.16 has no CHECK_CONSTRAINTS; its JSON type says so itself
	}
}

interface Described {
	columns: Map<string, ColumnInfo>;
	json: Set<string>;
	features: ServerFeatures;
}

async function describeSide(conn: Queryable, table: TableName): Promise<Described> {
	const [columns, json, features] = await Promise.all([
		describeColumns(conn, table),
		jsonColumns(conn, table),
		serverFeatures(conn),
	]);
	return { columns: new Map(columns.map((c) => [c.name.toLowerCase(), c])), json, features };
}

/**
 * One side's SQL. `other` is the other side, or null when it is not known (`prepareOneSide`):
 * then nothing is left out of normalisation, so that two sides described alone still compare.
 */
function sideSql(
	side: "source" | "destination",
	table: TableName,
	mapping: TableMapping,
	d: Described,
	other: Described | null,
): SideSql {
	const columns: SideColumn[] = mapping.columns.map((m) => {
		const name = side === "source" ? m.source : m.destination;
		const otherName = (side === "source" ? m.destination : m.source).toLowerCase();
		const info = d.columns.get(name.toLowerCase());
		if (!info) {
			throw new VerifyError(
				`column ${name} of ${qualifiedName(table)} does not exist on the ${side}`,
				"COLUMN_MISSING",
			);
		}
		const otherInfo = other?.columns.get(otherName) ?? null;
		// JSON on either side makes both sides compare as JSON (MySQL's JSON vs MariaDB's LONGTEXT).
		const json =
			d.json.has(name.toLowerCase()) ||
			info.dataType === "json" ||
			!!other?.json.has(otherName) ||
			otherInfo?.dataType === "json";
		const kind = valueKind(info, json);
		const otherKind = otherInfo ? valueKind(otherInfo, json) : null;
		const value = normalisedExpr(kind, info, d.features, otherInfo);
		// A side described alone frames every value by its length, whatever the other side's type.
		const framed = other ? lengthFramed(kind, otherKind, info, otherInfo) : true;
		return {
			source: m.source,
			name: info.name,
			info,
			kind,
			item: itemExpr(value, framed, info.nullable),
		};
	});
	const out: SideSql = {
		side,
		table,
		columns,
		row: rowExpr(columns.map((c) => c.item)),
		features: d.features,
	};
	if (side === "source" && mapping.where?.trim()) out.filter = mapping.where;
	return out;
}

/** Describes both sides of a mapped table once (columns, JSON columns, server features). */
export async function prepareTable(
	source: Queryable,
	destination: Queryable,
	mapping: TableMapping,
): Promise<PreparedTable> {
	const [s, d] = await Promise.all([
		describeSide(source, mapping.source),
		describeSide(destination, mapping.destination),
	]);
	if (s.columns.size === 0)
		throw new VerifyError(`source table ${qualifiedName(mapping.source)} does not exist`, "TABLE_MISSING");
	if (d.columns.size === 0)
		throw new VerifyError(`destination table ${qualifiedName(mapping.destination)} does not exist`, "TABLE_MISSING");
	const names = (x: Described) => [...x.columns.values()].map((c) => c.name);
	const matched = matchColumns(mapping, names(s), names(d));
	if (matched.compared.length === 0) {
		throw new VerifyError(
			`${qualifiedName(mapping.source)} and ${qualifiedName(mapping.destination)} have no column in common`,
			"COLUMN_MISSING",
		);
	}
	const compared: TableMapping = { ...mapping, columns: matched.compared };
	return {
		mapping: compared,
		unmatched: { source: matched.sourceOnly, destination: matched.destinationOnly },
		source: sideSql("source", mapping.source, compared, s, d),
		destination: sideSql("destination", mapping.destination, compared, d, s),
		hash: s.features.crc32c && d.features.crc32c ? "crc32c" : "md5",
	};
}

/**
 * Describes one side only (for checksumming a side on its own): JSON-ness is then judged from
 * this side alone, and the hash pair from this server alone.
 */
export async function prepareOneSide(
	conn: Queryable,
	side: "source" | "destination",
	mapping: TableMapping,
): Promise<PreparedTable> {
	const table = side === "source" ? mapping.source : mapping.destination;
	const d = await describeSide(conn, table);
	if (d.columns.size === 0)
		throw new VerifyError(`${side} table ${qualifiedName(table)} does not exist`, "TABLE_MISSING");
	const mirrored: TableMapping = {
		...mapping,
		source: table,
		destination: table,
		columns: mapping.columns.map((c) => {
			const n = side === "source" ? c.source : c.destination;
			return { source: c.source, destination: n };
		}),
	};
	const sql = sideSql(side, table, side === "source" ? mapping : mirrored, d, null);
	if (side === "destination")
		sql.columns = sql.columns.map((c, i) => ({ ...c, source: mapping.columns[i]?.source ?? c.source }));
	const unmatched = { source: [], destination: [] };
	return { mapping, unmatched, source: sql, destination: sql, hash: d.features.crc32c ? "crc32c" : "md5" };
}

/** The two per-row hash expressions over a row expression. */
export function hashExprs(row: string, mode: HashMode): [string, string] {
	return [`CRC32(${row})`, mode === "crc32c" ? `CRC32C(${row})` : `CONV(LEFT(MD5(${row}), 15), 16, 10)`];
}

/**
 * The two hash expressions as numbers to sum: MD5's hex digits are text, which SUM would add as
 * doubles (53 bits), so they are cast to an integer first and summed exactly.
 */
export function summableHashExprs(row: string, mode: HashMode): [string, string] {
	const [h1, h2] = hashExprs(row, mode);
	return [h1, mode === "md5" ? `CAST(${h2} AS UNSIGNED)` : h2];
}

export function tableSql(side: SideSql): string {
	return quoteTable(side.table);
}
