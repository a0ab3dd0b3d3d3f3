import { BLOB_TYPES, TEXT_TYPES } from "../db/types.ts";
import { type FeedEvent, type FeedFormat, FeedFormatError, type FeedRecord, type RawImage } from "./event.ts";
import { asObject, type ExactJson, parseExactJson } from "./exact-json.ts";
import { tsoOf, tsoTransaction, tsoWatermark } from "./ticdc-tso.ts";
import { baseType, type TicdcDatum, ticdcConverter, ticdcImage } from "./ticdc-values.ts";

/*
 * TiCDC's open protocol (protocol=open-protocol), read as a change feed (tiflow
 * pkg/sink/codec/open and internal/column.go; docs ticdc/ticdc-open-protocol.md). A Kafka record
 * batches events: its key is a big-endian int64 version (1) then, per event, an int64 length and
 * the event's key JSON; its value is, per event, an int64 length and the event's value JSON, in
 * the same order. The key's `t` says what the event is:
 * - 1, a row change: `{"ts":TSO,"scm":db,"tbl":table}`, value `{"u":cols}` (insert), `{"u":cols,
 *   "p":cols}` (update, `p` the row before: all of it, or only the changed columns with
 *   only_output_updated_columns) or `{"d":cols}` (delete: the whole row, or only the key with
 *   delete-only-output-handle-key-columns); each column `{"t":type code,"h":handle,"f":flags,"v":value}`;
 * - 2, a DDL statement, value `{"q":sql,"t":DDL type}`, broadcast to every partition;
 * - 3, resolved: every event below `ts` has been written (value empty or of length 0), broadcast.
 * An update written without its old row (output-old-value=false) cannot be told from an insert:
 * the changefeed must keep the default.
 *
 * Values are JSON: integers (BIGINT, BIT, SET to 2^64), ENUM indexes and YEAR as numbers, FLOAT
 * and DOUBLE as numbers, DECIMAL, dates and times and JSON as text. TEXT and BLOB columns (codes
 * 249-252) are base64; CHAR/VARCHAR (254, 253, 15) are their text, or with the binary flag their
 * bytes quoted the way Go's strconv.Quote does (`\x89PNG\r\n`), without the surrounding quotes.
 */

const VERSION = 1n;
const BINARY_FLAG = 0x01;
const UNSIGNED_FLAG = 0x80;
/** The numeric types whose name takes `unsigned` (TiDB flags YEAR and BIT unsigned too). */
const SIGNED_CODES = new Set([1, 2, 3, 4, 5, 8, 9, 246]);

/** MySQL type codes (the binlog's) to type names; `binary` for those whose name says it. */
const TYPE_NAMES: Record<number, string | [text: string, binary: string]> = {
	1: "tinyint",
	2: "smallint",
	3: "int",
	4: "float",
	5: "double",
	7: "timestamp",
	8: "bigint",
	9: "mediumint",
	10: "date",
	11: "time",
	12: "datetime",
	13: "year",
	14: "date",
	15: ["varchar", "varbinary"],
	16: "bit",
	245: "json",
	246: "decimal",
	247: "enum",
	248: "set",
	249: ["tinytext", "tinyblob"],
	250: ["mediumtext", "mediumblob"],
	251: ["longtext", "longblob"],
	252: ["text", "blob"],
	253: ["varchar", "varbinary"],
	254: ["char", "binary"],
	255: "geometry",
};

/** An open-protocol column's type as a MySQL type name: `int unsigned`, `varbinary`. */
export function openProtocolTypeName(code: number, flags: number): string {
	const name = TYPE_NAMES[code];
	if (name === undefined) return `type ${code}`;
	if (Array.isArray(name)) return name[flags & BINARY_FLAG ? 1 : 0];
	return flags & UNSIGNED_FLAG && SIGNED_CODES.has(code) ? `${name} unsigned` : name;
}

const SIMPLE_ESCAPES: Record<string, number> = {
	a: 7,
	b: 8,
	f: 12,
	n: 10,
	r: 13,
	t: 9,
	v: 11,
	"\\": 92,
	'"': 34,
	"'": 39,
};

/** The bytes of a string quoted as Go's strconv.Quote writes them, the quotes taken off. */
export function goUnquote(quoted: string): Buffer {
	if (!quoted.includes("\\")) return Buffer.from(quoted, "utf8");
	const parts: Buffer[] = [];
	let plain = 0;
	let i = 0;
	const code = (start: number, digits: number, radix: number): number => {
		const text = quoted.slice(start, start + digits);
		const valid = radix === 8 ? /^[0-7]+$/ : /^[0-9a-f]+$/i;
		if (text.length !== digits || !valid.test(text)) throw new Error(`bad escape at ${i} in a quoted binary value`);
		return Number.parseInt(text, radix);
	};
	while (i < quoted.length) {
		if (quoted[i] !== "\\") {
			i++;
			continue;
		}
		parts.push(Buffer.from(quoted.slice(plain, i), "utf8"));
		const kind = quoted[i + 1] ?? "";
		let length = 2;
		if (kind in SIMPLE_ESCAPES) parts.push(Buffer.from([SIMPLE_ESCAPES[kind] as number]));
		else if (kind === "x") {
			parts.push(Buffer.from([code(i + 2, 2, 16)]));
			length = 4;
		} else if (kind === "u" || kind === "U") {
			const digits = kind === "u" ? 4 : 8;
			parts.push(Buffer.from(String.fromCodePoint(code(i + 2, digits, 16)), "utf8"));
			length = 2 + digits;
		} else if (kind >= "0" && kind <= "7") {
			parts.push(Buffer.from([code(i + 1, 3, 8)]));
			length = 4;
		} else throw new Error(`bad escape at ${i} in a quoted binary value`);
		i += length;
		plain = i;
	}
	parts.push(Buffer.from(quoted.slice(plain), "utf8"));
	return Buffer.concat(parts);
}

function datum(value: unknown, type: string): TicdcDatum {
	if (value === null || value === undefined) return null;
	const base = baseType(type);
	if (typeof value === "string") {
		if (TEXT_TYPES.has(base) || BLOB_TYPES.has(base)) return Buffer.from(value, "base64");
		if (base === "binary" || base === "varbinary") return goUnquote(value);
		return value;
	}
	if (typeof value === "number" || typeof value === "bigint") return value;
	throw new Error("not a column value");
}

/** The Kafka record's key or value cut at its int64 lengths. */
function frames(record: FeedRecord, bytes: Buffer, from: number, what: string): Buffer[] {
	const out: Buffer[] = [];
	let at = from;
	while (at < bytes.length) {
		if (at + 8 > bytes.length) throw new FeedFormatError(`open-protocol ${what} cut short in a length`, record);
		const length = bytes.readBigUInt64BE(at);
		at += 8;
		if (length > BigInt(bytes.length - at)) throw new FeedFormatError(`open-protocol ${what} cut short`, record);
		out.push(bytes.subarray(at, at + Number(length)));
		at += Number(length);
	}
	return out;
}

type Columns = { [member: string]: ExactJson };

export function ticdcOpenProtocolFormat(options: { timeZone?: string } = {}): FeedFormat {
	const convert = ticdcConverter(options.timeZone ?? "UTC");

	function json(record: FeedRecord, bytes: Buffer, what: string): Columns {
		let parsed: ExactJson;
		try {
			parsed = parseExactJson(bytes);
		} catch (e) {
			throw new FeedFormatError(`open-protocol ${what} is not JSON (${(e as Error).message})`, record);
		}
		const object = asObject(parsed);
		if (!object) throw new FeedFormatError(`open-protocol ${what} is not a JSON object`, record);
		return object;
	}

	/** A row image's column objects into raw values, and their types into `types`. */
	function image(record: FeedRecord, columns: ExactJson | undefined, types: Record<string, string>): RawImage {
		const raw: RawImage = {};
		for (const [name, member] of Object.entries(asObject(columns) ?? {})) {
			const column = asObject(member);
			if (!column || typeof column.t !== "bigint")
				throw new FeedFormatError(`open-protocol column '${name}' without a type`, record);
			types[name] = openProtocolTypeName(Number(column.t), typeof column.f === "bigint" ? Number(column.f) : 0);
			raw[name] = column.v ?? null;
		}
		return raw;
	}

	function event(record: FeedRecord, key: Columns, value: Buffer | undefined): FeedEvent {
		const tso = tsoOf(key.ts);
		if (tso === undefined) throw new FeedFormatError("open-protocol event key without ts", record);
		const type = key.t;
		if (type === 3n) return tsoWatermark(tso);
		if (type !== 1n && type !== 2n) throw new FeedFormatError(`open-protocol event of unknown type ${type}`, record);
		if (!value) throw new FeedFormatError("open-protocol record with fewer values than keys", record);
		const database = typeof key.scm === "string" ? key.scm : "";
		const table = typeof key.tbl === "string" ? key.tbl : "";
		const transaction = tsoTransaction(tso);
		const body = json(record, value, "event value");
		if (type === 2n) {
			if (typeof body.q !== "string") throw new FeedFormatError("open-protocol DDL event without q", record);
			return { kind: "ddl", database, ...(table ? { table } : {}), sql: body.q, transaction };
		}
		if (key.ohk === true || key.ccl !== undefined) {
			throw new FeedFormatError(
				"TiCDC sent only the key columns of a row too large for a Kafka message (large-message-handle-option handle-key-only or claim-check); Ferry cannot read the rest of the row: raise max-message-bytes instead",
				record,
			);
		}
		const types: Record<string, string> = {};
		const where = { database, table };
		if (body.d !== undefined) {
			const before = image(record, body.d, types);
			return { kind: "row", op: "delete", table: where, before, types, transaction };
		}
		if (body.u === undefined) throw new FeedFormatError("open-protocol row event without u or d", record);
		const after = image(record, body.u, types);
		if (body.p === undefined) return { kind: "row", op: "insert", table: where, after, types, transaction };
		const before = { ...after, ...image(record, body.p, types) };
		return { kind: "row", op: "update", table: where, before, after, types, transaction };
	}

	return {
		name: "ticdc-open-protocol",
		completeness: "watermarks",
		decode(record: FeedRecord): FeedEvent[] {
			if (!record.key || record.key.length < 8) throw new FeedFormatError("open-protocol record without a key", record);
			const version = record.key.readBigUInt64BE(0);
			if (version !== VERSION) throw new FeedFormatError(`open-protocol version ${version}, Ferry reads 1`, record);
			const keys = frames(record, record.key, 8, "key");
			const values = record.value ? frames(record, record.value, 0, "value") : [];
			if (values.length > keys.length)
				throw new FeedFormatError("open-protocol record with more values than keys", record);
			return keys.map((key, i) => event(record, json(record, key, "event key"), values[i]));
		},
		values(raw, columns, row) {
			return ticdcImage(raw, columns, row.types, datum, convert);
		},
	};
}
