import { crc32 } from "node:zlib";

/**
 * Builders for MySQL 8 binlog events as bytes, following the documented formats. References:
 * - [EVT] MySQL source, libbinlogevents (libs/mysql/binlog/event in 8.4): binlog_event.h
 *   (common header), control_events.h (Gtid_event, Xid_event), statement_events.h (Query_event),
 *   rows_event.h (Table_map_event, Rows_event and its extra_row_info);
 *   also the MySQL Internals manual, "Binlog Event" chapter.
 * - [JSON] sql-common/json_binary.h: the binary JSON format.
 * - [TIME] my_time.h / my_time.cc: DATETIME2/TIMESTAMP2/TIME2 and packed temporal formats.
 * - [DEC] strings/decimal.cc, decimal2bin(): DECIMAL storage.
 * All integers are little-endian unless a comment says big-endian (the temporal and decimal
 * column formats are).
 */

export const EventType = {
	QUERY: 2,
	XID: 16,
	TABLE_MAP: 19,
	WRITE_ROWS_V2: 30,
	UPDATE_ROWS_V2: 31,
	DELETE_ROWS_V2: 32,
	GTID: 33,
	TRANSACTION_PAYLOAD: 40,
} as const;

export const ColumnType = {
	LONG: 3,
	LONGLONG: 8,
	VARCHAR: 15,
	TIMESTAMP2: 17,
	DATETIME2: 18,
	TIME2: 19,
	JSON: 245,
	NEWDECIMAL: 246,
	ENUM: 247,
	STRING: 254,
} as const;

export function u8(n: number): Buffer {
	return Buffer.from([n]);
}
export function u16(n: number): Buffer {
	const b = Buffer.alloc(2);
	b.writeUInt16LE(n);
	return b;
}
export function u32(n: number): Buffer {
	const b = Buffer.alloc(4);
	b.writeUInt32LE(n);
	return b;
}
export function u48(n: number): Buffer {
	const b = Buffer.alloc(6);
	b.writeUIntLE(n, 0, 6);
	return b;
}
export function u64(n: bigint): Buffer {
	const b = Buffer.alloc(8);
	b.writeBigUInt64LE(BigInt.asUintN(64, n));
	return b;
}
export function u56(n: bigint): Buffer {
	return u64(n).subarray(0, 7);
}
export function beUint(n: bigint | number, bytes: number): Buffer {
	const b = Buffer.alloc(bytes);
	let v = BigInt(n);
	for (let i = bytes - 1; i >= 0; i--) {
		b[i] = Number(v & 0xffn);
		v >>= 8n;
	}
	return b;
}

/** [EVT] net_field_length: the length-encoded integer of the binlog. */
export function packed(n: number): Buffer {
	if (n < 251) return u8(n);
	if (n < 0x10000) return Buffer.concat([u8(0xfc), u16(n)]);
	if (n < 0x1000000) return Buffer.concat([u8(0xfd), Buffer.from([n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff])]);
	return Buffer.concat([u8(0xfe), u64(BigInt(n))]);
}

export function lengthPrefixed(s: string | Buffer): Buffer {
	const b = Buffer.isBuffer(s) ? s : Buffer.from(s, "utf8");
	return Buffer.concat([packed(b.length), b]);
}

/**
 * [EVT] binlog_event.h, Log_event_header: timestamp(4) type(1) server_id(4) event_size(4)
 * log_pos(4) flags(2) = 19 bytes, then the body, then (binlog_checksum=CRC32) a CRC-32 of
 * header and body (the zlib/IEEE polynomial), 4 bytes. event_size counts all of it; log_pos is
 * the offset of the next event in the file.
 */
export function event(
	type: number,
	body: Buffer,
	at: { pos: number; timestamp?: number; serverId?: number; checksum?: boolean },
): { bytes: Buffer; next: number } {
	const checksum = at.checksum ?? true;
	const size = 19 + body.length + (checksum ? 4 : 0);
	const header = Buffer.concat([
		u32(at.timestamp ?? 1_700_000_000),
		u8(type),
		u32(at.serverId ?? 1),
		u32(size),
		u32(at.pos + size),
		u16(0),
	]);
	const unsigned = Buffer.concat([header, body]);
	const bytes = checksum ? Buffer.concat([unsigned, u32(crc32(unsigned))]) : unsigned;
	return { bytes, next: at.pos + size };
}

/**
 * [EVT] control_events.h, Gtid_event (type 33), as MySQL 8.0.x writes it: gtid_flags(1),
 * source uuid(16), gno(8), lt_type(1) = 2 (logical timestamps), last_committed(8),
 * sequence_number(8), immediate_commit_timestamp(7; the top bit says an
 * original_commit_timestamp(7) follows), transaction_length (net_field_length),
 * immediate_server_version(4; the top bit says an original_server_version(4) follows).
 */
export function gtidBody(uuid: string, gno: number, transactionLength: number): Buffer {
	return Buffer.concat([
		u8(0x01),
		Buffer.from(uuid.replaceAll("-", ""), "hex"),
		u64(BigInt(gno)),
		u8(2),
		u64(BigInt(gno - 1)),
		u64(BigInt(gno)),
		u56(1_700_000_000_000_000n), // microseconds since the epoch; top bit clear: no original_commit_timestamp
		packed(transactionLength),
		u32(80_036), // 8.0.36
	]);
}

/**
 * [EVT] statement_events.h, Query_event (type 2): post-header thread_id(4) query_exec_time(4)
 * db_len(1) error_code(2) status_vars_len(2); then the status variables, the default database
 * and a NUL, and the statement text to the end of the event.
 * Status variables here: Q_FLAGS2_CODE(0) u32, Q_SQL_MODE_CODE(1) u64, Q_CHARSET_CODE(4)
 * 3 x u16 (client, connection, server collation: 255 = utf8mb4_0900_ai_ci).
 */
export function queryBody(database: string, sql: string): Buffer {
	const status = Buffer.concat([u8(0), u32(0), u8(1), u64(0n), u8(4), u16(255), u16(255), u16(255)]);
	return Buffer.concat([
		u32(42),
		u32(0),
		u8(Buffer.byteLength(database)),
		u16(0),
		u16(status.length),
		status,
		Buffer.from(database, "utf8"),
		u8(0),
		Buffer.from(sql, "utf8"),
	]);
}

/** [EVT] control_events.h, Xid_event (type 16): the transaction's xid, u64. */
export function xidBody(xid: number): Buffer {
	return u64(BigInt(xid));
}

export interface FixtureColumn {
	name: string;
	type: number;
	/** [EVT] rows_event.h, Table_map_event: the per-type metadata bytes. */
	meta: Buffer;
	nullable: boolean;
	numeric?: { unsigned: boolean };
	/** A character column (its charset goes in DEFAULT_CHARSET). */
	character?: boolean;
	enumValues?: string[];
}

/**
 * [EVT] rows_event.h, Table_map_event (type 19): post-header table_id(6) flags(2); body
 * db name (length byte, bytes, NUL), table name (same), column_count (net_field_length),
 * column types (1 byte each), metadata length (net_field_length) and per-column metadata,
 * the null bitmap, then the optional metadata of binlog_row_metadata=FULL as
 * type(1) length(net_field_length) value fields: SIGNEDNESS(1), DEFAULT_CHARSET(2),
 * COLUMN_NAME(4), ENUM_STR_VALUE(6), SIMPLE_PRIMARY_KEY(8), ENUM_AND_SET_DEFAULT_CHARSET(10).
 */
export function tableMapBody(tableId: number, database: string, table: string, columns: FixtureColumn[]): Buffer {
	const meta = Buffer.concat(columns.map((c) => c.meta));
	const nulls = bitmap(columns.map((c) => c.nullable));
	const field = (type: number, value: Buffer) => Buffer.concat([u8(type), packed(value.length), value]);
	const numeric = columns.filter((c) => c.numeric);
	// SIGNEDNESS: one bit per numeric column, most significant bit first
	const signedness = Buffer.alloc(Math.ceil(numeric.length / 8));
	numeric.forEach((c, i) => {
		if (c.numeric?.unsigned) signedness[i >> 3] = (signedness[i >> 3] as number) | (0x80 >> (i % 8));
	});
	const enums = columns.filter((c) => c.enumValues);
	const optional = Buffer.concat([
		field(1, signedness),
		// DEFAULT_CHARSET: the default collation; no (index, collation) exceptions follow
		...(columns.some((c) => c.character) ? [field(2, packed(255))] : []),
		field(4, Buffer.concat(columns.map((c) => lengthPrefixed(c.name)))),
		...(enums.length
			? [
					field(
						6,
						Buffer.concat(
							enums.map((c) =>
								Buffer.concat([
									packed(c.enumValues?.length ?? 0),
									...(c.enumValues ?? []).map((v) => lengthPrefixed(v)),
								]),
							),
						),
					),
					field(10, packed(255)),
				]
			: []),
		field(8, packed(0)),
	]);
	return Buffer.concat([
		u48(tableId),
		u16(1),
		u8(Buffer.byteLength(database)),
		Buffer.from(database),
		u8(0),
		u8(Buffer.byteLength(table)),
		Buffer.from(table),
		u8(0),
		packed(columns.length),
		Buffer.from(columns.map((c) => c.type)),
		packed(meta.length),
		meta,
		nulls,
		optional,
	]);
}

/** Bits in column order, least significant bit first (the row-event bitmaps). */
export function bitmap(bits: boolean[]): Buffer {
	const b = Buffer.alloc(Math.ceil(bits.length / 8));
	bits.forEach((on, i) => {
		if (on) b[i >> 3] = (b[i >> 3] as number) | (1 << (i % 8));
	});
	return b;
}

/** One row image: the null bitmap over the present columns, then the non-null values. */
export function rowImage(values: (Buffer | null)[]): Buffer {
	return Buffer.concat([bitmap(values.map((v) => v === null)), ...values.filter((v): v is Buffer => v !== null)]);
}

/**
 * [EVT] rows_event.h, Rows_event v2 (types 30-32): post-header table_id(6) flags(2)
 * extra_row_info_length(2, counting itself) and the extra_row_info; body column_count
 * (net_field_length), columns-present bitmap (and for updates a second one, for the after
 * image), then the rows (updates: before image, after image). The extra info here is one
 * ROWS_V_EXTRAINFO_TAG (0) block: length(1, counting itself and the format byte), format(1),
 * data; zongji must skip it.
 */
export function rowsBody(tableId: number, columnCount: number, images: Buffer[], update = false): Buffer {
	const extra = Buffer.from([0x00, 0x04, 0x00, 0x2a, 0x2b]);
	const present = bitmap(Array(columnCount).fill(true));
	return Buffer.concat([
		u48(tableId),
		u16(1), // STMT_END_F
		u16(2 + extra.length),
		extra,
		packed(columnCount),
		present,
		...(update ? [present] : []),
		...images,
	]);
}

// --- column values -----------------------------------------------------------------------------

export function int32(n: number): Buffer {
	const b = Buffer.alloc(4);
	b.writeInt32LE(n);
	return b;
}

/** VARCHAR with max_length < 256 bytes: 1 length byte, then the bytes. */
export function varchar(s: string): Buffer {
	const b = Buffer.from(s, "utf8");
	return Buffer.concat([u8(b.length), b]);
}

/** JSON with metadata length_size 4: u32 length, then the binary document. */
export function jsonColumn(doc: Buffer): Buffer {
	return Buffer.concat([u32(doc.length), doc]);
}

/**
 * [TIME] DATETIME2(fsp): 5 bytes big-endian of ((year*13+month)<<22 | day<<17 | hour<<12 |
 * minute<<6 | second) + 0x8000000000, then the fraction big-endian in ceil(fsp/2) bytes
 * (fsp 5-6: microseconds in 3 bytes; 3-4: in units of 100 us in 2 bytes).
 */
export function datetime2(
	y: number,
	mo: number,
	d: number,
	h: number,
	mi: number,
	s: number,
	micro: number,
	fsp: number,
): Buffer {
	const ym = BigInt(y * 13 + mo);
	const int = (ym << 22n) | (BigInt(d) << 17n) | (BigInt(h) << 12n) | (BigInt(mi) << 6n) | BigInt(s);
	return Buffer.concat([beUint(int + 0x8000000000n, 5), fraction(micro, fsp)]);
}

function fraction(micro: number, fsp: number): Buffer {
	if (fsp === 0) return Buffer.alloc(0);
	if (fsp <= 2) return beUint(Math.floor(micro / 10_000), 1);
	if (fsp <= 4) return beUint(Math.floor(micro / 100), 2);
	return beUint(micro, 3);
}

/** [TIME] TIMESTAMP2(fsp): seconds since the epoch, 4 bytes big-endian, then the fraction. */
export function timestamp2(epochSeconds: number, micro: number, fsp: number): Buffer {
	return Buffer.concat([beUint(epochSeconds, 4), fraction(micro, fsp)]);
}

/** [TIME] TIME2(0): 3 bytes big-endian of (hour<<12 | minute<<6 | second) + 0x800000, negated for negative times. */
export function time2(negative: boolean, h: number, mi: number, s: number): Buffer {
	const v = (h << 12) | (mi << 6) | s;
	return beUint(0x800000 + (negative ? -v : v), 3);
}

/**
 * [DEC] decimal2bin for DECIMAL(precision, scale): integer digits in groups of nine (4 bytes
 * each, big-endian) led by the leftover digits in 1-4 bytes, then the fraction the same way
 * (leftover last); negative values have every bit inverted; finally the top bit of the first
 * byte is flipped.
 */
export function decimalBinary(text: string, precision: number, scale: number): Buffer {
	const dig2bytes = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];
	const negative = text.startsWith("-");
	const [intText = "0", fracText = ""] = text.replace("-", "").split(".");
	const intg = precision - scale;
	const intDigits = intText.padStart(intg, "0");
	const fracDigits = fracText.padEnd(scale, "0");
	const parts: Buffer[] = [];
	const lead = intg % 9;
	if (lead) parts.push(beUint(Number(intDigits.slice(0, lead)), dig2bytes[lead] as number));
	for (let i = lead; i < intg; i += 9) parts.push(beUint(Number(intDigits.slice(i, i + 9)), 4));
	const full = Math.floor(scale / 9);
	for (let i = 0; i < full; i++) parts.push(beUint(Number(fracDigits.slice(i * 9, i * 9 + 9)), 4));
	const trail = scale % 9;
	if (trail) parts.push(beUint(Number(fracDigits.slice(full * 9)), dig2bytes[trail] as number));
	const b = Buffer.concat(parts);
	if (negative) for (let i = 0; i < b.length; i++) b[i] = ~(b[i] as number) & 0xff;
	b[0] = (b[0] as number) ^ 0x80;
	return b;
}

// --- binary JSON [JSON] -------------------------------------------------------------------------

export type JsonNode =
	| { t: "literal"; v: null | boolean }
	| { t: "int16" | "int32" | "uint16" | "uint32"; v: number }
	| { t: "int64" | "uint64"; v: bigint }
	| { t: "double"; v: number }
	| { t: "string"; v: string }
	| { t: "opaque"; fieldType: number; data: Buffer }
	| { t: "array"; v: JsonNode[]; large?: boolean }
	| { t: "object"; v: Record<string, JsonNode>; large?: boolean };

export const J = {
	lit: (v: null | boolean): JsonNode => ({ t: "literal", v }),
	i16: (v: number): JsonNode => ({ t: "int16", v }),
	i32: (v: number): JsonNode => ({ t: "int32", v }),
	u32: (v: number): JsonNode => ({ t: "uint32", v }),
	i64: (v: bigint): JsonNode => ({ t: "int64", v }),
	u64: (v: bigint): JsonNode => ({ t: "uint64", v }),
	dbl: (v: number): JsonNode => ({ t: "double", v }),
	str: (v: string): JsonNode => ({ t: "string", v }),
	opaque: (fieldType: number, data: Buffer): JsonNode => ({ t: "opaque", fieldType, data }),
	arr: (v: JsonNode[], large = false): JsonNode => ({ t: "array", v, large }),
	obj: (v: Record<string, JsonNode>, large = false): JsonNode => ({ t: "object", v, large }),
};

const JSON_TYPE: Record<JsonNode["t"], number> = {
	object: 0x00,
	array: 0x02,
	literal: 0x04,
	int16: 0x05,
	uint16: 0x06,
	int32: 0x07,
	uint32: 0x08,
	int64: 0x09,
	uint64: 0x0a,
	double: 0x0b,
	string: 0x0c,
	opaque: 0x0f,
};

function typeOf(n: JsonNode): number {
	const base = JSON_TYPE[n.t];
	return (n.t === "object" || n.t === "array") && n.large ? base + 1 : base;
}

/** [JSON] variable-length length: 7 bits per byte, low bits first, top bit = more follows. */
function varLength(n: number): Buffer {
	const out: number[] = [];
	do {
		let byte = n & 0x7f;
		n >>>= 7;
		if (n) byte |= 0x80;
		out.push(byte);
	} while (n);
	return Buffer.from(out);
}

function scalarData(n: JsonNode): Buffer {
	switch (n.t) {
		case "literal":
			return u8(n.v === null ? 0 : n.v ? 1 : 2);
		case "int16": {
			const b = Buffer.alloc(2);
			b.writeInt16LE(n.v);
			return b;
		}
		case "uint16":
			return u16(n.v);
		case "int32":
			return int32(n.v);
		case "uint32":
			return u32(n.v);
		case "int64":
		case "uint64":
			return u64(n.v);
		case "double": {
			const b = Buffer.alloc(8);
			b.writeDoubleLE(n.v);
			return b;
		}
		case "string":
			return lengthPrefixedJson(Buffer.from(n.v, "utf8"));
		case "opaque":
			return Buffer.concat([u8(n.fieldType), lengthPrefixedJson(n.data)]);
		default:
			return containerData(n);
	}
}

function lengthPrefixedJson(b: Buffer): Buffer {
	return Buffer.concat([varLength(b.length), b]);
}

/** MySQL's key order: shorter keys first, equal lengths by bytes. */
function mysqlKeyOrder(a: string, b: string): number {
	const x = Buffer.from(a);
	const y = Buffer.from(b);
	return x.length - y.length || Buffer.compare(x, y);
}

/**
 * [JSON] object/array: element count, total size (2 bytes each, 4 in the large format), key
 * entries (offset, u16 length) for objects, value entries (type(1), then the value inlined
 * (literals, int16, uint16; and int32, uint32 in the large format) or its offset), keys, values.
 * Offsets count from the element count.
 */
function containerData(n: Extract<JsonNode, { t: "array" | "object" }>): Buffer {
	const large = !!n.large;
	const w = large ? 4 : 2;
	const word = (v: number) => (large ? u32(v) : u16(v));
	const entries: [string | null, JsonNode][] =
		n.t === "object"
			? Object.keys(n.v)
					.sort(mysqlKeyOrder)
					.map((k) => [k, (n.v as Record<string, JsonNode>)[k] as JsonNode])
			: n.v.map((v) => [null, v]);
	const count = entries.length;
	const headerSize = 2 * w + (n.t === "object" ? count * (w + 2) : 0) + count * (1 + w);
	const keys = entries.map(([k]) => (k === null ? Buffer.alloc(0) : Buffer.from(k, "utf8")));
	let offset = headerSize + keys.reduce((s, k) => s + k.length, 0);
	const inlined = (v: JsonNode) =>
		v.t === "literal" || v.t === "int16" || v.t === "uint16" || (large && (v.t === "int32" || v.t === "uint32"));
	const valueEntries: Buffer[] = [];
	const values: Buffer[] = [];
	for (const [, v] of entries) {
		if (inlined(v)) {
			const data = scalarData(v);
			valueEntries.push(Buffer.concat([u8(typeOf(v)), data, Buffer.alloc(w - data.length)]));
		} else {
			const data = scalarData(v);
			valueEntries.push(Buffer.concat([u8(typeOf(v)), word(offset)]));
			values.push(data);
			offset += data.length;
		}
	}
	const keyEntries: Buffer[] = [];
	let keyOffset = headerSize;
	for (const k of keys) {
		if (n.t !== "object") break;
		keyEntries.push(Buffer.concat([word(keyOffset), u16(k.length)]));
		keyOffset += k.length;
	}
	return Buffer.concat([word(count), word(offset), ...keyEntries, ...valueEntries, ...keys, ...values]);
}

/** A whole binary JSON document: the root's type byte, then its data. */
export function jsonDocument(root: JsonNode): Buffer {
	return Buffer.concat([u8(typeOf(root)), scalarData(root)]);
}

/** [TIME] a packed DATETIME (TIME_to_longlong_datetime_packed) as JSON stores it in opaque values. */
export function packedDatetime(
	y: number,
	mo: number,
	d: number,
	h: number,
	mi: number,
	s: number,
	micro: number,
): Buffer {
	const ymd = (BigInt(y * 13 + mo) << 5n) | BigInt(d);
	const hms = (BigInt(h) << 12n) | (BigInt(mi) << 6n) | BigInt(s);
	const packedValue = (((ymd << 17n) | hms) << 24n) + BigInt(micro);
	const b = Buffer.alloc(8);
	b.writeBigInt64LE(packedValue);
	return b;
}
