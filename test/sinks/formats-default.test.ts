import { describe, expect, it } from "vitest";
import { SyncOptions } from "../../shared/model/sync.ts";
import type { SinkTable } from "../../shared/sinks/event.ts";
import { defaultFormat } from "../../shared/sinks/formats/default.ts";
import { formatFor } from "../../shared/sinks/formats/index.ts";
import {
	after,
	ddl,
	heartbeat,
	insert,
	options,
	parse,
	remove,
	snapshotRow,
	table,
	textValues,
	update,
} from "./formats-fixture.ts";

/*
 * Expected messages follow OMS's "Default" JSON (OceanBase Migration Service docs, "Data
 * formats"): the images as column -> string maps, BLOB/BINARY/BIT base64, the allMetaData fields
 * the docs list, recordType INSERT/UPDATE/DELETE/ROW/DDL/HEARTBEAT.
 */

const oms = defaultFormat(options);

const struct = {
	id: "1",
	big: "18446744073709551615",
	dec: "1234.50",
	f: "0.1",
	d: "1.23456789E7",
	...textValues,
	yr: "2024",
	en: "medium",
	st: "a,c",
	js: '{"b": 1, "a": [1, 2.5]}',
	bn: "AP8QgA==",
	vb: "aGkA",
	bl: "3q2+7w==",
	b1: "AQ==",
	b10: "AgE=",
	geo: "AAAAAAEBAAAAAAAAAAAA8D8AAAAAAAAAQA==",
	nl: null,
};

const allMetaData = {
	checkpoint: "1718000000",
	record_primary_key: "id",
	record_primary_value: "1",
	source_identity: "shop-db",
	dbType: "MYSQL",
	storeDataSequence: 171800000000003,
	table_name: "items",
	db: "shop",
	timestamp: "1718000000",
	uniqueId: "0-1-42#3",
	transId: "0-1-42",
	clusterId: "7",
};

describe("OMS Default JSON", () => {
	it("writes an insert's row image as strings, binary values in base64", () => {
		const [message, ...more] = oms.row(insert);
		expect(more).toEqual([]);
		expect(parse(message?.key ?? null)).toEqual({ id: "1" });
		expect(parse(message?.value ?? null)).toEqual({
			prevStruct: null,
			postStruct: struct,
			allMetaData,
			recordType: "INSERT",
		});
	});

	it("writes an update with both images", () => {
		const [message] = oms.row(update);
		expect(parse(message?.value ?? null)).toEqual({
			prevStruct: { ...struct, dec: "99.99", vc: "hello", nl: "was" },
			postStruct: struct,
			allMetaData,
			recordType: "UPDATE",
		});
	});

	it("writes a delete with the image before it only", () => {
		const [message] = oms.row(remove);
		expect(parse(message?.key ?? null)).toEqual({ id: "1" });
		expect(parse(message?.value ?? null)).toEqual({
			prevStruct: struct,
			postStruct: null,
			allMetaData,
			recordType: "DELETE",
		});
	});

	it("writes a snapshot row as ROW, its key as the checkpoint, without change times", () => {
		const [message] = oms.row(snapshotRow);
		expect(parse(message?.value ?? null)).toEqual({
			prevStruct: null,
			postStruct: struct,
			allMetaData: {
				checkpoint: '{"id":"1"}',
				record_primary_key: "id",
				record_primary_value: "1",
				source_identity: "shop-db",
				dbType: "MYSQL",
				table_name: "items",
				db: "shop",
				uniqueId: "snapshot:mysql-bin.000005:4#0",
				transId: "mysql-bin.000005:4",
				clusterId: "7",
			},
			recordType: "ROW",
		});
	});

	it("writes DDL with its text in postStruct.ddl and its ddlType", () => {
		const [message] = oms.ddl(ddl);
		expect(message?.key).toBeNull();
		expect(parse(message?.value ?? null)).toEqual({
			prevStruct: null,
			postStruct: { ddl: "ALTER TABLE `shop`.`items` ADD INDEX idx_vc (vc)" },
			allMetaData: {
				checkpoint: "1718000000",
				source_identity: "shop-db",
				dbType: "MYSQL",
				storeDataSequence: 171800000000000,
				table_name: "items",
				db: "shop",
				timestamp: "1718000000",
				uniqueId: "0-1-42#0",
				transId: "0-1-42",
				clusterId: "7",
				ddlType: "ALTER_TABLE",
			},
			recordType: "DDL",
		});
		const kinds = ["CREATE DATABASE x", "DROP TABLE t", "CREATE INDEX i ON t (a)", "GRANT SELECT ON *.* TO u"].map(
			(sql) =>
				(parse(oms.ddl({ ...ddl, sql, table: undefined })[0]?.value ?? null) as { allMetaData: object }).allMetaData,
		);
		expect(kinds).toMatchObject([
			{ ddlType: "CREATE_DATABASE", table_name: "" },
			{ ddlType: "DROP_TABLE" },
			{ ddlType: "CREATE_INDEX" },
			{ ddlType: "OTHER" },
		]);
	});

	it("writes a heartbeat without images", () => {
		const [message] = oms.heartbeat(heartbeat);
		expect(message?.key).toBeNull();
		expect(parse(message?.value ?? null)).toEqual({
			prevStruct: null,
			postStruct: null,
			allMetaData: {
				checkpoint: "1718000005",
				source_identity: "shop-db",
				dbType: "MYSQL",
				timestamp: "1718000005",
				clusterId: "7",
			},
			recordType: "HEARTBEAT",
		});
	});

	it("joins a composite key's names and values with \\u0001, and writes no key for a table without one", () => {
		const composite: SinkTable = { ...table, key: ["ch", "id"] };
		const [message] = oms.row({ ...insert, table: composite });
		expect(parse(message?.key ?? null)).toEqual({ ch: "abc", id: "1" });
		expect(parse(message?.value ?? null)).toMatchObject({
			allMetaData: { record_primary_key: "ch\u0001id", record_primary_value: "abc\u00011" },
		});
		const [keyless] = oms.row({ ...insert, table: { ...table, key: [] } });
		expect(keyless?.key).toBeNull();
		expect(parse(keyless?.value ?? null)).toMatchObject({
			allMetaData: { record_primary_key: "", record_primary_value: "" },
		});
	});

	it("writes the zero year and a negative zero double as Java does", () => {
		const [message] = oms.row({ ...insert, after: { ...after, yr: 0, d: -0 } });
		expect(parse(message?.value ?? null)).toMatchObject({ postStruct: { yr: "0000", d: "-0.0" } });
	});
});

describe("formatFor", () => {
	it("picks the format the project chose", () => {
		const value = (format: string) =>
			parse(formatFor(SyncOptions.parse({ format })).row(insert)[0]?.value ?? null) as Record<string, unknown>;
		expect(value("default").recordType).toBe("INSERT");
		expect(value("canal").type).toBe("INSERT");
		expect(value("maxwell").type).toBe("insert");
		expect(value("debezium").op).toBe("c");
	});
});
