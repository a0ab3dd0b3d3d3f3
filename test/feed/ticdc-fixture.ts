import { readFileSync } from "node:fs";
import type { RowImage } from "../../shared/capture/change.ts";
import type { ColumnInfo } from "../../shared/db/introspect.ts";
import type { FeedRecord } from "../../shared/feed/event.ts";

/*
 * The TiDB table of test/fixtures/ticdc (README there) and the values capture gives for its rows:
 * both TiCDC formats carry the same rows, so both decode to these. The changefeed's time zone
 * was Asia/Shanghai: TIMESTAMPs are sent 8 hours ahead of the UTC values here.
 */

export const FIXTURES = new URL("../fixtures/ticdc/", import.meta.url);

export const CHANGEFEED_ZONE = "Asia/Shanghai";

const SET40 = Array.from({ length: 40 }, (_, i) => `'v${i + 1}'`).join(",");

const TYPES: [name: string, columnType: string][] = [
	["id", "int"],
	["ti", "tinyint"],
	["tiu", "tinyint unsigned"],
	["si", "smallint"],
	["siu", "smallint unsigned"],
	["mi", "mediumint"],
	["miu", "mediumint unsigned"],
	["i", "int"],
	["iu", "int unsigned"],
	["bi", "bigint"],
	["biu", "bigint unsigned"],
	["dec65", "decimal(65,30)"],
	["dec52", "decimal(5,2)"],
	["dec10", "decimal(10,0)"],
	["f", "float"],
	["d", "double"],
	["bit1", "bit(1)"],
	["bit10", "bit(10)"],
	["bit64", "bit(64)"],
	["dt", "date"],
	["t0", "time"],
	["t6", "time(6)"],
	["dt0", "datetime"],
	["dt6", "datetime(6)"],
	["dt3", "datetime(3)"],
	["ts0", "timestamp"],
	["ts6", "timestamp(6)"],
	["y", "year"],
	["c", "char(10)"],
	["vc", "varchar(100)"],
	["tt", "tinytext"],
	["tx", "text"],
	["mtx", "mediumtext"],
	["ltx", "longtext"],
	["bin", "binary(8)"],
	["vbin", "varbinary(100)"],
	["tbl", "tinyblob"],
	["bl", "blob"],
	["mbl", "mediumblob"],
	["lbl", "longblob"],
	["e", "enum('red','green','blé')"],
	["s", "set('a','b','c','d')"],
	["s40", `set(${SET40})`],
	["j", "json"],
];

/** The table's columns as information_schema describes them (shared/db/introspect.ts). */
export const ALL_TYPES_COLUMNS: ColumnInfo[] = TYPES.map(([name, columnType]) => {
	const dataType = /^[a-z]+/.exec(columnType)?.[0] ?? "";
	const scale = /^decimal\(\d+,(\d+)\)/.exec(columnType)?.[1];
	return {
		name,
		dataType,
		columnType,
		nullable: name !== "id",
		charset: /char|text|enum|set/.test(dataType) ? "utf8mb4" : null,
		collation: /char|text|enum|set/.test(dataType) ? "utf8mb4_bin" : null,
		numericPrecision: null,
		numericScale: scale === undefined ? null : Number(scale),
		generated: false,
		autoIncrement: false,
	};
});

const hex = (text: string) => Buffer.from(text, "hex");

/** Row 1: every type at an extreme. */
export const ROW_1: RowImage = {
	id: 1,
	ti: -128,
	tiu: 255,
	si: -32768,
	siu: 65535,
	mi: -8388608,
	miu: 16777215,
	i: -2147483648,
	iu: 4294967295,
	bi: "-9223372036854775808",
	biu: "18446744073709551615",
	dec65: "-12345678901234567890123456789012345.123456789012345678901234567890",
	dec52: "-999.99",
	dec10: "9999999999",
	f: Math.fround(Number("3.1415926")),
	d: -1.7976931348623157e308,
	bit1: hex("01"),
	bit10: hex("02aa"),
	bit64: hex("ffffffffffffffff"),
	dt: "9999-12-31",
	t0: "838:59:59",
	t6: "-838:59:59.000000",
	dt0: "1000-01-01 00:00:00",
	dt6: "2024-02-29 23:59:59.999999",
	dt3: "2024-01-02 03:04:05.678",
	ts0: "2038-01-19 03:14:07",
	ts6: "1970-01-01 00:00:01.000001",
	y: 2155,
	c: "ab",
	vc: "héllo 😀 wörld",
	tt: "tiny ☃",
	tx: 'multi\nline\ttext "quoted" \\ back',
	mtx: "<medium> & text",
	ltx: "long long long long ",
	bin: hex("00ff00ff00000000"),
	vbin: hex("00010203fffe"),
	tbl: Buffer.alloc(0),
	bl: Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
	mbl: hex("00ff00ff00ff00ff"),
	lbl: hex("deadbeef"),
	e: "blé",
	s: "a,d",
	s40: "v1,v33,v40",
	j: '{"10": "ten", "a": {"c": null}, "b": [1, 2.5, "x", true, null], "é": "😀"}',
};

/** Row 2: zero, empty and smallest values (zero dates, the ENUM error value, an empty SET). */
export const ROW_2: RowImage = {
	id: 2,
	ti: 127,
	tiu: 0,
	si: 32767,
	siu: 0,
	mi: 8388607,
	miu: 0,
	i: 2147483647,
	iu: 0,
	bi: "9223372036854775807",
	biu: 0,
	dec65: "0.000000000000000000000000000000",
	dec52: "0.05",
	dec10: "-9999999999",
	f: 0,
	d: 2.2250738585072014e-308,
	bit1: hex("00"),
	bit10: hex("0000"),
	bit64: hex("0000000000000001"),
	dt: "0000-00-00",
	t0: "-838:59:59",
	t6: "-00:00:00.000001",
	dt0: "0000-00-00 00:00:00",
	dt6: "0000-00-00 00:00:00.000000",
	dt3: "2024-00-00 00:00:00.000",
	ts0: "0000-00-00 00:00:00",
	ts6: "0000-00-00 00:00:00.000000",
	y: 0,
	c: "",
	vc: "",
	tt: "",
	tx: "",
	mtx: "",
	ltx: "",
	bin: Buffer.alloc(8),
	vbin: Buffer.alloc(0),
	tbl: Buffer.alloc(0),
	bl: Buffer.alloc(0),
	mbl: Buffer.alloc(0),
	lbl: Buffer.alloc(0),
	e: "",
	s: "",
	s40: "",
	j: '"text"',
};

/** Row 3: every column but the key NULL. */
export const ROW_3: RowImage = Object.fromEntries(TYPES.map(([name]) => [name, name === "id" ? 3 : null]));

/** Row 1 after its first update. */
export const ROW_1_UPDATED: RowImage = {
	...ROW_1,
	vc: "héllo 😀 wörld!",
	bi: "-4611686018427387904",
	dt6: "2000-01-01 00:00:00.500000",
	e: "red",
	biu: "9007199254740993",
	vbin: Buffer.from([0xc3, 0xa9, 0x22, 0x5c, 0x0a, 0x80]),
};

/** Row 1 after its second update, whose old row holds only the changed columns. */
export const ROW_1_UPDATED_AGAIN: RowImage = { ...ROW_1_UPDATED, vc: "bye", ti: 0 };

/** The commit TSOs of the fixture's transactions; none survives a trip through a JavaScript number. */
export const TSO = {
	ddl: 448304790896640001n,
	insert: 448304791279632387n,
	update: 448304791422763013n,
	update2: 448304791422763014n,
	delete: 448304791683072009n,
	watermark: 448304791945216007n,
};

let offset = 0n;

/** A Kafka record as the reader would hand it over. */
export function record(value: Buffer | null, key: Buffer | null = null): FeedRecord {
	offset += 1n;
	return { topic: "ticdc", partition: 0, offset, key, value };
}

/** The lines of a canal-json fixture, one message each. */
export function canalJsonLines(name: string): Buffer[] {
	return readFileSync(new URL(`canal-json/${name}`, FIXTURES), "utf8")
		.split("\n")
		.filter((line) => line !== "")
		.map((line) => Buffer.from(line, "utf8"));
}

/** An open-protocol fixture's Kafka record: its key and value files. */
export function openProtocolRecord(name: string): FeedRecord {
	const read = (part: string) => readFileSync(new URL(`open-protocol/${name}.${part}`, FIXTURES));
	return record(read("value"), read("key"));
}
