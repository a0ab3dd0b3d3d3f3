import type { Value } from "../capture/change.ts";
import type { ColumnInfo } from "../db/introspect.ts";
import { BINARY_STRING_TYPES, SPATIAL_TYPES } from "../db/types.ts";
import { fromTwosComplement, scaledText } from "../sinks/formats/debezium-values.ts";
import { isUnsigned, typeArgs } from "../sinks/formats/values.ts";
import { FeedFormatError } from "./event.ts";
import { exactInteger } from "./ferry-values.ts";

/*
 * Ferry's Debezium column values (shared/sinks/formats/debezium-values.ts) back into capture's
 * (shared/capture/change.ts `Value`). Without schemas the message says nothing of a value's type,
 * so the column decides: DATE days since the epoch, TIME microseconds, DATETIME epoch ms (0-3
 * fraction digits) or µs, TIMESTAMP an ISO string in UTC, DECIMAL and BIGINT UNSIGNED
 * base64 two's complement (decimal.handling.mode=precise, the only mode Ferry writes), binary
 * base64, BIT(1) a boolean, BIT(n) little-endian bytes, spatial values {wkb, srid}. Temporal text
 * gets the column's own fraction digits, as capture gives it.
 *
 * What cannot come back: a zero or partly zero DATE/DATETIME was sent as null (nullable column)
 * or as the column's default or the epoch (NOT NULL), and a snapshot's zero TIMESTAMP in a
 * nullable column as null; JsonConverter writes a NULL of a column with a literal default as that
 * default. A streamed zero TIMESTAMP was sent as the epoch, which no TIMESTAMP holds (its range
 * starts a second later), so it reads back as zero.
 */

const MICROS_PER_DAY = 86_400_000_000n;

function pad(n: number | bigint, width: number): string {
	return String(n).padStart(width, "0");
}

/** 'YYYY-MM-DD' of a day count since the epoch, proleptic Gregorian. */
function dateOfDays(days: number): string {
	const d = new Date(days * 86_400_000);
	return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}`;
}

/** '.ffffff' cut to `digits` ('' for none) of the microseconds below a second. */
function fraction(micros: bigint, digits: number): string {
	return digits === 0 ? "" : `.${pad(micros, 6).slice(0, digits)}`;
}

/** '[-]HH:MM:SS[.f]' of a MicroTime. */
function timeText(micros: bigint, digits: number): string {
	const abs = micros < 0n ? -micros : micros;
	const s = abs / 1_000_000n;
	const hms = `${pad(s / 3600n, 2)}:${pad((s / 60n) % 60n, 2)}:${pad(s % 60n, 2)}`;
	return `${micros < 0n ? "-" : ""}${hms}${fraction(abs % 1_000_000n, digits)}`;
}

/** 'YYYY-MM-DD HH:MM:SS[.f]' of epoch microseconds. */
function datetimeText(micros: bigint, digits: number): string {
	let days = micros / MICROS_PER_DAY;
	let rest = micros % MICROS_PER_DAY;
	if (rest < 0n) {
		days -= 1n;
		rest += MICROS_PER_DAY;
	}
	return `${dateOfDays(Number(days))} ${timeText(rest, digits)}`;
}

const ZONED = /^(\d{4,})-(\d\d)-(\d\d)T(\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/;

/**
 * A ZonedTimestamp ('2024-02-29T10:00:00.5Z': streamed rows with the column's fraction digits,
 * snapshot rows with the significant ones) as capture's UTC text; the epoch is the zero TIMESTAMP.
 */
function timestampText(iso: string, digits: number): string {
	const m = ZONED.exec(iso);
	if (!m) throw new FeedFormatError(`'${iso}' is not a ZonedTimestamp in UTC`);
	const shown = (m[5] ?? "").padEnd(digits, "0").slice(0, digits);
	const epoch = m[1] === "1970" && m[2] === "01" && m[3] === "01" && m[4] === "00:00:00" && !/[1-9]/.test(m[5] ?? "");
	const text = epoch ? "0000-00-00 00:00:00" : `${m[1]}-${m[2]}-${m[3]} ${m[4]}`;
	return digits === 0 ? text : `${text}.${shown}`;
}

function bytes(value: unknown): Buffer {
	if (typeof value !== "string") throw new FeedFormatError(`expected base64 bytes, got ${JSON.stringify(value)}`);
	return Buffer.from(value, "base64");
}

function integer(value: unknown): number | bigint {
	if (typeof value === "number" || typeof value === "bigint") return value;
	throw new FeedFormatError(`expected an integer, got ${JSON.stringify(value)}`);
}

/** Debezium's Geometry/Point struct as MariaDB stores the value: 4-byte little-endian SRID, then WKB. */
function geometry(value: unknown): Buffer {
	const { wkb, srid } = value as { wkb?: unknown; srid?: unknown };
	const prefix = Buffer.alloc(4);
	prefix.writeInt32LE(typeof srid === "number" ? srid : 0);
	return Buffer.concat([prefix, bytes(wkb)]);
}

/** One column's value of Ferry's Debezium message (never null) as capture's. */
export function connectValue(value: unknown, column: ColumnInfo): Value {
	const [length, scale] = typeArgs(column);
	const type = column.dataType;
	if (BINARY_STRING_TYPES.has(type)) return bytes(value);
	if (SPATIAL_TYPES.has(type)) return geometry(value);
	switch (type) {
		case "tinyint":
		case "smallint":
		case "mediumint":
		case "int":
		case "integer":
			return exactInteger(integer(value));
		case "bigint":
			return exactInteger(isUnsigned(column) ? fromTwosComplement(bytes(value)) : integer(value));
		case "decimal":
		case "numeric":
			return scaledText(fromTwosComplement(bytes(value)), column.numericScale ?? scale ?? 0);
		case "float":
			// FLOAT's single read back from the shortest digits that name it (Float.toString)
			return Math.fround(Number(value));
		case "double":
		case "real":
		case "year":
			return Number(value);
		case "bit":
			if ((length ?? 1) <= 1) return Buffer.from([value === true ? 1 : 0]);
			return bytes(value).reverse();
		case "date":
			return dateOfDays(Number(integer(value)));
		case "time":
			return timeText(BigInt(integer(value)), length ?? 0);
		case "datetime": {
			const digits = length ?? 0;
			const micros = BigInt(integer(value)) * (digits <= 3 ? 1000n : 1n);
			return datetimeText(micros, digits);
		}
		case "timestamp":
			return timestampText(String(value), length ?? 0);
		default:
			// CHAR/VARCHAR/TEXT, ENUM, SET, JSON, UUID, INET4/INET6 and what else is text
			return typeof value === "string" ? value : JSON.stringify(value);
	}
}

interface SchemaJson {
	type?: string;
	name?: string;
	field?: string;
	parameters?: Record<string, string>;
	fields?: SchemaJson[];
}

/** The column type a Connect field schema stands for: enough to read its values back as `connectValue` does. */
function columnTypeOf(schema: SchemaJson): string {
	const p = schema.parameters ?? {};
	switch (schema.name) {
		case "org.apache.kafka.connect.data.Decimal":
			return `decimal(${p["connect.decimal.precision"] ?? 65},${p.scale ?? 0})`;
		case "io.debezium.time.Date":
			return "date";
		case "io.debezium.time.MicroTime":
			return "time(6)";
		case "io.debezium.time.Timestamp":
			return "datetime(3)";
		case "io.debezium.time.MicroTimestamp":
			return "datetime(6)";
		case "io.debezium.time.ZonedTimestamp":
			return "timestamp(6)";
		case "io.debezium.time.Year":
			return "year";
		case "io.debezium.data.Bits":
			return `bit(${p.length ?? 1})`;
		case "io.debezium.data.geometry.Geometry":
		case "io.debezium.data.geometry.Point":
			return "geometry";
	}
	switch (schema.type) {
		case "boolean":
			return "bit(1)";
		case "int8":
		case "int16":
		case "int32":
		case "int64":
			return "bigint";
		case "float":
			return "float";
		case "double":
			return "double";
		case "bytes":
			return "longblob";
		default:
			return "longtext";
	}
}

/**
 * The column types an envelope schema states for the row's columns (messages with schemas), from
 * its `after` (or `before`) struct; undefined without a schema.
 */
export function schemaTypes(envelope: unknown): Record<string, string> | undefined {
	const fields = (envelope as SchemaJson | undefined)?.fields;
	const row = fields?.find((f) => f.field === "after") ?? fields?.find((f) => f.field === "before");
	if (!row?.fields) return undefined;
	return Object.fromEntries(row.fields.map((f) => [f.field as string, columnTypeOf(f)]));
}
