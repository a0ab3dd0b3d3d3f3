import type { RowDataPacket } from "mysql2";
import { type ColumnInfo, describeColumns, type Queryable } from "../copy/keys.ts";
import { describeTable, quoteId, quoteTable } from "../db/sql.ts";
import type { TableMapping, TableName } from "../model/rules.ts";

/**
 * How a column's value is normalised before hashing, so that equal-meaning values hash equal on
 * both servers and every real change hashes differently:
 * - integer, bit: the number's decimal text;
 * - decimal: the text without trailing fractional zeros (`1.50` = `1.5`, across scales);
 * - float: the stored single-precision value widened to a double (`col * 1e0`), never the
 *   6-digit text MariaDB prints for FLOAT; double: its shortest round-trip text;
 * - temporal: the server's text without trailing fractional zeros (across precisions);
 * - timestamp: seconds since the epoch (`UNIX_TIMESTAMP`), whatever the session time zone;
 * - string (CHAR, VARCHAR, TEXT, ENUM, SET, UUID, INET): the bytes of its utf8mb4 form, never
 *   collation-folded (`a` and `A` differ under a _ci collation; latin1 and utf8mb4 holding the
 *   same text are equal);
 * - binary (BINARY, VARBINARY, BLOB, spatial): the bytes;
 * - json: `JSON_NORMALIZE` (key order and whitespace), where the server has it.
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

const INTEGER = new Set(["tinyint", "smallint", "mediumint", "int", "integer", "bigint", "year"]);
const BINARY = new Set([
	"binary",
	"varbinary",
	"tinyblob",
	"blob",
	"mediumblob",
	"longblob",
	"geometry",
	"point",
	"linestring",
	"polygon",
	"multipoint",
	"multilinestring",
	"multipolygon",
	"geometrycollection",
]);

export function valueKind(column: ColumnInfo, json: boolean): ValueKind {
	const t = column.dataType;
	if (json || t === "json") return "json";
	if (INTEGER.has(t)) return "integer";
	if (t === "bit") return "bit";
	if (t === "decimal" || t === "numeric") return "decimal";
	if (t === "float") return "float";
	if (t === "double" || t === "real" || t === "double precision") return "double";
	if (t === "timestamp") return "timestamp";
	if (t === "date" || t === "datetime" || t === "time") return "temporal";
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

/** The normalised value of one column, as an expression over the column (NULL stays NULL). */
export function normalisedExpr(kind: ValueKind, column: ColumnInfo, features: ServerFeatures): string {
	const c = quoteId(column.name);
	switch (kind) {
		case "integer":
		case "double":
			return `CAST(${c} AS CHAR)`;
		case "bit":
			return `CAST(${c} + 0 AS CHAR)`;
		case "decimal":
			return (column.numericScale ?? 0) > 0 ? trimZeros(`CAST(${c} AS CHAR)`) : `CAST(${c} AS CHAR)`;
		case "float":
			return `CAST(${c} * 1e0 AS CHAR)`;
		case "temporal":
			return fraction(column) > 0 ? trimZeros(`CAST(${c} AS CHAR)`) : `CAST(${c} AS CHAR)`;
		case "timestamp": {
			// The zero timestamp has no epoch value: keep its text rather than turning it into NULL.
			const epoch = `IFNULL(CAST(UNIX_TIMESTAMP(${c}) AS CHAR), CAST(${c} AS CHAR))`;
			return fraction(column) > 0 ? trimZeros(epoch) : epoch;
		}
		case "string":
			// utf8mb4 text is already the bytes compared: skip the conversion (the row is binary anyway)
			return column.charset === "utf8mb4" ? c : `CAST(CONVERT(${c} USING utf8mb4) AS BINARY)`;
		case "binary":
			return `CAST(${c} AS BINARY)`;
		case "json": {
			const text = `CONVERT(${c} USING utf8mb4)`;
			if (features.jsonNormalize) return `CAST(IFNULL(JSON_NORMALIZE(${c}), ${text}) AS BINARY)`;
			if (features.mariadb) return `CAST(IFNULL(JSON_COMPACT(${c}), ${text}) AS BINARY)`;
			return `CAST(${text} AS BINARY)`;
		}
	}
}

/** A column's normalised value framed unambiguously: `<bytes>:<value>`, or `N` for NULL. */
export function itemExpr(normalised: string, kind?: ValueKind): string {
	// Numbers and temporal text never contain '|': ending them with it frames them without a length.
	if (kind && FIXED_TEXT.has(kind)) return `IFNULL(CONCAT(${normalised}, '|'), 'N')`;
	return `IFNULL(CONCAT(LENGTH(${normalised}), ':', ${normalised}), 'N')`;
}

const FIXED_TEXT = new Set<ValueKind>(["integer", "bit", "decimal", "float", "double", "temporal", "timestamp"]);

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
	mapping: TableMapping;
	source: SideSql;
	destination: SideSql;
	hash: HashMode;
}

export class VerifyError extends Error {
	constructor(
		message: string,
		readonly code: string,
	) {
		super(message);
		this.name = "VerifyError";
	}
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

function sideSql(
	side: "source" | "destination",
	table: TableName,
	mapping: TableMapping,
	d: Described,
	other: Described,
): SideSql {
	const columns: SideColumn[] = mapping.columns.map((m) => {
		const name = side === "source" ? m.source : m.destination;
		const otherName = side === "source" ? m.destination : m.source;
		const info = d.columns.get(name.toLowerCase());
		if (!info) {
			throw new VerifyError(
				`column ${name} of ${describeTable(table)} does not exist on the ${side}`,
				"COLUMN_MISSING",
			);
		}
		const otherInfo = other.columns.get(otherName.toLowerCase());
		// JSON on either side makes both sides compare as JSON (MySQL's JSON vs MariaDB's LONGTEXT).
		const json =
			d.json.has(name.toLowerCase()) ||
			info.dataType === "json" ||
			other.json.has(otherName.toLowerCase()) ||
			otherInfo?.dataType === "json";
		const kind = valueKind(info, json);
		return {
			source: m.source,
			name: info.name,
			info,
			kind,
			item: itemExpr(normalisedExpr(kind, info, d.features), kind),
		};
	});
	const out: SideSql = {
		side,
		table,
		columns,
		row: `CONCAT(${columns.map((c) => c.item).join(", ")})`,
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
		throw new VerifyError(`source table ${describeTable(mapping.source)} does not exist`, "TABLE_MISSING");
	if (d.columns.size === 0)
		throw new VerifyError(`destination table ${describeTable(mapping.destination)} does not exist`, "TABLE_MISSING");
	return {
		mapping,
		source: sideSql("source", mapping.source, mapping, s, d),
		destination: sideSql("destination", mapping.destination, mapping, d, s),
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
		throw new VerifyError(`${side} table ${describeTable(table)} does not exist`, "TABLE_MISSING");
	const mirrored: TableMapping = {
		...mapping,
		source: table,
		destination: table,
		columns: mapping.columns.map((c) => {
			const n = side === "source" ? c.source : c.destination;
			return { source: c.source, destination: n };
		}),
	};
	const sql = sideSql(side, table, side === "source" ? mapping : mirrored, d, d);
	if (side === "destination")
		sql.columns = sql.columns.map((c, i) => ({ ...c, source: mapping.columns[i]?.source ?? c.source }));
	return { mapping, source: sql, destination: sql, hash: d.features.crc32c ? "crc32c" : "md5" };
}

/** The two per-row hash expressions over a row expression. */
export function hashExprs(row: string, mode: HashMode): [string, string] {
	return [`CRC32(${row})`, mode === "crc32c" ? `CRC32C(${row})` : `CONV(LEFT(MD5(${row}), 15), 16, 10)`];
}

export function tableSql(side: SideSql): string {
	return quoteTable(side.table);
}
