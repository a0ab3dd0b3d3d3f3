import type { RowImage } from "../../shared/capture/change.ts";
import { type ColumnInfo, columnOfType } from "../../shared/db/introspect.ts";
import type { SinkTable } from "../../shared/sinks/event.ts";

/*
 * A table with a column of every type the sink formats encode (all-types.ts's types, as
 * information_schema describes them) and rows in capture's representation (shared/capture/change.ts
 * `Value`, as the binlog reader and the snapshot reader give them): extremes, the other edges
 * (zero and empty values, ENUM's '' error value, the empty SET, negative TIME), BIGINT on both
 * sides of 2^53, all NULLs, and zero dates.
 */

export function column(name: string, columnType: string, extra: Partial<ColumnInfo> = {}): ColumnInfo {
	return { ...columnOfType(name, columnType), ...extra };
}

const S64 = Array.from({ length: 64 }, (_, i) => `'v${i + 1}'`).join(",");

export const typesTable: SinkTable = {
	name: { database: "shop", table: "all_types" },
	columns: [
		column("id", "int(11)", { nullable: false }),
		...[
			["g", "geometry"],
			["pt", "point"],
			["ls", "linestring"],
			["poly", "polygon"],
			["ti", "tinyint(4)"],
			["tiu", "tinyint(3) unsigned"],
			["si", "smallint(6)"],
			["siu", "smallint(5) unsigned"],
			["mi", "mediumint(9)"],
			["miu", "mediumint(8) unsigned"],
			["i", "int(11)"],
			["iu", "int(10) unsigned"],
			["bi", "bigint(20)"],
			["biu", "bigint(20) unsigned"],
			["dec65", "decimal(65,30)"],
			["dec10", "decimal(10,0)"],
			["dec52", "decimal(5,2)"],
			["f", "float"],
			["f72", "float(7,2)"],
			["d", "double"],
			["bit1", "bit(1)"],
			["bit10", "bit(10)"],
			["bit64", "bit(64)"],
			["dt", "date"],
			["t0", "time"],
			["t6", "time(6)"],
			["t3", "time(3)"],
			["dt0", "datetime"],
			["dt6", "datetime(6)"],
			["dt3", "datetime(3)"],
			["ts0", "timestamp"],
			["ts6", "timestamp(6)"],
			["y", "year(4)"],
			["c", "char(10)"],
			["vc", "varchar(100)"],
			["tt", "tinytext"],
			["tx", "text"],
			["mtx", "mediumtext"],
			["ltx", "longtext"],
			["bin", "binary(8)"],
			["vbin", "varbinary(256)"],
			["tbl", "tinyblob"],
			["bl", "blob"],
			["mbl", "mediumblob"],
			["lbl", "longblob"],
			["e", "enum('red','green','blé','it''s')"],
			["s", "set('a','b','c','d')"],
			["s64", `set(${S64})`],
			["j", "json"],
			["u", "uuid"],
			["ip6", "inet6"],
			["ip4", "inet4"],
		].map(([name, type]) => column(name as string, type as string)),
	],
	key: ["id"],
};

// Spatial values as MariaDB stores them: 4-byte little-endian SRID, then little-endian WKB

function wkb(type: number, body: Buffer, srid = 0): Buffer {
	const head = Buffer.alloc(9);
	head.writeInt32LE(srid, 0);
	head.writeUInt8(1, 4);
	head.writeUInt32LE(type, 5);
	return Buffer.concat([head, body]);
}

function points(...xy: number[][]): Buffer {
	const out = Buffer.alloc(4 + 16 * xy.length);
	out.writeUInt32LE(xy.length, 0);
	xy.forEach(([x, y], i) => {
		out.writeDoubleLE(x as number, 4 + 16 * i);
		out.writeDoubleLE(y as number, 12 + 16 * i);
	});
	return out;
}

const point = (x: number, y: number, srid = 0) => wkb(1, points([x, y]).subarray(4), srid);
const lineString = (...xy: number[][]) => wkb(2, points(...xy));
const polygon = (...rings: number[][][]) =>
	wkb(3, Buffer.concat([Buffer.from(new Uint32Array([rings.length]).buffer), ...rings.map((r) => points(...r))]));

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

/** Every column NULL but the key. */
export const nullRow: RowImage = Object.fromEntries(
	typesTable.columns.map((c) => [c.name, c.name === "id" ? 4 : null]),
);

export const extremeRow: RowImage = {
	id: 1,
	g: point(1, 2),
	pt: point(-1.5, 2.25, 4326),
	ls: lineString([0, 0], [1, 1], [2, 3]),
	poly: polygon(
		[
			[0, 0],
			[4, 0],
			[4, 4],
			[0, 4],
			[0, 0],
		],
		[
			[1, 1],
			[2, 1],
			[2, 2],
			[1, 1],
		],
	),
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
	dec10: "9999999999",
	dec52: "-999.99",
	f: Math.fround(1.23456789),
	f72: Math.fround(-99999.99),
	d: -1.7976931348623157e308,
	bit1: Buffer.from([1]),
	bit10: Buffer.from([0x03, 0xff]),
	bit64: Buffer.alloc(8, 0xff),
	dt: "9999-12-31",
	t0: "838:59:59",
	t6: "-838:59:59.000000",
	t3: "-00:00:01.500",
	dt0: "1000-01-01 00:00:00",
	dt6: "9999-12-31 23:59:59.999999",
	dt3: "2024-01-02 03:04:05.678",
	ts0: "2038-01-19 03:14:07",
	ts6: "1970-01-01 00:00:01.000001",
	y: 2155,
	c: "ab",
	vc: "héllo 😀 wörld",
	tt: "tiny ☃",
	tx: 'multi\nline\ttext "quoted" \\ back',
	mtx: "m".repeat(70000),
	ltx: "long ".repeat(1000),
	bin: Buffer.from("00ff00ff000000ff", "hex"),
	vbin: ALL_BYTES,
	tbl: Buffer.from("00010203fffe", "hex"),
	bl: ALL_BYTES,
	mbl: Buffer.alloc(80000, "00ff", "hex"),
	lbl: Buffer.from("deadbeef", "hex"),
	e: "blé",
	s: "a,d",
	s64: "v1,v53,v64",
	j: '{"b": [1, 2.5, "x", true, null], "a": {"c": null}, "10": "ten", "é": "😀"}',
	u: "123e4567-e89b-12d3-a456-426614174000",
	ip6: "2001:db8::ff00:42:8329",
	ip4: "192.168.0.1",
};

export const edgeRow: RowImage = {
	id: 2,
	g: point(0, 0),
	pt: point(0, 0),
	ls: lineString([0, 0], [0, 0]),
	poly: polygon([
		[0, 0],
		[1, 0],
		[0, 1],
		[0, 0],
	]),
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
	dec65: "0.000000000000000000000000000001",
	dec10: "-9999999999",
	dec52: "0.05",
	f: Math.fround(0.1),
	f72: 0,
	d: 2.2250738585072014e-308,
	bit1: Buffer.from([0]),
	bit10: Buffer.alloc(2),
	bit64: Buffer.from("0000000000000001", "hex"),
	dt: "0001-01-01",
	t0: "-838:59:59",
	t6: "-00:00:00.000001",
	t3: "00:00:00.000",
	dt0: "0001-01-01 00:00:00",
	dt6: "1969-12-31 23:59:59.999999",
	dt3: "0050-03-04 00:00:00.001",
	ts0: "1970-01-01 00:00:01",
	ts6: "2038-01-19 03:14:07.999999",
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
	e: "", // the '' error value (index 0)
	s: "",
	s64: "",
	j: '"text"',
	u: "00000000-0000-0000-0000-000000000000",
	ip6: "::",
	ip4: "0.0.0.0",
};

/** BIGINT at 2^53 (the last number, the first string), FLOAT and DOUBLE that print in E notation. */
export const numbersRow: RowImage = {
	...nullRow,
	id: 3,
	bi: 9007199254740991,
	biu: "9007199254740992",
	i: -1,
	f: Math.fround(16777217),
	f72: Math.fround(0.01),
	d: 123456789.125,
	dec52: "-0.01",
	dt6: "2001-02-03 04:05:06.500000",
	ts6: "2001-02-03 04:05:06.500000",
	t6: "00:00:00.000001",
	y: 1901,
	e: "it's",
	s: "a,b,c,d",
	s64: "v64",
};

/** Zero and partly zero dates (MySQL's zero values). */
export const zeroDatesRow: RowImage = {
	...nullRow,
	id: 5,
	dt: "0000-00-00",
	dt0: "0000-00-00 00:00:00",
	dt6: "0000-00-00 00:00:00.000000",
	dt3: "2024-00-00 00:00:00.000",
	ts0: "0000-00-00 00:00:00",
	ts6: "0000-00-00 00:00:00.000000",
};
