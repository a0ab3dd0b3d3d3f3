import type { RowImage, Value } from "./change.ts";

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

/** MySQL column type codes as they appear in TABLE_MAP events. */
export const MysqlType = {
	DECIMAL: 0,
	TINY: 1,
	SHORT: 2,
	LONG: 3,
	FLOAT: 4,
	DOUBLE: 5,
	NULL: 6,
	TIMESTAMP: 7,
	LONGLONG: 8,
	INT24: 9,
	DATE: 10,
	TIME: 11,
	DATETIME: 12,
	YEAR: 13,
	NEWDATE: 14,
	VARCHAR: 15,
	BIT: 16,
	TIMESTAMP2: 17,
	DATETIME2: 18,
	TIME2: 19,
	BLOB_COMPRESSED: 140,
	VARCHAR_COMPRESSED: 141,
	JSON: 245,
	NEWDECIMAL: 246,
	ENUM: 247,
	SET: 248,
	TINY_BLOB: 249,
	MEDIUM_BLOB: 250,
	LONG_BLOB: 251,
	BLOB: 252,
	VAR_STRING: 253,
	STRING: 254,
	GEOMETRY: 255,
} as const;

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

// ---------------------------------------------------------------------------------------------
// MySQL binary JSON (sql-common/json_binary.h) printed as MySQL prints it (json_dom.cc,
// Json_wrapper::to_string): members in stored order (keys sorted by length, then bytes), ", "
// between elements, ": " after keys, doubles as my_gcvt prints them with ".0" added to integral
// values, DECIMAL unquoted, temporal values quoted with six fraction digits, other opaque values
// as "base64:typeNN:...".

const JSONB = {
	SMALL_OBJECT: 0x00,
	LARGE_OBJECT: 0x01,
	SMALL_ARRAY: 0x02,
	LARGE_ARRAY: 0x03,
	LITERAL: 0x04,
	INT16: 0x05,
	UINT16: 0x06,
	INT32: 0x07,
	UINT32: 0x08,
	INT64: 0x09,
	UINT64: 0x0a,
	DOUBLE: 0x0b,
	STRING: 0x0c,
	OPAQUE: 0x0f,
} as const;

export class JsonDecodeError extends Error {
	constructor(message: string) {
		super(`binary JSON value cannot be decoded: ${message}`);
		this.name = "JsonDecodeError";
	}
}

/** Prints a MySQL binary JSON document as the server's JSON text. */
export function jsonBinaryToText(buf: Buffer): string {
	if (buf.length < 1) throw new JsonDecodeError("empty document");
	const out: string[] = [];
	printValue(buf, buf[0] as number, 1, buf.length, out, 0);
	return out.join("");
}

function need(buf: Buffer, end: number, at: number, bytes: number): void {
	if (at < 0 || at + bytes > end || at + bytes > buf.length) {
		throw new JsonDecodeError(`${bytes} bytes needed at offset ${at}, document ends at ${end}`);
	}
}

function readVarLength(buf: Buffer, at: number, end: number): [number, number] {
	let length = 0;
	for (let i = 0; i < 5; i++) {
		need(buf, end, at + i, 1);
		const byte = buf[at + i] as number;
		length |= (byte & 0x7f) << (7 * i);
		if ((byte & 0x80) === 0) return [length >>> 0, i + 1];
	}
	throw new JsonDecodeError(`bad length at offset ${at}`);
}

/** Prints the value of type `type` whose data starts at `at` (containers: their header). */
function printValue(buf: Buffer, type: number, at: number, end: number, out: string[], depth: number): void {
	if (depth > 150) throw new JsonDecodeError("document nested too deeply");
	switch (type) {
		case JSONB.SMALL_OBJECT:
		case JSONB.LARGE_OBJECT:
			printContainer(buf, at, end, out, type === JSONB.LARGE_OBJECT, true, depth);
			return;
		case JSONB.SMALL_ARRAY:
		case JSONB.LARGE_ARRAY:
			printContainer(buf, at, end, out, type === JSONB.LARGE_ARRAY, false, depth);
			return;
		case JSONB.LITERAL:
			need(buf, end, at, 1);
			out.push(printLiteral(buf[at] as number));
			return;
		case JSONB.INT16:
			need(buf, end, at, 2);
			out.push(String(buf.readInt16LE(at)));
			return;
		case JSONB.UINT16:
			need(buf, end, at, 2);
			out.push(String(buf.readUInt16LE(at)));
			return;
		case JSONB.INT32:
			need(buf, end, at, 4);
			out.push(String(buf.readInt32LE(at)));
			return;
		case JSONB.UINT32:
			need(buf, end, at, 4);
			out.push(String(buf.readUInt32LE(at)));
			return;
		case JSONB.INT64:
			need(buf, end, at, 8);
			out.push(buf.readBigInt64LE(at).toString());
			return;
		case JSONB.UINT64:
			need(buf, end, at, 8);
			out.push(buf.readBigUInt64LE(at).toString());
			return;
		case JSONB.DOUBLE: {
			need(buf, end, at, 8);
			const text = formatDouble(buf.readDoubleLE(at));
			out.push(/[.e]/.test(text) ? text : `${text}.0`);
			return;
		}
		case JSONB.STRING: {
			const [length, size] = readVarLength(buf, at, end);
			need(buf, end, at + size, length);
			out.push(quoteJsonString(buf.toString("utf8", at + size, at + size + length)));
			return;
		}
		case JSONB.OPAQUE: {
			need(buf, end, at, 1);
			const fieldType = buf[at] as number;
			const [length, size] = readVarLength(buf, at + 1, end);
			const start = at + 1 + size;
			need(buf, end, start, length);
			out.push(printOpaque(fieldType, buf.subarray(start, start + length)));
			return;
		}
		default:
			throw new JsonDecodeError(`unknown value type 0x${type.toString(16)} at offset ${at - 1}`);
	}
}

function printLiteral(code: number): string {
	switch (code) {
		case 0:
			return "null";
		case 1:
			return "true";
		case 2:
			return "false";
		default:
			throw new JsonDecodeError(`unknown literal ${code}`);
	}
}

function printContainer(
	buf: Buffer,
	at: number,
	end: number,
	out: string[],
	large: boolean,
	object: boolean,
	depth: number,
): void {
	const w = large ? 4 : 2;
	const read = (p: number): number => {
		need(buf, end, p, w);
		return large ? buf.readUInt32LE(p) : buf.readUInt16LE(p);
	};
	const count = read(at);
	const size = read(at + w);
	const containerEnd = at + size;
	if (containerEnd > end) throw new JsonDecodeError(`container at offset ${at} overruns its parent`);
	const keyEntries = at + 2 * w;
	const valueEntries = keyEntries + (object ? count * (w + 2) : 0);
	out.push(object ? "{" : "[");
	for (let i = 0; i < count; i++) {
		if (i > 0) out.push(", ");
		if (object) {
			const entry = keyEntries + i * (w + 2);
			const keyOffset = read(entry);
			need(buf, containerEnd, entry + w, 2);
			const keyLength = buf.readUInt16LE(entry + w);
			need(buf, containerEnd, at + keyOffset, keyLength);
			out.push(quoteJsonString(buf.toString("utf8", at + keyOffset, at + keyOffset + keyLength)), ": ");
		}
		const entry = valueEntries + i * (1 + w);
		need(buf, containerEnd, entry, 1 + w);
		const type = buf[entry] as number;
		const inlined =
			type === JSONB.LITERAL ||
			type === JSONB.INT16 ||
			type === JSONB.UINT16 ||
			(large && (type === JSONB.INT32 || type === JSONB.UINT32));
		if (inlined) {
			printValue(buf, type, entry + 1, containerEnd, out, depth + 1);
		} else {
			printValue(buf, type, at + read(entry + 1), containerEnd, out, depth + 1);
		}
	}
	out.push(object ? "}" : "]");
}

/** JSON string quoting as MySQL's double_quote(): short escapes, other ASCII controls (and DEL) as \u00xx. */
export function quoteJsonString(s: string): string {
	let out = '"';
	let from = 0;
	for (let i = 0; i < s.length; i++) {
		const c = s.charCodeAt(i);
		if (c >= 0x20 && c !== 0x22 && c !== 0x5c && c !== 0x7f) continue;
		out += s.slice(from, i);
		from = i + 1;
		switch (c) {
			case 0x22:
				out += '\\"';
				break;
			case 0x5c:
				out += "\\\\";
				break;
			case 0x08:
				out += "\\b";
				break;
			case 0x0c:
				out += "\\f";
				break;
			case 0x0a:
				out += "\\n";
				break;
			case 0x0d:
				out += "\\r";
				break;
			case 0x09:
				out += "\\t";
				break;
			default:
				out += `\\u00${c.toString(16).padStart(2, "0")}`;
		}
	}
	return `${out}${s.slice(from)}"`;
}

/**
 * A double as MySQL's my_gcvt(x, MY_GCVT_ARG_DOUBLE, MY_GCVT_MAX_FIELD_WIDTH) prints it: the
 * shortest round-trip digits (dtoa mode 0, as JS), in fixed notation when the decimal exponent
 * is within [-14, 15] (or 16 with 17 digits), otherwise as 'd.ddde[-]N'.
 */
export function formatDouble(x: number): string {
	if (!Number.isFinite(x)) return "0";
	const negative = x < 0 || Object.is(x, -0);
	const [mantissa, exponent] = Math.abs(x).toExponential().split("e") as [string, string];
	const digits = mantissa.replace(".", "");
	const len = digits.length;
	const decpt = Number(exponent) + 1;
	const sign = negative ? "-" : "";
	if (x === 0) return `${sign}0`;
	const fixed = decpt >= -14 && (decpt <= 15 || len > decpt);
	if (fixed) {
		if (decpt <= 0) return `${sign}0.${"0".repeat(-decpt)}${digits}`;
		if (decpt < len) return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
		return `${sign}${digits}${"0".repeat(decpt - len)}`;
	}
	const e = decpt - 1;
	return `${sign}${digits[0]}${len > 1 ? `.${digits.slice(1)}` : ""}e${e < 0 ? "-" : ""}${Math.abs(e)}`;
}

function printOpaque(fieldType: number, data: Buffer): string {
	switch (fieldType) {
		case MysqlType.NEWDECIMAL: {
			if (data.length < 2) throw new JsonDecodeError("short DECIMAL value");
			return decimalBinaryToString(data.subarray(2), data[0] as number, data[1] as number);
		}
		case MysqlType.DATE:
		case MysqlType.DATETIME:
		case MysqlType.TIMESTAMP:
		case MysqlType.TIME:
			if (data.length < 8) throw new JsonDecodeError("short temporal value");
			return `"${packedTemporalToString(data.readBigInt64LE(0), fieldType)}"`;
		case MysqlType.VAR_STRING:
			return quoteJsonString(data.toString("utf8"));
		default:
			return quoteJsonString(`base64:type${fieldType}:${data.toString("base64")}`);
	}
}

const DIG2BYTES = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];

/**
 * A DECIMAL(precision, scale) in MySQL's binary format (strings/decimal.cc decimal2bin) as the
 * server prints it: no leading zeros, `scale` fraction digits.
 */
export function decimalBinaryToString(data: Buffer, precision: number, scale: number): string {
	const intg = precision - scale;
	const intg0 = Math.floor(intg / 9);
	const intg0x = intg % 9;
	const frac0 = Math.floor(scale / 9);
	const frac0x = scale % 9;
	const size = (DIG2BYTES[intg0x] as number) + intg0 * 4 + frac0 * 4 + (DIG2BYTES[frac0x] as number);
	if (data.length < size) throw new JsonDecodeError(`DECIMAL(${precision},${scale}) needs ${size} bytes`);
	const b = Buffer.from(data.subarray(0, size));
	const negative = ((b[0] as number) & 0x80) === 0;
	b[0] = (b[0] as number) ^ 0x80;
	if (negative) for (let i = 0; i < size; i++) b[i] = ~(b[i] as number) & 0xff;
	let p = 0;
	const take = (bytes: number): number => {
		const v = b.readUIntBE(p, bytes);
		p += bytes;
		return v;
	};
	let int = "";
	if (intg0x > 0) int += String(take(DIG2BYTES[intg0x] as number));
	for (let i = 0; i < intg0; i++) int += String(take(4)).padStart(9, "0");
	int = int.replace(/^0+/, "") || "0";
	let frac = "";
	for (let i = 0; i < frac0; i++) frac += String(take(4)).padStart(9, "0");
	if (frac0x > 0) frac += String(take(DIG2BYTES[frac0x] as number)).padStart(frac0x, "0");
	return `${negative ? "-" : ""}${int}${scale > 0 ? `.${frac}` : ""}`;
}

/** A packed temporal (my_time.cc TIME_to_longlong_*_packed) as my_TIME_to_str(.., 6) prints it. */
function packedTemporalToString(packed: bigint, fieldType: number): string {
	const negative = packed < 0n;
	const v = negative ? -packed : packed;
	const frac = Number(v % (1n << 24n));
	const intPart = v >> 24n;
	const two = (n: number): string => String(n).padStart(2, "0");
	const micro = `.${String(frac).padStart(6, "0")}`;
	if (fieldType === MysqlType.TIME) {
		const hms = Number(intPart);
		const hour = (hms >> 12) % (1 << 10);
		return `${negative ? "-" : ""}${two(hour)}:${two((hms >> 6) % 64)}:${two(hms % 64)}${micro}`;
	}
	const ymdhms = Number(intPart);
	const ymd = Math.floor(ymdhms / (1 << 17));
	const hms = ymdhms % (1 << 17);
	const ym = Math.floor(ymd / 32);
	const date = `${String(Math.floor(ym / 13)).padStart(4, "0")}-${two(ym % 13)}-${two(ymd % 32)}`;
	if (fieldType === MysqlType.DATE) return date;
	return `${date} ${two(hms >> 12)}:${two((hms >> 6) % 64)}:${two(hms % 64)}${micro}`;
}
