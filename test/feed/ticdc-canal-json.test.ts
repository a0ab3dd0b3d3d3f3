import { describe, expect, it } from "vitest";
import type { ColumnInfo } from "../../shared/db/introspect.ts";
import { type FeedDdl, type FeedEvent, FeedFormatError, type FeedRow } from "../../shared/feed/event.ts";
import { ticdcCanalJsonFormat } from "../../shared/feed/ticdc-canal-json.ts";
import { canalJsonDdl, canalJsonMessage, canalJsonWatermark } from "../support/ticdc.ts";
import {
	ALL_TYPES_COLUMNS,
	CHANGEFEED_ZONE,
	canalJsonLines,
	ROW_1,
	ROW_1_UPDATED,
	ROW_1_UPDATED_AGAIN,
	ROW_2,
	ROW_3,
	record,
	TSO,
} from "./ticdc-fixture.ts";

/*
 * TiCDC's canal-json read back: the fixtures of test/fixtures/ticdc/canal-json (README there),
 * TiCDC's documented examples among them.
 */

const format = ticdcCanalJsonFormat({ timeZone: CHANGEFEED_ZONE });

function decodeAll(name: string): FeedEvent[] {
	return canalJsonLines(name).flatMap((line) => format.decode(record(line)));
}

const rowsOf = (events: FeedEvent[]) => events.filter((e): e is FeedRow => e.kind === "row");

describe("TiCDC canal-json: every column type", () => {
	const lines = canalJsonLines("all-types.jsonl");
	const events = decodeAll("all-types.jsonl");
	const rows = rowsOf(events);
	const values = (raw: FeedRow["after"], row: FeedRow) => format.values(raw ?? {}, ALL_TYPES_COLUMNS, row);

	it("reads the DDL, the row changes and the watermark in the record's order", () => {
		expect(events.map((e) => (e.kind === "row" ? e.op : e.kind))).toEqual([
			"ddl",
			"insert",
			"insert",
			"insert",
			"update",
			"update",
			"delete",
			"watermark",
		]);
		const ddl = events[0] as FeedDdl;
		expect(ddl).toMatchObject({ database: "test", table: "all_types" });
		expect(ddl.sql).toMatch(/^CREATE TABLE all_types \(id INT PRIMARY KEY, ti tinyint, /);
		for (const row of rows) expect(row.table).toEqual({ database: "test", table: "all_types" });
	});

	it("takes each commit TSO exactly, beyond what a JavaScript number holds", () => {
		const orders = events.map((e) => (e.kind === "watermark" ? e.order : e.transaction.order));
		expect(orders).toEqual([
			TSO.ddl,
			TSO.insert,
			TSO.insert,
			TSO.insert,
			TSO.update,
			TSO.update2,
			TSO.delete,
			TSO.watermark,
		]);
		// the two updates' TSOs are one apart: as doubles they would be the same transaction
		expect(Number(TSO.update)).toBe(Number(TSO.update2));
		const update = rows[3] as FeedRow;
		expect(update.transaction).toEqual({
			id: TSO.update.toString(),
			order: TSO.update,
			commitTs: TSO.update.toString(),
			commitTime: JSON.parse(lines[4]?.toString() ?? "").es,
		});
		expect(events[7]).toEqual({ kind: "watermark", order: TSO.watermark, ts: TSO.watermark.toString() });
	});

	it("converts every column type to capture's values, TIMESTAMPs from the changefeed's zone to UTC", () => {
		const [r1, r2, r3] = rows as [FeedRow, FeedRow, FeedRow];
		expect(values(r1.after, r1)).toEqual(ROW_1);
		expect(values(r2.after, r2)).toEqual(ROW_2);
		expect(values(r3.after, r3)).toEqual(ROW_3);
		expect(Object.keys(values(r1.after, r1))).toEqual(ALL_TYPES_COLUMNS.map((c) => c.name));
	});

	it("reads an update's whole old row, and one with only the changed columns over its new row", () => {
		const [, , , full, changed, removed] = rows as FeedRow[];
		expect(values(full?.before, full as FeedRow)).toEqual(ROW_1);
		expect(values(full?.after, full as FeedRow)).toEqual(ROW_1_UPDATED);
		expect(Object.keys(changed?.before ?? {})).toHaveLength(ALL_TYPES_COLUMNS.length);
		expect(values(changed?.before, changed as FeedRow)).toEqual(ROW_1_UPDATED);
		expect(values(changed?.after, changed as FeedRow)).toEqual(ROW_1_UPDATED_AGAIN);
		expect(removed?.after).toBeUndefined();
		expect(values(removed?.before, removed as FeedRow)).toEqual(ROW_2);
	});

	it("reads TIMESTAMPs as UTC when the changefeed's zone is not given", () => {
		const utc = ticdcCanalJsonFormat({});
		const row = utc.decode(record(lines[1] ?? null))[0] as FeedRow;
		expect(utc.values(row.after ?? {}, ALL_TYPES_COLUMNS, row)).toMatchObject({
			ts0: "2038-01-19 11:14:07",
			ts6: "1970-01-01 08:00:01.000001",
		});
	});

	it("converts a column the table lacks by the message's type, else keeps its text", () => {
		const [r1, , , , changed] = rows as FeedRow[];
		const lacking = ALL_TYPES_COLUMNS.filter((c) => !["dt6", "e", "bit10", "s", "dec52", "bl"].includes(c.name));
		// mysqlType without parameters: fraction digits as sent, ENUM/SET as their numbers
		expect(format.values(r1?.after ?? {}, lacking, r1 as FeedRow)).toMatchObject({
			dt6: "2024-02-29 23:59:59.999999",
			e: 3,
			s: 9,
			bit10: Buffer.from("02aa", "hex"),
			dec52: "-999.99",
			bl: ROW_1.bl,
		});
		// content-compatible: mysqlType in full
		expect(changed?.types?.dt6).toBe("datetime(6)");
		expect(format.values(changed?.after ?? {}, lacking, changed as FeedRow)).toMatchObject({
			dt6: "2000-01-01 00:00:00.500000",
			e: 1,
		});
		const untyped = { ...(r1 as FeedRow), types: undefined };
		expect(format.values(r1?.after ?? {}, [], untyped)).toMatchObject({ e: "3", id: "1", dt6: ROW_1.dt6 });
	});
});

describe("TiCDC canal-json: the documentation's examples", () => {
	const events = decodeAll("docs-examples.jsonl");
	const tpInt: ColumnInfo[] = ["id", "c_tinyint", "c_smallint", "c_mediumint", "c_int", "c_bigint"].map((name) => ({
		...(ALL_TYPES_COLUMNS[0] as ColumnInfo),
		name,
		dataType: name === "id" ? "int" : name.slice(2),
		columnType: name === "id" ? "int" : name.slice(2),
	}));

	it("reads a DDL event without a table, and the watermark", () => {
		expect(events[0]).toMatchObject({ kind: "ddl", database: "test", sql: "drop database if exists test" });
		expect((events[0] as FeedDdl).table).toBeUndefined();
		expect(events[5]).toEqual({ kind: "watermark", order: 429918007904436226n, ts: "429918007904436226" });
	});

	it("reads inserts, updates in TiCDC's and Canal's shape alike, and deletes", () => {
		const [insert, update, canalUpdate, remove] = rowsOf(events) as FeedRow[];
		const inserted = {
			id: 2,
			c_tinyint: 127,
			c_smallint: 32767,
			c_mediumint: 8388607,
			c_int: 2147483647,
			c_bigint: "9223372036854775807",
		};
		const updated = { ...inserted, c_tinyint: 0, c_int: 0 };
		expect(format.values(insert?.after ?? {}, tpInt, insert as FeedRow)).toEqual(inserted);
		for (const u of [update, canalUpdate]) {
			expect(format.values(u?.before ?? {}, tpInt, u as FeedRow)).toEqual(inserted);
			expect(format.values(u?.after ?? {}, tpInt, u as FeedRow)).toEqual(updated);
		}
		expect(format.values(remove?.before ?? {}, tpInt, remove as FeedRow)).toEqual(updated);
		// 429918007904436226 and ...231 are the same double, not the same transaction
		expect(insert?.transaction.order).toBe(429918007904436226n);
		expect(update?.transaction.order).toBe(429918007904436231n);
	});

	it("reads a binary string's ISO-8859-1 characters back into its bytes", () => {
		const row = rowsOf(events)[4] as FeedRow;
		const columns = [
			tpInt[0] as ColumnInfo,
			{ ...(tpInt[0] as ColumnInfo), name: "c_varbinary", dataType: "varbinary", columnType: "varbinary(16)" },
		];
		expect(format.values(row.after ?? {}, columns, row).c_varbinary).toEqual(
			Buffer.from([5, 7, 10, 15, 36, 50, 43, 99, 120, 60, 38, 255, 254, 45, 55, 70]),
		);
	});
});

describe("TiCDC canal-json: what Ferry refuses", () => {
	it("refuses row changes and DDL without commit timestamps: the changefeed needs enable-tidb-extension=true", () => {
		for (const line of canalJsonLines("no-extension.jsonl")) {
			const r = record(line);
			expect(() => format.decode(r)).toThrow(FeedFormatError);
			expect(() => format.decode(r)).toThrow(/enable-tidb-extension=true.*\(topic 'ticdc', partition 0, offset \d+\)/);
		}
	});

	it("refuses a row sent as its key columns only, and a message that is not canal-json", () => {
		const large = canalJsonLines("all-types.jsonl")[1]?.toString().replace(/\}\}$/, ',"onlyHandleKey":true}}') ?? "";
		expect(() => format.decode(record(Buffer.from(large)))).toThrow(/key columns/);
		expect(() => format.decode(record(Buffer.from([0xff, 0x06, 0x00])))).toThrow(/not a canal-json message/);
		expect(format.decode(record(null))).toEqual([]);
	});
});

describe("TiCDC canal-json: messages written by test/support/ticdc.ts", () => {
	const tso = (1n << 60n) + 1n;
	const columns = ALL_TYPES_COLUMNS.filter((c) => ["id", "vbin", "dt6", "dec52", "ts6"].includes(c.name));
	const mysqlType = { id: "int", vbin: "varbinary", dt6: "datetime", dec52: "decimal", ts6: "timestamp" };

	it("decode to the rows, statements and watermarks they were made of", () => {
		const message = canalJsonMessage({
			database: "db",
			table: "t",
			type: "UPDATE",
			commitTs: tso,
			// fewer fraction digits than the columns have: padded to the column's
			data: [
				{
					id: 7,
					vbin: Buffer.from([0, 0x80, 0xff]),
					dt6: "2024-01-01 00:00:00.5",
					dec52: "1.5",
					ts6: "2024-01-01 08:00:00",
				},
			],
			old: [{ id: 6 }],
			pkNames: ["id"],
			mysqlType,
		});
		const row = format.decode(record(message))[0] as FeedRow;
		expect(row.transaction.order).toBe(tso);
		expect(format.values(row.after ?? {}, columns, row)).toEqual({
			id: 7,
			vbin: Buffer.from([0, 0x80, 0xff]),
			dt6: "2024-01-01 00:00:00.500000",
			dec52: "1.50",
			ts6: "2024-01-01 00:00:00.000000",
		});
		expect(format.values(row.before ?? {}, columns, row).id).toBe(6);
		expect(format.decode(record(canalJsonWatermark(tso + 1n)))).toEqual([
			{ kind: "watermark", order: tso + 1n, ts: (tso + 1n).toString() },
		]);
		const ddl = format.decode(
			record(canalJsonDdl({ database: "db", table: "t", sql: "ALTER TABLE t ADD c INT", commitTs: tso + 2n })),
		);
		expect(ddl).toMatchObject([{ kind: "ddl", database: "db", table: "t", sql: "ALTER TABLE t ADD c INT" }]);
		expect((ddl[0] as FeedDdl).transaction.commitTs).toBe("1152921504606846979");
	});
});
