import { describe, expect, it } from "vitest";
import type { RowImage } from "../../shared/capture/change.ts";
import { FeedFormatError, type FeedRow } from "../../shared/feed/event.ts";
import { debeziumFeedFormat } from "../../shared/feed/ferry-debezium.ts";
import { SyncOptions } from "../../shared/model/sync.ts";
import type { RowEvent } from "../../shared/sinks/event.ts";
import { debeziumFormat } from "../../shared/sinks/formats/debezium.ts";
import { ddl, heartbeat } from "../sinks/formats-fixture.ts";
import { column, edgeRow, extremeRow, nullRow, numbersRow, typesTable, zeroDatesRow } from "../support/capture-rows.ts";
import { change, decodeAll, expected, readRows, rowEvent } from "./round-trip.ts";

const feed = debeziumFeedFormat();
const options = (o: Record<string, unknown> = {}) =>
	SyncOptions.parse({ format: "debezium", serverName: "shop-db", ...o });
const SETTINGS = [
	{ schemas: false },
	{ schemas: true, transactionMetadata: true },
	{ schemas: false, tombstones: false },
];
const ROWS = [extremeRow, edgeRow, numbersRow, nullRow];

/** Each row with another row's values under its own key: an update that keeps the key. */
const updates = ROWS.map((after, i) => ({
	before: { ...(ROWS[(i + 1) % ROWS.length] as RowImage), id: after.id as number },
	after,
}));

function readBack(o: Record<string, unknown>, event: RowEvent) {
	return readRows(feed, debeziumFormat(options(o)).row(event), typesTable);
}

describe.each(SETTINGS)("Ferry's Debezium output read back (%o)", (o) => {
	it.each(ROWS.map((row) => [row.id, row]))("gives row %s's values back on insert, read and delete", (_, row) => {
		for (const event of [
			rowEvent(typesTable, "insert", { after: row }),
			rowEvent(typesTable, "read", { after: row }),
			rowEvent(typesTable, "delete", { before: row }),
		]) {
			expect(readBack(o, event)).toEqual(expected(event));
		}
	});

	it.each(updates.map((u) => [u.after.id, u]))("gives row %s's update back with both images", (_, images) => {
		const event = rowEvent(typesTable, "update", images);
		expect(readBack(o, event)).toEqual(expected(event));
	});

	it("reads a key change as the delete under the old key and the create under the new", () => {
		const event = rowEvent(typesTable, "update", { before: extremeRow, after: { ...edgeRow, id: 9 } });
		expect(readBack(o, event)).toEqual([
			{ op: "delete", before: extremeRow },
			{ op: "insert", after: { ...edgeRow, id: 9 } },
		]);
	});

	it("reads the zero TIMESTAMP of a streamed row back from the epoch it was sent as", () => {
		const [read] = readBack(o, rowEvent(typesTable, "insert", { after: zeroDatesRow }));
		expect([read?.after?.ts0, read?.after?.ts6]).toEqual(["0000-00-00 00:00:00", "0000-00-00 00:00:00.000000"]);
	});

	it("names the transaction by its GTID and orders it by binlog file number and offset", () => {
		const [row] = decodeAll(feed, debeziumFormat(options(o)).row(rowEvent(typesTable, "insert", { after: nullRow })));
		expect(row).toMatchObject({ kind: "row", table: { database: "shop", table: "all_types" } });
		expect((row as FeedRow).transaction).toEqual({
			id: "0-1-42",
			order: (12n << 40n) | 800911n,
			commitTime: change.commitTime,
			gtid: "0-1-42",
			file: "mariadb-bin.000012",
			pos: 800911,
		});
		const { gtid: _, ...withoutGtid } = change;
		const [other] = decodeAll(
			feed,
			debeziumFormat(options(o)).row(rowEvent(typesTable, "insert", { after: nullRow }, withoutGtid)),
		);
		expect((other as FeedRow).transaction).toEqual({
			id: "mariadb-bin.000012:800911",
			order: (12n << 40n) | 800911n,
			commitTime: change.commitTime,
			file: "mariadb-bin.000012",
			pos: 800911,
		});
	});

	it("puts a snapshot row at the snapshot's position, apart from the transaction starting there", () => {
		const [row] = decodeAll(feed, debeziumFormat(options(o)).row(rowEvent(typesTable, "read", { after: nullRow })));
		expect((row as FeedRow).transaction).toEqual({
			id: "snapshot:mariadb-bin.000011:4",
			order: (11n << 40n) | 4n,
			commitTime: 1717999999000, // Debezium's snapshot time: whole seconds
			file: "mariadb-bin.000011",
			pos: 4,
		});
	});

	it("reads a schema change as its statement, database and table", () => {
		const events = decodeAll(feed, debeziumFormat(options(o)).ddl(ddl));
		expect(events).toEqual([
			{
				kind: "ddl",
				database: "shop",
				table: "items",
				sql: ddl.sql,
				transaction: {
					id: "0-1-42",
					order: (6n << 40n) | 800911n,
					commitTime: ddl.source.commitTime,
					gtid: "0-1-42",
					file: "mysql-bin.000006",
					pos: 800911,
				},
			},
		]);
		const database = decodeAll(
			feed,
			debeziumFormat(options(o)).ddl({ ...ddl, table: undefined, sql: "CREATE DATABASE x" }),
		);
		expect(database).toMatchObject([{ kind: "ddl", database: "shop", sql: "CREATE DATABASE x" }]);
		expect(database[0]).not.toHaveProperty("table");
	});

	it("reads no event from heartbeats, transaction boundaries and tombstones", () => {
		const format = debeziumFormat(options({ ...o, transactionMetadata: true }));
		const boundary = { kind: "transaction" as const, ...change };
		const messages = [
			...format.heartbeat(heartbeat),
			...(format.transaction?.({ ...boundary, status: "begin" }) ?? []),
			...(format.transaction?.({ ...boundary, status: "end" }) ?? []),
		];
		expect(messages.map((m) => m.topic)).toEqual([
			"__debezium-heartbeat.shop-db",
			"shop-db.transaction",
			"shop-db.transaction",
		]);
		expect(decodeAll(feed, messages)).toEqual([]);
		const deleted = debeziumFormat(options({ ...o, tombstones: true })).row(
			rowEvent(typesTable, "delete", { before: nullRow }),
		);
		expect(deleted.map((m) => m.value === null)).toEqual([false, true]);
		expect(decodeAll(feed, deleted).map((e) => e.kind)).toEqual(["row"]);
	});
});

describe("Debezium values that do not come back", () => {
	it("zero dates were sent as null, the column's default or the epoch", () => {
		const [read] = readBack({}, rowEvent(typesTable, "insert", { after: zeroDatesRow }));
		expect([read?.after?.dt, read?.after?.dt0, read?.after?.dt6, read?.after?.dt3]).toEqual([null, null, null, null]);
		const notNull = { ...typesTable, columns: typesTable.columns.map((c) => ({ ...c, nullable: c.name !== "dt" })) };
		const [epoch] = readRows(
			feed,
			debeziumFormat(options()).row(rowEvent(notNull, "insert", { after: zeroDatesRow })),
			notNull,
		);
		expect(epoch?.after?.dt).toBe("1970-01-01");
	});

	it("a snapshot's zero TIMESTAMP in a nullable column was sent as null", () => {
		const [read] = readBack({}, rowEvent(typesTable, "read", { after: zeroDatesRow }));
		expect([read?.after?.ts0, read?.after?.ts6]).toEqual([null, null]);
	});

	it("a NULL of a column with a literal default was sent as the default (JsonConverter)", () => {
		const table = {
			...typesTable,
			columns: [column("id", "int(11)"), column("v", "varchar(5)", { defaultValue: "'x'" })],
		};
		const [read] = readRows(
			feed,
			debeziumFormat(options()).row(rowEvent(table, "insert", { after: { id: 1, v: null } })),
			table,
		);
		expect(read?.after).toEqual({ id: 1, v: "x" });
	});

	it("BINARY(n) comes back right-padded with zero bytes, as the destination stores it", () => {
		const short = { ...nullRow, bin: Buffer.from([1, 2]) };
		const [read] = readBack({}, rowEvent(typesTable, "insert", { after: short }));
		expect(read?.after?.bin).toEqual(Buffer.from([1, 2, 0, 0, 0, 0, 0, 0]));
	});
});

describe("Debezium columns the table does not have", () => {
	const bare = (o: Record<string, unknown>) =>
		decodeAll(feed, debeziumFormat(options(o)).row(rowEvent(typesTable, "insert", { after: extremeRow }))).filter(
			(e): e is FeedRow => e.kind === "row",
		)[0] as FeedRow;

	it("are read by the types the schema states", () => {
		const row = bare({ schemas: true });
		const values = feed.values(row.after ?? {}, [], row);
		for (const name of [
			"bi",
			"biu",
			"dec65",
			"f",
			"d",
			"bit1",
			"bit64",
			"dt",
			"dt3",
			"dt6",
			"y",
			"vbin",
			"pt",
			"e",
			"j",
		]) {
			expect([name, values[name]]).toEqual([name, extremeRow[name]]);
		}
		expect(values.t3).toBe("-00:00:01.500000"); // MicroTime: six digits, the same TIME
	});

	it("keep the message's own values without a schema", () => {
		const row = bare({ schemas: false });
		expect(row.types).toBeUndefined();
		const values = feed.values(row.after ?? {}, [], row);
		expect([values.vc, values.dt, values.bi, values.bit1, values.bl]).toEqual([
			extremeRow.vc,
			2932896,
			"-9223372036854775808",
			1,
			(extremeRow.bl as Buffer).toString("base64"),
		]);
	});
});

describe("records Ferry's Debezium format did not write", () => {
	const record = (value: string, topic = "x") => ({
		topic,
		partition: 2,
		offset: 7n,
		key: null,
		value: Buffer.from(value),
	});

	it("are refused with their place", () => {
		expect(() => feed.decode(record("{not json"))).toThrow(FeedFormatError);
		expect(() => feed.decode(record('{"op":"x","source":{}}'))).toThrow(
			/unknown op 'x'.*topic 'x', partition 2, offset 7/,
		);
		expect(() =>
			feed.decode(record('{"op":"c","after":{},"source":{"db":"a","table":"b","file":"f","pos":4}}')),
		).toThrow(/lacks file, pos or ts_ms/);
		expect(() => feed.decode(record('{"hello":1}'))).toThrow(/not a message of Ferry's Debezium format/);
	});

	it("reads the binlog file's number whatever its base name", () => {
		const value = JSON.stringify({
			op: "c",
			after: { id: 1 },
			source: { db: "a", table: "b", file: "binlog.000123", pos: 5, ts_ms: 1, gtid: null },
		});
		const [row] = feed.decode(record(value));
		expect((row as FeedRow).transaction.order).toBe((123n << 40n) | 5n);
	});
});
