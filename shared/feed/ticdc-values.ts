import type { RowImage, Value } from "../capture/change.ts";
import type { ColumnInfo } from "../db/introspect.ts";
import { BINARY_STRING_TYPES, DECIMAL_TYPES, DOUBLE_TYPES, INTEGER_TYPES } from "../db/types.ts";
import { members } from "../sinks/formats/values.ts";
import { FeedFormatError, type RawImage } from "./event.ts";

/*
 * TiCDC's column values into capture's (shared/capture/change.ts `Value`), so a row replayed from
 * TiCDC is written exactly as one captured from a binlog. TiCDC takes each value from TiDB's datum
 * (tiflow cdc/entry/mounter.go formatColVal):
 *
 * | column type                        | TiCDC's value                               | capture's Value                       |
 * |------------------------------------|---------------------------------------------|---------------------------------------|
 * | tinyint .. bigint (unsigned)       | integer                                     | number within 2^53, else decimal text |
 * | year                               | integer                                     | number                                |
 * | decimal                            | TiDB's text                                 | exact text, the column's scale        |
 * | float / double                     | float32 / float64                           | number (FLOAT: its float32 value)     |
 * | bit(M)                             | unsigned integer                            | Buffer, (M+7)>>3 bytes big-endian     |
 * | enum / set                         | 1-based index / bitmask                     | member text / 'a,b' ('' for index 0)  |
 * | date, datetime, time               | TiDB's text                                 | text, the column's fraction digits    |
 * | timestamp                          | text in the changefeed's time zone          | text in UTC                           |
 * | char, varchar, text, json          | bytes (json: TiDB's text)                   | string                                |
 * | binary, varbinary, blob            | bytes                                       | Buffer                                |
 *
 * Each format first undoes its own transport encoding (canal-json: everything as text, binary as
 * ISO-8859-1; open-protocol: JSON numbers, base64, Go quoting) into a TicdcDatum; this module
 * then shapes the datum by the column. A column the source table lacks is shaped by the type the
 * message states for it, which may lack its parameters (canal-json's "datetime", "enum"): its
 * fraction digits are then left as sent and ENUM/SET stay numbers (MySQL reads a number written
 * to an ENUM or SET column as the index or bitmask, so replay still writes the same member).
 */

/** A column value once its format's transport encoding is undone. */
export type TicdcDatum = string | number | bigint | Buffer | null;

/** What a value's conversion needs to know of its column. Undefined: not known, the value is kept as sent. */
interface Shape {
	type: string;
	fsp?: number;
	scale?: number;
	bytes?: number;
	members?: readonly string[];
}

/** A type's base name: `tinyint unsigned` -> `tinyint`, `decimal(10,2)` -> `decimal`. */
export function baseType(type: string): string {
	return /^[a-z]*/i.exec(type.trim())?.[0]?.toLowerCase() ?? "";
}

/**
 * A column's shape from its type. `complete`: the type is information_schema's, where a missing
 * parameter means its default (DATETIME is DATETIME(0)); a message's type may simply omit it.
 */
function shapeOf(type: string, columnType: string, complete: boolean, scale: number | null): Shape {
	const args = /^[a-z ]+\(([\d,\s]+)\)/i.exec(columnType)?.[1];
	const first = args === undefined ? undefined : Number(args.split(",")[0]);
	switch (type) {
		case "datetime":
		case "timestamp":
		case "time":
			return { type, fsp: first ?? (complete ? 0 : undefined) };
		case "decimal":
		case "numeric": {
			const stated = args === undefined ? undefined : Number(args.split(",")[1] ?? 0);
			return { type, scale: complete ? (scale ?? stated ?? 0) : stated };
		}
		case "bit":
			return { type, bytes: first === undefined ? undefined : (first + 7) >> 3 };
		default:
			return { type };
	}
}

const columnShapes = new WeakMap<ColumnInfo, Shape>();
const messageShapes = new Map<string, Shape>();

function shapeOfColumn(column: ColumnInfo): Shape {
	let shape = columnShapes.get(column);
	if (!shape) {
		shape = shapeOf(column.dataType, column.columnType, true, column.numericScale);
		if (shape.type === "enum" || shape.type === "set") shape.members = members(column);
		columnShapes.set(column, shape);
	}
	return shape;
}

function shapeOfMessageType(type: string): Shape {
	let shape = messageShapes.get(type);
	if (!shape) {
		shape = shapeOf(baseType(type), type, false, null);
		messageShapes.set(type, shape);
	}
	return shape;
}

const UNTYPED: Shape = { type: "" };
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function text(datum: Exclude<TicdcDatum, null>): string {
	return Buffer.isBuffer(datum) ? datum.toString("utf8") : String(datum);
}

function integer(datum: Exclude<TicdcDatum, null>): number | string {
	const n = typeof datum === "bigint" ? datum : BigInt(text(datum));
	return n >= MIN_SAFE && n <= MAX_SAFE ? Number(n) : n.toString();
}

/** `digits` fraction digits exactly: the text as sent when not known. */
function withFraction(value: string, digits: number | undefined): string {
	if (digits === undefined) return value;
	const dot = value.indexOf(".");
	const whole = dot < 0 ? value : value.slice(0, dot);
	if (digits === 0) return whole;
	const fraction = dot < 0 ? "" : value.slice(dot + 1);
	return `${whole}.${fraction.padEnd(digits, "0").slice(0, digits)}`;
}

function bits(value: bigint, bytes: number | undefined): Buffer {
	const hex = value.toString(16);
	const width = Math.max(bytes ?? 1, Math.ceil(hex.length / 2));
	return Buffer.from(hex.padStart(width * 2, "0"), "hex");
}

function enumMember(index: number, list: readonly string[] | undefined): Value {
	if (list === undefined) return index;
	if (index === 0) return "";
	const member = list[index - 1];
	if (member === undefined) throw new Error(`ENUM index ${index} is past the column's ${list.length} members`);
	return member;
}

function setMembers(mask: bigint, list: readonly string[] | undefined): Value {
	if (list === undefined) return integer(mask);
	if (mask >> BigInt(list.length) !== 0n)
		throw new Error(`SET bitmask ${mask} names more than the column's ${list.length} members`);
	return list.filter((_, i) => (mask >> BigInt(i)) & 1n).join(",");
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d+)?$/;

/**
 * TIMESTAMP text in `timeZone` (an IANA name or an offset such as "+08:00") into UTC; the zero
 * TIMESTAMP stays zero. A wall time a daylight-saving change makes ambiguous (it names two
 * instants) is read as one of them: the changefeed's text cannot tell which. Throws a RangeError
 * for a zone Intl does not know.
 */
export function utcFromZone(timeZone: string): (local: string) => string {
	const format = new Intl.DateTimeFormat("en-US", {
		timeZone,
		hourCycle: "h23",
		year: "numeric",
		month: "numeric",
		day: "numeric",
		hour: "numeric",
		minute: "numeric",
		second: "numeric",
	});
	if (format.resolvedOptions().timeZone === "UTC") return (local) => local;
	const offsetAt = (instant: number): number => {
		const part: Record<string, number> = {};
		for (const p of format.formatToParts(instant)) part[p.type] = Number(p.value);
		const wall = Date.UTC(part.year ?? 0, (part.month ?? 1) - 1, part.day, part.hour, part.minute, part.second);
		return wall - instant;
	};
	return (local) => {
		const m = TIMESTAMP.exec(local);
		if (!m) throw new Error(`'${local}' is not a TIMESTAMP value`);
		if (local.startsWith("0000-00-00")) return local;
		const [, y, mo, d, h, mi, s, fraction] = m;
		const wall = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
		const utc = wall - offsetAt(wall - offsetAt(wall));
		const iso = new Date(utc).toISOString();
		return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction ?? ""}`;
	};
}

export type TicdcConverter = (datum: TicdcDatum, shape: Shape) => Value;

/** Shapes datums into capture's values; TIMESTAMPs are read in `timeZone`, the changefeed's. */
export function ticdcConverter(timeZone: string): TicdcConverter {
	const toUtc = utcFromZone(timeZone);
	return (datum, shape) => {
		if (datum === null) return null;
		const type = shape.type;
		if (type === "year") return Number(text(datum));
		if (INTEGER_TYPES.has(type)) return integer(datum);
		if (DECIMAL_TYPES.has(type)) return withFraction(text(datum), shape.scale);
		if (type === "float") return Math.fround(Number(text(datum)));
		if (DOUBLE_TYPES.has(type)) return Number(text(datum));
		if (type === "bit") return bits(BigInt(text(datum)), shape.bytes);
		if (type === "enum") return enumMember(Number(text(datum)), shape.members);
		if (type === "set") return setMembers(BigInt(text(datum)), shape.members);
		if (type === "datetime" || type === "time") return withFraction(text(datum), shape.fsp);
		if (type === "timestamp") return withFraction(toUtc(text(datum)), shape.fsp);
		if (BINARY_STRING_TYPES.has(type)) return Buffer.isBuffer(datum) ? datum : Buffer.from(text(datum), "utf8");
		return typeof datum === "string" ? datum : text(datum);
	};
}

/**
 * A row image of a TiCDC message into capture's values: the source table's columns in ordinal
 * order, then any the table lacks, shaped by the message's `types`. `datum` undoes the format's
 * transport encoding, by the message's type for the column (the table's own when it states none).
 */
export function ticdcImage(
	raw: RawImage,
	columns: readonly ColumnInfo[],
	types: Record<string, string> | undefined,
	datum: (value: unknown, type: string) => TicdcDatum,
	convert: TicdcConverter,
): RowImage {
	const image: RowImage = {};
	const known = new Set<string>();
	const put = (name: string, shape: Shape, type: string): void => {
		const value = raw[name];
		try {
			image[name] = convert(datum(value, type), shape);
		} catch (e) {
			const shown = typeof value === "bigint" ? value.toString() : JSON.stringify(value);
			throw new FeedFormatError(`column '${name}' (${type || "no type"}): cannot read ${shown}: ${e}`);
		}
	};
	for (const column of columns) {
		if (!Object.hasOwn(raw, column.name)) continue;
		known.add(column.name);
		put(column.name, shapeOfColumn(column), types?.[column.name] ?? column.columnType);
	}
	for (const name of Object.keys(raw)) {
		if (known.has(name)) continue;
		const type = types?.[name];
		put(name, type === undefined ? UNTYPED : shapeOfMessageType(type), type ?? "");
	}
	return image;
}
