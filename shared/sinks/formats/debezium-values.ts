import type { Value } from "../../capture/change.ts";
import type { ColumnInfo } from "../../db/introspect.ts";
import type { ConnectSchema, ConnectStruct, ConnectValue } from "./debezium-schema.ts";
import { bigDecimalText } from "./maxwell-values.ts";
import { isUnsigned, javaNumber, members, typeArgs } from "./values.ts";

/*
 * Column values the way Debezium 3.5's MariaDB connector converts binlog values (its
 * BinlogValueConverters / MariaDbValueConverters / JdbcValueConverters), in these connector modes:
 *
 *   time.precision.mode=adaptive_time_microseconds (default): DATE io.debezium.time.Date (days),
 *     TIME io.debezium.time.MicroTime, DATETIME(0-3) io.debezium.time.Timestamp (ms),
 *     DATETIME(4-6) io.debezium.time.MicroTimestamp, TIMESTAMP io.debezium.time.ZonedTimestamp
 *     (UTC); zero dates become null (a NOT NULL column gets its default, else the epoch). Streamed
 *     TIMESTAMPs have the column's fraction digits and zero is the epoch; snapshot rows, which
 *     Debezium reads over JDBC, have the significant digits only and zero is null
 *   decimal.handling.mode=precise (default): org.apache.kafka.connect.data.Decimal bytes
 *   bigint.unsigned.handling.mode=precise (not the default "long", which sends 2^64-1 as -1)
 *   binary.handling.mode=bytes (default): base64 in JSON; BINARY(n) right-padded with 0x00
 *   enable.time.adjuster=false (the default "true" turns years 0-99 into 19xx/20xx)
 *
 * Integers follow the connector's JDBC mapping: TINYINT and SMALLINT INT16, SMALLINT UNSIGNED,
 * MEDIUMINT and INT INT32, INT UNSIGNED and BIGINT INT64. BIT(1) is a boolean, BIT(n) io.debezium.data.Bits
 * (little-endian bytes). ENUM/SET io.debezium.data.Enum/EnumSet, UUID io.debezium.data.Uuid,
 * GEOMETRY io.debezium.data.geometry.Geometry/Point ({wkb, srid}), MariaDB's JSON (a LONGTEXT) a string.
 *
 * Where Ferry knowingly differs (Debezium bugs, not modes): a MariaDB UUID is sent as stored
 * (Debezium 3.5 shifts its bytes by one in streaming); YEAR 0 is 0 (Debezium streams 1900,
 * snapshots 2000); INET4/INET6 are strings (Debezium's DDL parser rejects those tables).
 */

export interface ColumnCodec {
	/** The field schema: optional when the column is nullable, its comment as doc, its default. */
	schema: ConnectSchema;
	/** `read`: the value comes from a snapshot row (op "r"). */
	encode(value: Value, read?: boolean): ConnectValue;
}

/** `read`: a snapshot row, which Debezium reads over JDBC rather than from the binlog. */
type Encoder = (value: Value | string, column: ColumnInfo, read?: boolean) => ConnectValue;

// Decimals -----------------------------------------------------------------------------------

/** BigInteger.toByteArray: the minimal big-endian two's-complement bytes (at least one). */
export function twosComplement(n: bigint): Buffer {
	let bytes = 1;
	while (n >= 1n << BigInt(8 * bytes - 1) || n < -(1n << BigInt(8 * bytes - 1))) bytes++;
	const raw = n < 0n ? (1n << BigInt(8 * bytes)) + n : n;
	return Buffer.from(raw.toString(16).padStart(bytes * 2, "0"), "hex");
}

/** The unscaled value of a decimal string at `scale` digits ("-1.5", 2 -> -150n). */
export function unscaled(text: string, scale: number): bigint {
	const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(text.trim());
	if (!m) throw new Error(`'${text}' is not a decimal number`);
	const fraction = (m[3] ?? "").padEnd(scale, "0").slice(0, scale);
	const digits = BigInt(`${m[2] || "0"}${fraction}` || "0");
	return m[1] === "-" ? -digits : digits;
}

function decimalSchema(precision: number, scale: number): Omit<ConnectSchema, "optional"> {
	return {
		type: "bytes",
		name: "org.apache.kafka.connect.data.Decimal",
		version: 1,
		parameters: { scale: String(scale), "connect.decimal.precision": String(precision) },
	};
}

/** The integer of big-endian two's-complement bytes (BigInteger(byte[])): `twosComplement` inverted. */
export function fromTwosComplement(bytes: Buffer): bigint {
	const n = bytes.length === 0 ? 0n : BigInt(`0x${bytes.toString("hex")}`);
	return bytes.length > 0 && (bytes[0] as number) & 0x80 ? n - (1n << BigInt(8 * bytes.length)) : n;
}

/** The plain decimal text of an unscaled value with `scale` fraction digits (-150n, 2 -> "-1.50"). */
export function scaledText(n: bigint, scale: number): string {
	const digits = (n < 0n ? -n : n).toString().padStart(scale + 1, "0");
	const plain = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
	return n < 0n ? `-${plain}` : plain;
}

/** A Decimal's bytes as Java's BigDecimal.toString prints the value (`0.05`, `1E-7`). */
export function decimalText(bytes: Buffer, scale: number): string {
	return bigDecimalText(scaledText(fromTwosComplement(bytes), scale));
}

// Temporal values ------------------------------------------------------------------------------

const MICROS_PER_DAY = 86_400_000_000n;

/** Days since the epoch of a proleptic Gregorian date; null for MySQL's zero parts. */
function epochDays(date: string): number | null {
	const m = /^(\d+)-(\d+)-(\d+)/.exec(date);
	if (!m) throw new Error(`'${date}' is not a date`);
	const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
	if (month === 0 || day === 0) return null;
	const d = new Date(0);
	d.setUTCFullYear(year, month - 1, day); // Date.UTC would read years 0-99 as 19xx
	return Math.round(d.getTime() / 86_400_000);
}

/** Microseconds of '[-]HHH:MM:SS[.ffffff]' (a TIME, or the time part of a DATETIME). */
function timeMicros(time: string): bigint {
	const m = /^(-?)(\d+):(\d+):(\d+)(?:\.(\d*))?$/.exec(time.trim());
	if (!m) throw new Error(`'${time}' is not a time`);
	const micros =
		((BigInt(m[2] as string) * 60n + BigInt(m[3] as string)) * 60n + BigInt(m[4] as string)) * 1_000_000n +
		BigInt((m[5] ?? "").padEnd(6, "0").slice(0, 6) || "0");
	return m[1] === "-" ? -micros : micros;
}

/** Epoch microseconds of a DATETIME value read as UTC; null for a zero date. */
function datetimeMicros(text: string): bigint | null {
	const [date = "", time = "00:00:00"] = text.split(" ");
	const days = epochDays(date);
	return days === null ? null : BigInt(days) * MICROS_PER_DAY + timeMicros(time);
}

function datetime(value: Value | string, column: ColumnInfo): ConnectValue {
	const micros = datetimeMicros(String(value));
	if (micros === null) return null;
	return (typeArgs(column)[0] ?? 0) <= 3 ? Number(micros / 1000n) : micros;
}

/**
 * A TIMESTAMP (capture gives it in UTC) as ZonedTimestamp, ISO-8601. Streamed rows carry exactly
 * the column's fraction digits and the zero TIMESTAMP as the epoch; snapshot rows (JDBC) only the
 * significant digits, and zero as null.
 */
function zonedTimestamp(value: Value | string, column: ColumnInfo, read?: boolean): ConnectValue {
	const [date = "", time = ""] = String(value).split(" ");
	const digits = typeArgs(column)[0] ?? 0;
	const [whole = "", fraction = ""] = time.split(".");
	const zero = epochDays(date) === null;
	if (zero && read) return null;
	const iso = zero ? "1970-01-01T00:00:00" : `${date}T${whole}`;
	const exact = fraction.padEnd(digits, "0").slice(0, digits);
	const shown = read ? exact.replace(/0+$/, "") : exact;
	return `${iso}${shown ? `.${shown}` : ""}Z`;
}

// Other types ------------------------------------------------------------------------------------

/** BIT(n) as Debezium's Bits: the binlog's big-endian bytes reversed, padded to ceil(n/8) bytes. */
function bits(value: Value | string, column: ColumnInfo): ConnectValue {
	const length = Math.ceil((typeArgs(column)[0] ?? 1) / 8);
	const reversed = Buffer.from(value as Buffer).reverse();
	return reversed.length >= length ? reversed : Buffer.concat([reversed, Buffer.alloc(length - reversed.length)]);
}

function binary(value: Value | string, column: ColumnInfo): ConnectValue {
	const buf = typeof value === "string" ? Buffer.from(value, "utf8") : (value as Buffer);
	const width = column.dataType === "binary" ? (typeArgs(column)[0] ?? 1) : 0;
	return buf.length < width ? Buffer.concat([buf, Buffer.alloc(width - buf.length)]) : buf;
}

/** MariaDB's internal geometry (4-byte little-endian SRID + WKB) as {wkb, srid}; SRID 0 is null. */
function geometry(value: Value | string): ConnectStruct {
	const buf = value as Buffer;
	const srid = buf.readInt32LE(0);
	return { wkb: buf.subarray(4), srid: srid === 0 ? null : srid };
}

function point(value: Value | string): ConnectStruct {
	const g = geometry(value);
	const wkb = g.wkb as Buffer;
	const little = wkb[0] === 1;
	const x = little ? wkb.readDoubleLE(5) : wkb.readDoubleBE(5);
	const y = little ? wkb.readDoubleLE(13) : wkb.readDoubleBE(13);
	return { x, y, ...g };
}

const GEOMETRY: ConnectSchema = {
	type: "struct",
	optional: false,
	name: "io.debezium.data.geometry.Geometry",
	version: 1,
	doc: "Geometry",
	fields: [
		{ name: "wkb", schema: { type: "bytes", optional: false } },
		{ name: "srid", schema: { type: "int32", optional: true } },
	],
};
const POINT: ConnectSchema = {
	...GEOMETRY,
	name: "io.debezium.data.geometry.Point",
	doc: "Geometry (POINT)",
	fields: [
		{ name: "x", schema: { type: "double", optional: false } },
		{ name: "y", schema: { type: "double", optional: false } },
		{ name: "wkb", schema: { type: "bytes", optional: true } },
		{ name: "srid", schema: { type: "int32", optional: true } },
	],
};

const asNumber: Encoder = (v) => Number(v);
const asInt64: Encoder = (v) => (typeof v === "string" ? BigInt(v) : (v as number));
const asString: Encoder = (v) => (Buffer.isBuffer(v) ? v.toString("utf8") : String(v));

/** The field schema (without optional/doc/default) and the encoder of one column type. */
function typeOf(column: ColumnInfo): { schema: Omit<ConnectSchema, "optional">; encode: Encoder } {
	const [length, scale] = typeArgs(column);
	switch (column.dataType) {
		case "tinyint":
			return { schema: { type: "int16" }, encode: asNumber };
		case "smallint":
			return { schema: { type: isUnsigned(column) ? "int32" : "int16" }, encode: asNumber };
		case "mediumint":
			return { schema: { type: "int32" }, encode: asNumber };
		case "int":
		case "integer":
			return isUnsigned(column)
				? { schema: { type: "int64" }, encode: asInt64 }
				: { schema: { type: "int32" }, encode: asNumber };
		case "bigint":
			if (!isUnsigned(column)) return { schema: { type: "int64" }, encode: asInt64 };
			return { schema: decimalSchema(20, 0), encode: (v) => twosComplement(BigInt(String(v))) };
		case "decimal":
		case "numeric": {
			const s = column.numericScale ?? scale ?? 0;
			return {
				schema: decimalSchema(column.numericPrecision ?? length ?? 10, s),
				encode: (v) => twosComplement(unscaled(String(v), s)),
			};
		}
		case "float":
			// FLOAT(M,D) has a scale and, like FLOAT(25-53), is a FLOAT64 in Debezium
			return { schema: { type: scale === undefined ? "float" : "double" }, encode: asNumber };
		case "double":
		case "real":
			return { schema: { type: "double" }, encode: asNumber };
		case "bit":
			if ((length ?? 1) <= 1) return { schema: { type: "boolean" }, encode: (v) => (v as Buffer).some((b) => b !== 0) };
			return {
				schema: { type: "bytes", name: "io.debezium.data.Bits", version: 1, parameters: { length: String(length) } },
				encode: bits,
			};
		case "date":
			return {
				schema: { type: "int32", name: "io.debezium.time.Date", version: 1 },
				encode: (v) => epochDays(String(v)),
			};
		case "time":
			return {
				schema: { type: "int64", name: "io.debezium.time.MicroTime", version: 1 },
				encode: (v) => timeMicros(String(v)),
			};
		case "datetime": {
			const name = (length ?? 0) <= 3 ? "io.debezium.time.Timestamp" : "io.debezium.time.MicroTimestamp";
			return { schema: { type: "int64", name, version: 1 }, encode: datetime };
		}
		case "timestamp":
			return {
				schema: { type: "string", name: "io.debezium.time.ZonedTimestamp", version: 1 },
				encode: zonedTimestamp,
			};
		case "year":
			return { schema: { type: "int32", name: "io.debezium.time.Year", version: 1 }, encode: asNumber };
		case "enum":
			return {
				schema: {
					type: "string",
					name: "io.debezium.data.Enum",
					version: 1,
					parameters: { allowed: members(column).join(",") },
				},
				encode: asString,
			};
		case "set":
			return {
				schema: {
					type: "string",
					name: "io.debezium.data.EnumSet",
					version: 1,
					parameters: { allowed: members(column).join(",") },
				},
				encode: asString,
			};
		case "binary":
		case "varbinary":
		case "tinyblob":
		case "blob":
		case "mediumblob":
		case "longblob":
			return { schema: { type: "bytes" }, encode: binary };
		case "uuid":
			return { schema: { type: "string", name: "io.debezium.data.Uuid", version: 1 }, encode: asString };
		case "point":
			return { schema: POINT, encode: point };
		case "geometry":
		case "linestring":
		case "polygon":
		case "multipoint":
		case "multilinestring":
		case "multipolygon":
		case "geometrycollection":
			return { schema: GEOMETRY, encode: geometry };
		default:
			// CHAR/VARCHAR/TEXT, MariaDB's JSON (a LONGTEXT), INET4/INET6 and anything newer
			return { schema: { type: "string" }, encode: asString };
	}
}

// Defaults -----------------------------------------------------------------------------------

const CURRENT_TIMESTAMP = /^current_timestamp(\(\d*\))?$|^now\(\d*\)$/i;

/**
 * A column's default as Debezium puts it in the schema: literals converted like values,
 * CURRENT_TIMESTAMP as the epoch (what Debezium's DDL parser makes of it), zero dates as the
 * epoch (or none on a nullable column). Other expressions, BIT and binary defaults get none: a
 * schema difference from Debezium, and (JsonConverter replaces nulls by defaults) a null of such a
 * column stays null where Debezium would write its default.
 */
function defaultOf(column: ColumnInfo, encode: Encoder): ConnectValue | undefined {
	const expr = column.defaultValue?.trim();
	if (expr === undefined || /^null$/i.test(expr)) return undefined;
	// bit and binary literals (b'101', x'ff') take Debezium's own parsing: not followed
	if (column.dataType === "bit" || /blob|binary/.test(column.dataType)) return undefined;
	const temporal = ["date", "datetime", "timestamp"].includes(column.dataType);
	let literal: string;
	if (CURRENT_TIMESTAMP.test(expr)) {
		if (!temporal) return undefined;
		literal = "1970-01-01 00:00:00";
		if (column.dataType === "timestamp" && column.nullable) return undefined;
	} else if (/^'.*'$/s.test(expr)) literal = expr.slice(1, -1).replace(/''/g, "'").replace(/\\(.)/g, "$1");
	else if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(expr)) literal = expr;
	else return undefined;
	if (temporal && epochDays(literal) === null) {
		if (column.nullable) return undefined;
		literal = "1970-01-01 00:00:00";
	}
	if (column.dataType === "date") literal = literal.slice(0, 10);
	return encode(literal, column);
}

/** The epoch-like value Debezium puts in a NOT NULL column that arrives null (a zero date) and has no default. */
function fallbackOf(schema: Omit<ConnectSchema, "optional">): ConnectValue {
	if (schema.type === "int32") return 0;
	if (schema.type === "int64") return 0n;
	if (schema.type === "string" && schema.name === "io.debezium.time.ZonedTimestamp") return "1970-01-01T00:00:00Z";
	return null;
}

export function columnCodec(column: ColumnInfo): ColumnCodec {
	const { schema: base, encode } = typeOf(column);
	const fallback = column.nullable ? null : fallbackOf(base);
	const defaultValue = defaultOf(column, encode);
	const schema: ConnectSchema = {
		...base,
		optional: column.nullable,
		...(column.comment ? { doc: column.comment } : {}),
		...(defaultValue === undefined || defaultValue === null ? {} : { default: defaultValue }),
	};
	return {
		schema,
		encode(value, read) {
			const encoded = value === null ? null : encode(value, column, read);
			return encoded === null && !column.nullable ? (schema.default ?? fallback) : encoded;
		},
	};
}

/**
 * A key struct as a header string, the way Connect's SimpleHeaderConverter writes it (Values):
 * `{"id":4,"name":"x"}` with numbers as Java prints them, decimals as BigDecimal.toString,
 * bytes as base64 and only `\` and `"` escaped in strings.
 */
export function headerText(schema: ConnectSchema, value: ConnectValue): string {
	if (value === null) return "null";
	switch (schema.type) {
		case "struct": {
			const s = value as ConnectStruct;
			return `{${(schema.fields ?? []).map((f) => `"${escapeQuoted(f.name)}":${headerText(f.schema, s[f.name] ?? null)}`).join(",")}}`;
		}
		case "bytes":
			if (schema.name === "org.apache.kafka.connect.data.Decimal") {
				return decimalText(value as Buffer, Number(schema.parameters?.scale ?? 0));
			}
			return `"${(value as Buffer).toString("base64")}"`;
		case "string":
			return `"${escapeQuoted(value as string)}"`;
		case "float":
		case "double":
			return javaNumber(value as number, schema.type === "float");
		default:
			return String(value);
	}
}

function escapeQuoted(text: string): string {
	return text.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
}
