import type { RowImage } from "../../shared/capture/change.ts";
import type { ColumnInfo } from "../../shared/db/introspect.ts";
import { SyncOptions } from "../../shared/model/sync.ts";
import type { DdlEvent, EventSource, HeartbeatEvent, RowEvent, SinkTable } from "../../shared/sinks/event.ts";

/*
 * One table with a column of every kind the formats encode differently, its rows in capture's
 * representation (shared/capture/change.ts), and the events the format tests encode.
 */

function column(name: string, columnType: string, extra: Partial<ColumnInfo> = {}): ColumnInfo {
	return {
		name,
		dataType: (/^\w+/.exec(columnType)?.[0] ?? "").toLowerCase(),
		columnType,
		nullable: true,
		charset: null,
		collation: null,
		numericPrecision: null,
		numericScale: null,
		generated: false,
		autoIncrement: false,
		...extra,
	};
}

export const table: SinkTable = {
	name: { database: "shop", table: "items" },
	columns: [
		column("id", "int(11)", { nullable: false }),
		column("big", "bigint(20) unsigned"),
		column("dec", "decimal(10,2)", { numericPrecision: 10, numericScale: 2 }),
		column("f", "float"),
		column("d", "double"),
		column("dt", "date"),
		column("dtm", "datetime(6)"),
		column("ts", "timestamp"),
		column("tm", "time"),
		column("yr", "year(4)"),
		column("ch", "char(3)", { charset: "utf8mb4" }),
		column("vc", "varchar(20)", { charset: "utf8mb4" }),
		column("tx", "text", { charset: "utf8mb4" }),
		column("en", "enum('small','medium','large')", { charset: "utf8mb4" }),
		column("st", "set('a','b','c')", { charset: "utf8mb4" }),
		column("js", "json"),
		column("bn", "binary(4)"),
		column("vb", "varbinary(10)"),
		column("bl", "blob"),
		column("b1", "bit(1)"),
		column("b10", "bit(10)"),
		column("geo", "geometry"),
		column("nl", "varchar(5)", { charset: "utf8mb4" }),
	],
	key: ["id"],
};

/** POINT(1 2) as MySQL stores it: SRID 0, then little-endian WKB. */
export const point = Buffer.from("00000000" + "01" + "01000000" + "000000000000f03f" + "0000000000000040", "hex");

/** The values every format writes as they are: temporal and character columns. */
export const textValues = {
	dt: "2024-02-29",
	dtm: "2024-02-29 12:34:56.789012",
	ts: "2024-02-29 10:00:00",
	tm: "12:34:56",
	ch: "abc",
	vc: "héllo",
	tx: "long text",
};

export const after: RowImage = {
	id: 1,
	big: "18446744073709551615",
	dec: "1234.50",
	f: Math.fround(0.1),
	d: 12345678.9,
	...textValues,
	yr: 2024,
	en: "medium",
	st: "a,c",
	js: '{"b": 1, "a": [1, 2.5]}',
	bn: Buffer.from([0x00, 0xff, 0x10, 0x80]),
	vb: Buffer.from("hi\0"),
	bl: Buffer.from([0xde, 0xad, 0xbe, 0xef]),
	b1: Buffer.from([0x01]),
	b10: Buffer.from([0x02, 0x01]),
	geo: point,
	nl: null,
};

/** The row before the update: three columns differ (dec, vc, nl); every other value is equal. */
export const before: RowImage = { ...after, dec: "99.99", vc: "hello", nl: "was" };

export const source: EventSource = {
	gtid: "0-1-42",
	file: "mysql-bin.000006",
	pos: 800911,
	rowIndex: 3,
	commitTime: 1718000000123,
	serverId: 7,
};

export const insert: RowEvent = { kind: "row", op: "insert", table, after, source };
export const update: RowEvent = { kind: "row", op: "update", table, before, after, source: { ...source, last: true } };
export const remove: RowEvent = { kind: "row", op: "delete", table, before: after, source };
export const snapshotRow: RowEvent = {
	kind: "row",
	op: "read",
	table,
	after,
	source: { file: "mysql-bin.000005", pos: 4, rowIndex: 0, commitTime: 1717999999000, serverId: 7, snapshot: "first" },
};

export const ddl: DdlEvent = {
	kind: "ddl",
	database: "shop",
	table: "items",
	sql: "ALTER TABLE `shop`.`items` ADD INDEX idx_vc (vc)",
	source: { ...source, rowIndex: 0 },
};

export const heartbeat: HeartbeatEvent = {
	kind: "heartbeat",
	time: 1718000005999,
	position: { gtid: "0-1-42", file: "mysql-bin.000006", pos: 801000 },
	serverId: 7,
};

export const options = SyncOptions.parse({ serverName: "shop-db" });

/** A JSON number whose text JavaScript would not write back the same (1.50, 1.0E10, 2^64). */
export class Num {
	constructor(readonly text: string) {}
}
export const num = (text: string) => new Num(text);

/** Parses a message, keeping each number's exact text where a JS number would lose it. */
export function parse(bytes: Buffer | null): unknown {
	if (bytes === null) return null;
	return JSON.parse(bytes.toString("utf8"), (_key, value, context?: { source?: string }) =>
		typeof value === "number" && context?.source !== undefined && context.source !== String(value)
			? new Num(context.source)
			: value,
	);
}
