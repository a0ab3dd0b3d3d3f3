import { MysqlType } from "./type-codes.ts";

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
