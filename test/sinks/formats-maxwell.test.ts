import { describe, expect, it } from "vitest";
import type { ColumnInfo } from "../../shared/db/introspect.ts";
import type { SinkTable } from "../../shared/sinks/event.ts";
import { maxwellFormat } from "../../shared/sinks/formats/maxwell.ts";
import {
	ddl,
	heartbeat,
	insert,
	num,
	parse,
	remove,
	snapshotRow,
	table,
	textValues,
	update,
} from "./formats-fixture.ts";

/*
 * Expected messages follow zendesk/maxwell: RowMap.toJSON (field order and presence with
 * output_binlog_position/output_server_id), the ColumnDef asJSON of each type, RowIdentity's
 * hash key, DDLMap and the Resolved*Change types, SynchronousBootstrapper's bootstrap rows.
 */

const maxwell = maxwellFormat();

const data = {
	id: 1,
	big: num("18446744073709551615"),
	dec: num("1234.50"),
	f: 0.1,
	d: num("1.23456789E7"),
	...textValues,
	yr: 2024,
	en: "medium",
	st: ["a", "c"],
	js: { b: 1, a: [1, 2.5] },
	bn: "AP8QgA==",
	vb: "aGkA",
	bl: "3q2+7w==",
	b1: 1,
	b10: 513,
	geo: "POINT (1 2)",
	nl: null,
};

const common = {
	database: "shop",
	table: "items",
	ts: 1718000000,
	xid: 6 * 2 ** 32 + 800911,
	position: "mysql-bin.000006:800911",
	server_id: 7,
};

const key = { database: "shop", table: "items", "pk.id": 1 };

describe("Maxwell", () => {
	it("writes an insert with Maxwell's value types and its hash key", () => {
		const [message, ...more] = maxwell.row(insert);
		expect(more).toEqual([]);
		expect(parse(message?.key ?? null)).toEqual(key);
		expect(parse(message?.value ?? null)).toEqual({ ...common, type: "insert", data });
	});

	it("writes an update with the changed columns in old, and commit on the transaction's last row", () => {
		const [message] = maxwell.row(update);
		expect(parse(message?.value ?? null)).toEqual({
			...common,
			type: "update",
			commit: true,
			data,
			old: { dec: 99.99, vc: "hello", nl: "was" },
		});
	});

	it("writes a delete with the row before it", () => {
		const [message] = maxwell.row(remove);
		expect(parse(message?.key ?? null)).toEqual(key);
		expect(parse(message?.value ?? null)).toEqual({ ...common, type: "delete", data });
	});

	it("writes snapshot rows as a bootstrap, with its start and completion around a table's rows", () => {
		const bootstrap = { database: "shop", table: "items", ts: 1717999999 };
		const [start, first] = maxwell.row(snapshotRow);
		expect(parse(start?.key ?? null)).toEqual({ database: "shop", table: "items", "pk.id": null });
		expect(parse(start?.value ?? null)).toEqual({ ...bootstrap, type: "bootstrap-start", data: {} });
		expect(parse(first?.key ?? null)).toEqual(key);
		expect(parse(first?.value ?? null)).toEqual({ ...bootstrap, type: "bootstrap-insert", data });

		const lastRow = { ...snapshotRow, source: { ...snapshotRow.source, rowIndex: 9, snapshot: "last" as const } };
		const [last, complete, ...more] = maxwell.row(lastRow);
		expect(more).toEqual([]);
		expect(parse(last?.value ?? null)).toEqual({ ...bootstrap, type: "bootstrap-insert", data });
		expect(parse(complete?.key ?? null)).toEqual({
			database: "shop",
			table: "items",
			_uuid: "snapshot:mysql-bin.000005:4#9",
		});
		expect(parse(complete?.value ?? null)).toEqual({ ...bootstrap, type: "bootstrap-complete", data: {} });

		const middle = { ...snapshotRow, source: { ...snapshotRow.source, snapshot: "true" as const } };
		expect(maxwell.row(middle)).toHaveLength(1);
	});

	it("writes DDL as Maxwell's schema change, ts in milliseconds", () => {
		const [message, ...more] = maxwell.ddl(ddl);
		expect(more).toEqual([]);
		expect(message?.key?.toString()).toBe("0-1-42#0");
		expect(parse(message?.value ?? null)).toEqual({
			type: "table-alter",
			database: "shop",
			table: "items",
			ts: 1718000000123,
			sql: "ALTER TABLE `shop`.`items` ADD INDEX idx_vc (vc)",
			position: "mysql-bin.000006:800911",
		});
	});

	it("writes one schema change per table, database changes with their charset, nothing for the rest", () => {
		const changes = (sql: string) =>
			maxwell.ddl({ ...ddl, sql }).map((m) => {
				const { type, database, table, charset } = parse(m.value) as Record<string, unknown>;
				return { type, database, table, charset };
			});
		expect(changes("CREATE TABLE IF NOT EXISTS t (id int)")).toEqual([
			{ type: "table-create", database: "shop", table: "t", charset: undefined },
		]);
		expect(changes("DROP TABLE a, other.b")).toEqual([
			{ type: "table-drop", database: "shop", table: "a", charset: undefined },
			{ type: "table-drop", database: "other", table: "b", charset: undefined },
		]);
		expect(changes("RENAME TABLE a TO b")).toEqual([
			{ type: "table-alter", database: "shop", table: "a", charset: undefined },
		]);
		expect(changes("CREATE DATABASE d /*!40100 DEFAULT CHARACTER SET utf8mb4 */")).toEqual([
			{ type: "database-create", database: "d", table: undefined, charset: "utf8mb4" },
		]);
		expect(changes("ALTER DATABASE d COLLATE utf8mb4_bin")).toEqual([
			{ type: "database-alter", database: "d", table: undefined, charset: null },
		]);
		expect(changes("DROP SCHEMA d")).toEqual([
			{ type: "database-drop", database: "d", table: undefined, charset: undefined },
		]);
		for (const sql of [
			"TRUNCATE TABLE t",
			"CREATE INDEX i ON t (a)",
			"DROP INDEX i ON t",
			"CREATE TEMPORARY TABLE tmp (a int)",
			"CREATE VIEW v AS SELECT 1",
			"GRANT SELECT ON *.* TO u",
		]) {
			expect(maxwell.ddl({ ...ddl, sql }), sql).toEqual([]);
		}
	});

	it("writes no heartbeats", () => {
		expect(maxwell.heartbeat(heartbeat)).toEqual([]);
	});

	it("writes numbers exactly as Java does and spatial values as JTS's WKT", () => {
		const col = (name: string, columnType: string): ColumnInfo => ({
			...(table.columns[0] as ColumnInfo),
			name,
			dataType: (/^\w+/.exec(columnType)?.[0] ?? "").toLowerCase(),
			columnType,
		});
		const typed: SinkTable = {
			name: { database: "shop", table: "n" },
			columns: [
				col("tiny", "decimal(20,10)"),
				col("small", "decimal(20,10)"),
				col("f", "float"),
				col("d", "double"),
				col("b64", "bit(64)"),
				col("en", "enum('a','b')"),
				col("mp", "multipoint"),
				col("poly", "polygon"),
				col("gc", "geometrycollection"),
				col("mariajson", "longtext"),
			],
			key: [],
		};
		const wkb = (hex: string) => Buffer.from(`00000000${hex}`, "hex");
		const p = (x: string, y: string) => `0101000000${x}${y}`;
		const one = "000000000000f03f";
		const two = "0000000000000040";
		const half = "000000000000e03f";
		const zero = "0000000000000000";
		const after = {
			tiny: "0.0000000000",
			small: "0.0000001234",
			f: Math.fround(1e10),
			d: 100,
			b64: Buffer.from("ffffffffffffffff", "hex"),
			en: "",
			mp: wkb(`0104000000${"02000000"}${p(one, two)}${p(half, zero)}`),
			poly: wkb(`0103000000${"01000000"}${"04000000"}${zero}${zero}${one}${zero}${one}${one}${zero}${zero}`),
			gc: wkb(`0107000000${"02000000"}${p(one, two)}0102000000${"00000000"}`),
			mariajson: '{"a": 1}',
		};
		const [message] = maxwell.row({ ...insert, table: typed, after });
		expect((parse(message?.value ?? null) as { data: unknown }).data).toEqual({
			tiny: num("0E-10"),
			small: num("1.234E-7"),
			f: num("1.0E10"),
			d: num("100.0"),
			b64: num("18446744073709551615"),
			en: null,
			mp: "MULTIPOINT ((1 2), (0.5 0))",
			poly: "POLYGON ((0 0, 1 0, 1 1, 0 0))",
			gc: "GEOMETRYCOLLECTION (POINT (1 2), LINESTRING EMPTY)",
			mariajson: '{"a": 1}',
		});
	});

	it("keys a row without a primary key by its deduplication key", () => {
		const [message] = maxwell.row({ ...insert, table: { ...table, key: [] } });
		expect(parse(message?.key ?? null)).toEqual({ database: "shop", table: "items", _uuid: "0-1-42#3" });
	});
});
