import { type JsonValue, jsonBuffer, RawJson } from "../../shared/sinks/formats/json.ts";

/*
 * Messages shaped as TiCDC writes them into Kafka, for tests that play TiCDC: canal-json with
 * enable-tidb-extension=true (one JSON message a record) and the open protocol (batched events,
 * int64-framed). TSOs and 64-bit integers are written from bigints as their exact digits.
 * Values are given as TiCDC's own (shared/feed/ticdc-values.ts: ENUM as its index, SET as its
 * bitmask, BIT as an integer, TIMESTAMP in the changefeed's zone); Buffers are written in each
 * format's binary encoding.
 */

/** A column value: text, an integer, or the bytes of a binary string. */
export type TicdcValue = string | number | bigint | Buffer | null;
type Image = Record<string, TicdcValue>;

const LOGICAL_BITS = 18n;

function tso(value: bigint): RawJson {
	return new RawJson(value.toString());
}

/** canal-json writes every value as text, a binary string's bytes as ISO-8859-1 characters. */
function canalText(value: TicdcValue): JsonValue {
	if (value === null) return null;
	if (Buffer.isBuffer(value)) return value.toString("latin1");
	return String(value);
}

function canalImages(rows: Image[] | undefined): JsonValue {
	if (!rows) return null;
	return rows.map((row) => new Map(Object.entries(row).map(([name, value]) => [name, canalText(value)])));
}

/** java.sql.Types of a canal-json column, by its mysqlType (as TiCDC's docs list them). */
function javaType(mysqlType: string): number {
	const base = /^[a-z]+/.exec(mysqlType)?.[0] ?? "";
	const codes: Record<string, number> = {
		tinyint: -6,
		smallint: 5,
		mediumint: 4,
		int: 4,
		bigint: -5,
		decimal: 3,
		float: 7,
		double: 8,
		bit: -7,
		set: -7,
		enum: 4,
		date: 91,
		time: 92,
		datetime: 93,
		timestamp: 93,
		year: 12,
		char: 1,
		varchar: 12,
		json: 12,
	};
	return codes[base] ?? (base.endsWith("text") ? 2005 : 2004);
}

export interface CanalJsonRowMessage {
	database: string;
	table: string;
	type: "INSERT" | "UPDATE" | "DELETE";
	commitTs: bigint;
	data: Image[];
	/** UPDATE: the rows before, whole or only their changed columns. */
	old?: Image[];
	pkNames: string[] | null;
	mysqlType: Record<string, string>;
	sqlType?: Record<string, number>;
}

export function canalJsonMessage(m: CanalJsonRowMessage): Buffer {
	const es = Number(m.commitTs >> LOGICAL_BITS);
	const sqlType = m.sqlType ?? Object.fromEntries(Object.entries(m.mysqlType).map(([c, t]) => [c, javaType(t)]));
	return jsonBuffer({
		id: 0,
		database: m.database,
		table: m.table,
		pkNames: m.pkNames,
		isDdl: false,
		type: m.type,
		es,
		ts: es,
		sql: "",
		sqlType: new Map(Object.entries(sqlType)),
		mysqlType: new Map(Object.entries(m.mysqlType)),
		old: canalImages(m.old),
		data: canalImages(m.data),
		_tidb: { commitTs: tso(m.commitTs) },
	});
}

export function canalJsonWatermark(ts: bigint): Buffer {
	const es = Number(ts >> LOGICAL_BITS);
	return jsonBuffer({
		id: 0,
		database: "",
		table: "",
		pkNames: null,
		isDdl: false,
		type: "TIDB_WATERMARK",
		es,
		ts: es,
		sql: "",
		sqlType: null,
		mysqlType: null,
		data: null,
		old: null,
		_tidb: { watermarkTs: tso(ts) },
	});
}

export function canalJsonDdl(m: {
	database: string;
	table?: string;
	sql: string;
	commitTs: bigint;
	type?: string;
}): Buffer {
	const es = Number(m.commitTs >> LOGICAL_BITS);
	return jsonBuffer({
		id: 0,
		database: m.database,
		table: m.table ?? "",
		pkNames: null,
		isDdl: true,
		type: m.type ?? "QUERY",
		es,
		ts: es,
		sql: m.sql,
		sqlType: null,
		mysqlType: null,
		data: null,
		old: null,
		_tidb: { commitTs: tso(m.commitTs) },
	});
}

/** An open-protocol column: its MySQL type code, flags (0x01 binary, 0x02 handle, 0x80 unsigned, ...) and value. */
export interface OpenProtocolColumn {
	t: number;
	f?: number;
	h?: boolean;
	v: TicdcValue;
}
type Columns = Record<string, OpenProtocolColumn>;

export type OpenProtocolEvent =
	| { kind: "row"; ts: bigint; database: string; table: string; u?: Columns; p?: Columns; d?: Columns }
	| { kind: "ddl"; ts: bigint; database: string; table?: string; sql: string; type?: number }
	| { kind: "resolved"; ts: bigint };

const BLOB_CODES = new Set([249, 250, 251, 252]);

/**
 * Bytes quoted as Go's strconv.Quote does, without the quotes: printable text as it is, anything
 * else byte by byte (Go quotes a valid non-ASCII rune whole; its Unquote reads both the same).
 */
function goQuote(bytes: Buffer): string {
	const text = new TextDecoder("utf-8").decode(bytes);
	if (!text.includes("\uFFFD") && /^[\x20-\x7e\u00a1-\u00ac\u00ae-\uffff]*$/u.test(text)) {
		return text.replaceAll("\\", "\\\\").replaceAll('"', '\\"');
	}
	const named: Record<number, string> = {
		7: "a",
		8: "b",
		12: "f",
		10: "n",
		13: "r",
		9: "t",
		11: "v",
		34: '"',
		92: "\\",
	};
	let out = "";
	for (const byte of bytes) {
		const name = named[byte];
		if (name !== undefined) out += `\\${name}`;
		else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
		else out += `\\x${byte.toString(16).padStart(2, "0")}`;
	}
	return out;
}

function openValue(column: OpenProtocolColumn): JsonValue {
	const v = column.v;
	if (v === null) return null;
	if (typeof v === "bigint") return new RawJson(v.toString());
	if (!Buffer.isBuffer(v)) return v;
	return BLOB_CODES.has(column.t) ? v.toString("base64") : goQuote(v);
}

function openColumns(columns: Columns | undefined): JsonValue | undefined {
	if (!columns) return undefined;
	const sorted = Object.entries(columns).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
	return new Map(
		sorted.map(([name, c]) => {
			// TiCDC flags a binary string as binary; its value is then quoted
			const binary = Buffer.isBuffer(c.v) && !BLOB_CODES.has(c.t) ? 0x01 : 0;
			return [name, { t: c.t, h: c.h, f: (c.f ?? 0) | binary, v: openValue(c) }];
		}),
	);
}

function frame(parts: Buffer[], bytes: Buffer): void {
	const length = Buffer.alloc(8);
	length.writeBigUInt64BE(BigInt(bytes.length));
	parts.push(length, bytes);
}

/** One Kafka record of open-protocol events, batched as TiCDC batches them. */
export function openProtocolRecord(events: OpenProtocolEvent[]): { key: Buffer; value: Buffer } {
	const version = Buffer.alloc(8);
	version.writeBigUInt64BE(1n);
	const keys: Buffer[] = [version];
	const values: Buffer[] = [];
	for (const e of events) {
		if (e.kind === "resolved") {
			frame(keys, jsonBuffer({ ts: tso(e.ts), t: 3 }));
			frame(values, Buffer.alloc(0));
			continue;
		}
		frame(keys, jsonBuffer({ ts: tso(e.ts), scm: e.database, tbl: e.table, t: e.kind === "row" ? 1 : 2 }));
		if (e.kind === "ddl") frame(values, jsonBuffer({ q: e.sql, t: e.type ?? 0 }));
		else frame(values, jsonBuffer({ u: openColumns(e.u), p: openColumns(e.p), d: openColumns(e.d) }));
	}
	return { key: Buffer.concat(keys), value: Buffer.concat(values) };
}
