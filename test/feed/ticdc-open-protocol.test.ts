import { describe, expect, it } from "vitest";
import type { ColumnInfo } from "../../shared/db/introspect.ts";
import { type FeedDdl, type FeedEvent, FeedFormatError, type FeedRow } from "../../shared/feed/event.ts";
import { goUnquote, ticdcOpenProtocolFormat } from "../../shared/feed/ticdc-open-protocol.ts";
import { openProtocolRecord as encode } from "../support/ticdc.ts";
import {
	ALL_TYPES_COLUMNS,
	CHANGEFEED_ZONE,
	openProtocolRecord,
	ROW_1,
	ROW_1_UPDATED,
	ROW_1_UPDATED_AGAIN,
	ROW_2,
	ROW_3,
	record,
	TSO,
} from "./ticdc-fixture.ts";

/*
 * TiCDC's open protocol read back: the fixtures of test/fixtures/ticdc/open-protocol (README
 * there), key and value files of one Kafka record each, TiCDC's documented examples among them.
 */

const format = ticdcOpenProtocolFormat({ timeZone: CHANGEFEED_ZONE });
const decode = (name: string) => format.decode(openProtocolRecord(name));
const rowsOf = (events: FeedEvent[]) => events.filter((e): e is FeedRow => e.kind === "row");
const values = (raw: FeedRow["after"], row: FeedRow | undefined) =>
	format.values(raw ?? {}, ALL_TYPES_COLUMNS, row as FeedRow);

describe("TiCDC open protocol: every column type", () => {
	it("reads a DDL event", () => {
		const [ddl] = decode("all-types-ddl") as [FeedDdl];
		expect(ddl).toMatchObject({ kind: "ddl", database: "test", table: "all_types" });
		expect(ddl.sql).toMatch(/^CREATE TABLE all_types \(id INT PRIMARY KEY, /);
		expect(ddl.transaction.order).toBe(TSO.ddl);
	});

	it("reads a batch of inserts, each TSO exactly, and converts every column type", () => {
		const rows = rowsOf(decode("all-types-insert"));
		expect(rows.map((r) => r.op)).toEqual(["insert", "insert", "insert"]);
		for (const row of rows) {
			expect(row.table).toEqual({ database: "test", table: "all_types" });
			expect(row.transaction).toEqual({
				id: "448304791279632387",
				order: TSO.insert,
				commitTs: "448304791279632387",
				commitTime: Date.UTC(2024, 2, 11, 8, 51, 1, 461),
			});
		}
		expect(BigInt(Number(TSO.insert))).not.toBe(TSO.insert);
		const [r1, r2, r3] = rows;
		expect(values(r1?.after, r1)).toEqual(ROW_1);
		expect(values(r2?.after, r2)).toEqual(ROW_2);
		expect(values(r3?.after, r3)).toEqual(ROW_3);
	});

	it("names each column's type from its type code and flags", () => {
		const [row] = rowsOf(decode("all-types-insert"));
		expect(row?.types).toMatchObject({
			id: "int",
			tiu: "tinyint unsigned",
			biu: "bigint unsigned",
			dec52: "decimal",
			f: "float",
			bit10: "bit",
			ts6: "timestamp",
			y: "year",
			c: "char",
			vc: "varchar",
			tx: "text",
			bin: "binary",
			vbin: "varbinary",
			bl: "blob",
			e: "enum",
			s40: "set",
			j: "json",
		});
	});

	it("reads updates with the whole old row or only its changed columns, and a delete's whole row", () => {
		const [full, changed] = rowsOf(decode("all-types-update"));
		expect(full?.transaction.order).toBe(TSO.update);
		expect(changed?.transaction.order).toBe(TSO.update2);
		expect(values(full?.before, full)).toEqual(ROW_1);
		expect(values(full?.after, full)).toEqual(ROW_1_UPDATED);
		expect(values(changed?.before, changed)).toEqual(ROW_1_UPDATED);
		expect(values(changed?.after, changed)).toEqual(ROW_1_UPDATED_AGAIN);
		const [removed] = rowsOf(decode("all-types-delete"));
		expect(removed).toMatchObject({ op: "delete", transaction: { order: TSO.delete } });
		expect(removed?.after).toBeUndefined();
		expect(values(removed?.before, removed)).toEqual(ROW_2);
	});

	it("reads a resolved event as a watermark", () => {
		expect(decode("resolved")).toEqual([{ kind: "watermark", order: TSO.watermark, ts: TSO.watermark.toString() }]);
	});

	it("converts a column the table lacks by the type code the message gives it", () => {
		const [row] = rowsOf(decode("all-types-insert"));
		expect(format.values(row?.after ?? {}, [], row as FeedRow)).toMatchObject({
			bl: ROW_1.bl,
			tx: ROW_1.tx,
			vbin: ROW_1.vbin,
			biu: "18446744073709551615",
			e: 3,
			dt6: ROW_1.dt6,
		});
	});
});

describe("TiCDC open protocol: the documentation's examples", () => {
	const t1: ColumnInfo[] = [
		{ ...(ALL_TYPES_COLUMNS[0] as ColumnInfo), name: "id" },
		{ ...(ALL_TYPES_COLUMNS[0] as ColumnInfo), name: "val", dataType: "varchar", columnType: "varchar(16)" },
	];

	it("reads the DDL and a resolved event whose value is empty", () => {
		expect(decode("docs-ddl")).toMatchObject([
			{
				kind: "ddl",
				database: "test",
				table: "t1",
				sql: "CREATE TABLE test.t1(id int primary key, val varchar(16))",
				transaction: { order: 415508856908021766n },
			},
		]);
		expect(decode("docs-resolved")).toEqual([
			{ kind: "watermark", order: 415508856908021766n, ts: "415508856908021766" },
		]);
	});

	it("reads a batch of one partition's row events, duplicates and a key-only delete as they come", () => {
		const rows = rowsOf(decode("docs-rows"));
		expect(rows.map((r) => r.op)).toEqual(["insert", "insert", "insert", "delete", "insert"]);
		expect(rows.map((r) => format.values(r.after ?? r.before ?? {}, t1, r))).toEqual([
			{ id: 1, val: "aa" },
			{ id: 3, val: "cc" },
			{ id: 3, val: "cc" },
			{ id: 1 },
			{ id: 3, val: "dd" },
		]);
		expect(rows.map((r) => r.transaction.order)).toEqual([
			415508878783938562n,
			415508878783938562n,
			415508878783938562n,
			415508881418485761n,
			415508881418485761n,
		]);
	});

	it("reads a quoted VARBINARY value back into its bytes", () => {
		const [row] = rowsOf(decode("docs-varbinary"));
		const columns = [
			t1[0] as ColumnInfo,
			{ ...(t1[1] as ColumnInfo), name: "png", dataType: "varbinary", columnType: "varbinary(8)" },
		];
		expect(format.values(row?.after ?? {}, columns, row as FeedRow).png).toEqual(
			Buffer.from("89504e470d0a1a0a", "hex"),
		);
	});
});

describe("TiCDC open protocol: framing and refusals", () => {
	const insert = openProtocolRecord("all-types-insert");

	it("refuses a row sent as its key columns only", () => {
		expect(() => decode("handle-key-only")).toThrow(/key columns/);
	});

	it("refuses another version, a record cut short, and more values than keys", () => {
		const key = Buffer.from(insert.key ?? Buffer.alloc(0));
		key.writeBigUInt64BE(2n, 0);
		expect(() => format.decode(record(insert.value, key))).toThrow(/version 2/);
		expect(() => format.decode(record(insert.value?.subarray(0, 100) ?? null, insert.key))).toThrow(FeedFormatError);
		const doubled = Buffer.concat([insert.value ?? Buffer.alloc(0), insert.value ?? Buffer.alloc(0)]);
		expect(() => format.decode(record(doubled, insert.key))).toThrow(/more values than keys/);
		expect(() => format.decode(record(insert.value, null))).toThrow(/offset/);
	});

	it("undoes Go's quoting of binary strings", () => {
		expect(goUnquote(String.raw`\a\b\f\n\r\t\v\\\"\x00\xff\u00e9\U0001F600\101é`)).toEqual(
			Buffer.concat([Buffer.from([7, 8, 12, 10, 13, 9, 11, 92, 34, 0, 0xff]), Buffer.from("é😀Aé", "utf8")]),
		);
		expect(() => goUnquote(String.raw`\x1g`)).toThrow(/bad escape/);
	});
});

describe("TiCDC open protocol: records written by test/support/ticdc.ts", () => {
	it("decode to the events they were made of", () => {
		const tso = (1n << 62n) + 3n;
		const columns = ALL_TYPES_COLUMNS.filter((c) => ["id", "biu", "vbin", "bl", "tx", "bit64"].includes(c.name));
		const { key, value } = encode([
			{ kind: "ddl", ts: tso, database: "db", table: "t", sql: "TRUNCATE TABLE t", type: 11 },
			{
				kind: "row",
				ts: tso + 1n,
				database: "db",
				table: "t",
				u: {
					id: { t: 3, h: true, f: 11, v: 1 },
					biu: { t: 8, f: 0x80, v: 18446744073709551614n },
					vbin: { t: 15, v: Buffer.from('\x00"\\\né', "latin1") },
					bl: { t: 252, v: Buffer.from([0, 1, 2]) },
					tx: { t: 252, v: Buffer.from("text ☃") },
					bit64: { t: 16, v: 18446744073709551615n },
				},
				p: { id: { t: 3, v: 0 } },
			},
			{ kind: "resolved", ts: tso + 2n },
		]);
		const [ddl, row, resolved] = format.decode(record(value, key)) as [FeedDdl, FeedRow, FeedEvent];
		expect(ddl).toMatchObject({ sql: "TRUNCATE TABLE t", transaction: { commitTs: "4611686018427387907" } });
		expect(row.transaction.order).toBe(tso + 1n);
		expect(format.values(row.after ?? {}, columns, row)).toEqual({
			id: 1,
			biu: "18446744073709551614",
			vbin: Buffer.from('\x00"\\\né', "latin1"),
			bl: Buffer.from([0, 1, 2]),
			tx: "text ☃",
			bit64: Buffer.alloc(8, 0xff),
		});
		expect(format.values(row.before ?? {}, columns, row).id).toBe(0);
		expect(resolved).toEqual({ kind: "watermark", order: tso + 2n, ts: (tso + 2n).toString() });
	});
});
