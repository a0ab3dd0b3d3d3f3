import { describe, expect, it } from "vitest";
import type { RowImage } from "../../shared/capture/change.ts";
import { FeedFormatError, type FeedRecord, type FeedRow } from "../../shared/feed/event.ts";
import { canalFeedFormat } from "../../shared/feed/ferry-canal.ts";
import { canalFormat } from "../../shared/sinks/formats/canal.ts";
import { ddl, heartbeat } from "../sinks/formats-fixture.ts";
import { edgeRow, extremeRow, nullRow, numbersRow, typesTable, zeroDatesRow } from "../support/capture-rows.ts";
import { change, decodeAll, expected, readRows, rowEvent } from "./round-trip.ts";

const feed = canalFeedFormat();
const canal = canalFormat();
const ROWS = [extremeRow, edgeRow, numbersRow, nullRow, zeroDatesRow];

const readBack = (event: Parameters<typeof canal.row>[0]) => readRows(feed, canal.row(event), typesTable);

describe("Ferry's Canal output read back", () => {
	it.each(ROWS.map((row) => [row.id, row]))("gives row %s's values back on insert, read and delete", (_, row) => {
		for (const event of [
			rowEvent(typesTable, "insert", { after: row }),
			rowEvent(typesTable, "read", { after: row }),
			rowEvent(typesTable, "delete", { before: row }),
		]) {
			expect(readBack(event)).toEqual(expected(event));
		}
	});

	it.each(
		ROWS.map((after, i) => [
			after.id,
			{ before: { ...(ROWS[(i + 1) % ROWS.length] as RowImage), id: after.id as number }, after },
		]),
	)("gives row %s's update back, the row before from `old`'s changed columns", (_, images) => {
		const event = rowEvent(typesTable, "update", images);
		expect(readBack(event)).toEqual(expected(event));
	});

	it("keeps the row's other columns in the row before an update", () => {
		const before = { ...extremeRow, vc: "old", mbl: null };
		const [message] = canal.row(rowEvent(typesTable, "update", { before, after: extremeRow }));
		expect(Object.keys(JSON.parse(String(message?.value)).old[0])).toEqual(["vc", "mbl"]);
		expect(readRows(feed, message ? [message] : [], typesTable)).toEqual([{ op: "update", before, after: extremeRow }]);
	});

	it("names and orders the transaction by its GTID, MariaDB's or MySQL's", () => {
		const at = (gtid: string) => {
			const [row] = decodeAll(feed, canal.row(rowEvent(typesTable, "insert", { after: nullRow }, { ...change, gtid })));
			return (row as FeedRow).transaction;
		};
		expect(at("0-1-42")).toEqual({ id: "0-1-42", order: 42n, commitTime: change.commitTime, gtid: "0-1-42" });
		const mysql = "3e11fa47-71ca-11e1-9e33-c80aa9429562:9007199254740993";
		expect(at(mysql)).toEqual({ id: mysql, order: 9007199254740993n, commitTime: change.commitTime, gtid: mysql });
	});

	it("reads snapshot rows (INSERTs without a GTID) as reads of one transaction ordered first", () => {
		const [row] = decodeAll(feed, canal.row(rowEvent(typesTable, "read", { after: nullRow })));
		expect(row).toMatchObject({
			kind: "row",
			op: "read",
			table: { database: "shop", table: "all_types" },
			transaction: { id: "snapshot", order: 0n, commitTime: 1717999999456 },
		});
	});

	it("reads every row of a message of several", () => {
		const [message] = canal.row(rowEvent(typesTable, "update", { before: { ...nullRow, i: 1 }, after: nullRow }));
		const value = JSON.parse(String(message?.value));
		value.data.push({ ...value.data[0], id: "5" });
		value.old.push({ vc: "x" });
		const rows = readRows(feed, [{ key: null, value: Buffer.from(JSON.stringify(value)) }], typesTable);
		expect(rows).toEqual([
			{ op: "update", before: { ...nullRow, i: 1 }, after: nullRow },
			{ op: "update", before: { ...nullRow, id: 5, vc: "x" }, after: { ...nullRow, id: 5 } },
		]);
	});

	it("reads DDL as its statement, database and table", () => {
		expect(decodeAll(feed, canal.ddl(ddl))).toEqual([
			{
				kind: "ddl",
				database: "shop",
				table: "items",
				sql: ddl.sql,
				transaction: { id: "0-1-42", order: 42n, commitTime: ddl.source.commitTime, gtid: "0-1-42" },
			},
		]);
	});

	it("reads no event from a heartbeat", () => {
		expect(decodeAll(feed, canal.heartbeat(heartbeat))).toEqual([]);
	});
});

describe("Canal columns the table does not have", () => {
	it("are read by the message's mysqlType", () => {
		const [row] = decodeAll(feed, canal.row(rowEvent(typesTable, "insert", { after: extremeRow })));
		const after = (row as FeedRow).after ?? {};
		expect(feed.values(after, [], row as FeedRow)).toEqual(extremeRow);
	});
});

describe("records Ferry's Canal format did not write", () => {
	const record = (message: unknown): FeedRecord => ({
		topic: "t",
		partition: 1,
		offset: 3n,
		key: null,
		value: Buffer.from(JSON.stringify(message)),
	});
	const row = { database: "a", table: "b", isDdl: false, es: 1, data: [{ id: "1" }], old: null };

	it("are refused with their place", () => {
		expect(() => feed.decode({ ...record(null), value: Buffer.from("[") })).toThrow(FeedFormatError);
		expect(() => feed.decode(record({ ...row, type: "MERGE", gtid: "0-1-1" }))).toThrow(
			/unknown type 'MERGE'.*offset 3/,
		);
		expect(() => feed.decode(record({ ...row, type: "INSERT", gtid: "0-1-1,1-1-5" }))).toThrow(/not one GTID/);
		expect(() => feed.decode(record({ ...row, type: "INSERT", gtid: "0-1-1", es: undefined }))).toThrow(/es/);
	});

	it("refuses a change without a GTID: nothing else orders it", () => {
		expect(() => feed.decode(record({ ...row, type: "DELETE", gtid: "" }))).toThrow(/without a GTID/);
	});
});
