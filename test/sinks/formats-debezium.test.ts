import { describe, expect, it } from "vitest";
import type { Value } from "../../shared/capture/change.ts";
import type { ColumnInfo } from "../../shared/db/introspect.ts";
import { SyncOptions } from "../../shared/model/sync.ts";
import type { EventSource, RowEvent, SinkTable } from "../../shared/sinks/event.ts";
import { DEBEZIUM_VERSION, debeziumFormat } from "../../shared/sinks/formats/debezium.ts";
import { type ConnectSchema, valueJson } from "../../shared/sinks/formats/debezium-schema.ts";
import { columnCodec, decimalText, headerText, twosComplement } from "../../shared/sinks/formats/debezium-values.ts";

/** Encoders of the Debezium format without services; debezium-fidelity.test.ts compares with the real connector. */

function column(name: string, columnType: string, extra: Partial<ColumnInfo> = {}): ColumnInfo {
	const dataType = (/^[a-z]+/.exec(columnType) as RegExpExecArray)[0];
	return {
		name,
		dataType,
		columnType,
		nullable: true,
		charset: null,
		collation: null,
		numericPrecision: null,
		numericScale: null,
		generated: false,
		autoIncrement: false,
		defaultValue: null,
		comment: "",
		...extra,
	};
}

const encode = (c: ColumnInfo, v: Value) => columnCodec(c).encode(v);
const b64 = (v: unknown) => (v as Buffer).toString("base64");

describe("JSON as JsonConverter writes it", () => {
	it("prints FLOAT32 fields with the float's shortest digits and FLOAT64 like Double.toString", () => {
		const schema: ConnectSchema = {
			type: "struct",
			optional: false,
			fields: [
				{ name: "f", schema: { type: "float", optional: true } },
				{ name: "d", schema: { type: "double", optional: true } },
				{ name: "n", schema: { type: "int64", optional: true, default: 5 } },
			],
		};
		expect(valueJson(schema, { f: Math.fround(1.23456789), d: 123456789.125, n: null })).toBe(
			'{"f":1.2345679,"d":1.23456789125E8,"n":5}',
		);
		expect(valueJson(schema, { f: 1e10, d: 0, n: -9223372036854775808n })).toBe(
			'{"f":1.0E10,"d":0.0,"n":-9223372036854775808}',
		);
	});
});

describe("decimals", () => {
	it("are BigInteger.toByteArray bytes of the unscaled value", () => {
		const hex = (n: bigint) => twosComplement(n).toString("hex");
		expect([0n, 127n, 128n, 255n, -1n, -128n, -129n, 2n ** 64n - 1n].map(hex)).toEqual([
			"00",
			"7f",
			"0080",
			"00ff",
			"ff",
			"80",
			"ff7f",
			"00ffffffffffffffff",
		]);
		const dec = column("d", "decimal(5,2)", { numericPrecision: 5, numericScale: 2 });
		expect([b64(encode(dec, "-999.99")), b64(encode(dec, "0.05")), b64(encode(dec, "0"))]).toEqual([
			"/nlh",
			"BQ==",
			"AA==",
		]);
		expect(b64(encode(column("u", "bigint(20) unsigned"), "18446744073709551615"))).toBe("AP//////////");
	});

	it("read back as Java's BigDecimal.toString (header values)", () => {
		const text = (n: bigint, scale: number) => decimalText(twosComplement(n), scale);
		expect([text(150n, 2), text(-15n, 1), text(0n, 2), text(1n, 6), text(1n, 7), text(-1n, 30), text(42n, 0)]).toEqual([
			"1.50",
			"-1.5",
			"0.00",
			"0.000001",
			"1E-7",
			"-1E-30",
			"42",
		]);
	});
});

describe("column values", () => {
	it("maps integer types as Debezium's MariaDB JDBC mapping does", () => {
		const types = [
			"tinyint(4)",
			"tinyint(3) unsigned",
			"smallint(6)",
			"smallint(5) unsigned",
			"mediumint(8) unsigned",
			"int(11)",
			"int(10) unsigned",
			"bigint(20)",
		];
		expect(types.map((t) => columnCodec(column("c", t)).schema.type)).toEqual([
			"int16",
			"int16",
			"int16",
			"int32",
			"int32",
			"int32",
			"int64",
			"int64",
		]);
		expect(encode(column("b", "bigint(20)"), "-9223372036854775808")).toBe(-9223372036854775808n);
	});

	it("converts temporal values (adaptive_time_microseconds, UTC, zero dates null)", () => {
		expect(encode(column("d", "date"), "9999-12-31")).toBe(2932896);
		expect(encode(column("d", "date"), "0050-03-04")).toBe(-701203); // no time adjuster: not 2050
		expect(encode(column("d", "date"), "2024-00-00")).toBeNull();
		expect(encode(column("t", "time"), "-838:59:59")).toBe(-3020399000000n);
		expect(encode(column("t", "time(6)"), "-00:00:00.000001")).toBe(-1n);
		expect(encode(column("t", "datetime(3)"), "2024-01-02 03:04:05.678")).toBe(1704164645678);
		expect(encode(column("t", "datetime(6)"), "2024-02-29 23:59:59.999999")).toBe(1709251199999999n);
		expect(encode(column("t", "datetime"), "1000-01-01 00:00:00")).toBe(-30610224000000);
		expect(encode(column("t", "datetime(6)"), "0000-00-00 00:00:00.000000")).toBeNull();
		expect(encode(column("t", "timestamp"), "2038-01-19 03:14:07")).toBe("2038-01-19T03:14:07Z");
		expect(encode(column("t", "timestamp(6)"), "0000-00-00 00:00:00.000000")).toBe("1970-01-01T00:00:00.000000Z");
		expect(encode(column("t", "timestamp(3)"), "2001-02-03 04:05:06.500")).toBe("2001-02-03T04:05:06.500Z");
	});

	it("writes snapshot TIMESTAMPs as Debezium's JDBC path does: significant digits, zero as null", () => {
		const ts6 = columnCodec(column("t", "timestamp(6)"));
		expect(ts6.encode("2001-02-03 04:05:06.500000", true)).toBe("2001-02-03T04:05:06.5Z");
		expect(ts6.encode("2001-02-03 04:05:06.000000", true)).toBe("2001-02-03T04:05:06Z");
		expect(ts6.encode("0000-00-00 00:00:00.000000", true)).toBeNull();
		expect(ts6.encode("2001-02-03 04:05:06.500000")).toBe("2001-02-03T04:05:06.500000Z");
	});

	it("gives a NOT NULL column's zero date its default, else the epoch", () => {
		const withDefault = column("d", "date", { nullable: false, defaultValue: "'2000-01-01'" });
		expect(encode(withDefault, "0000-00-00")).toBe(10957);
		expect(encode(column("d", "date", { nullable: false }), "0000-00-00")).toBe(0);
		expect(encode(column("d", "datetime(6)", { nullable: false }), "0000-00-00 00:00:00")).toBe(0n);
	});

	it("sends BIT(1) as a boolean, BIT(n) as little-endian bytes padded to n bits", () => {
		expect(encode(column("b", "bit(1)"), Buffer.from([1]))).toBe(true);
		expect(b64(encode(column("b", "bit(10)"), Buffer.from([0x02, 0xaa])))).toBe("qgI=");
		expect(b64(encode(column("b", "bit(10)"), Buffer.from([0x01])))).toBe("AQA=");
		expect(columnCodec(column("b", "bit(10)")).schema).toMatchObject({
			name: "io.debezium.data.Bits",
			parameters: { length: "10" },
		});
	});

	it("right-pads BINARY(n) and leaves VARBINARY alone", () => {
		expect(b64(encode(column("b", "binary(8)"), Buffer.alloc(0)))).toBe("AAAAAAAAAAA=");
		expect(b64(encode(column("b", "varbinary(8)"), Buffer.from([1])))).toBe("AQ==");
	});

	it("splits MariaDB's geometry into WKB and SRID (0 is null), POINT with x and y", () => {
		const wkb = Buffer.alloc(21);
		wkb.writeUInt8(1, 0);
		wkb.writeUInt32LE(1, 1);
		wkb.writeDoubleLE(-1.5, 5);
		wkb.writeDoubleLE(2.25, 13);
		const stored = (srid: number) => Buffer.concat([Buffer.from(new Int32Array([srid]).buffer), wkb]);
		expect(encode(column("p", "point"), stored(4326))).toEqual({ x: -1.5, y: 2.25, wkb, srid: 4326 });
		expect(encode(column("g", "geometry"), stored(0))).toEqual({ wkb, srid: null });
	});

	it("names logical types and keeps ENUM/SET members as declared", () => {
		const e = columnCodec(column("e", "enum('red','Green','blé')"));
		expect(e.schema).toMatchObject({
			type: "string",
			name: "io.debezium.data.Enum",
			parameters: { allowed: "red,Green,blé" },
		});
		expect(columnCodec(column("s", "set('a','b')")).schema.name).toBe("io.debezium.data.EnumSet");
		expect(columnCodec(column("u", "uuid")).schema).toMatchObject({ type: "string", name: "io.debezium.data.Uuid" });
		expect(encode(column("ip", "inet6"), "::1")).toBe("::1");
		expect(columnCodec(column("y", "year(4)")).schema.name).toBe("io.debezium.time.Year");
		expect(columnCodec(column("f", "float(7,3)")).schema.type).toBe("double");
		expect(columnCodec(column("f", "float")).schema.type).toBe("float");
	});

	it("carries the comment and the default the way Debezium parses them", () => {
		expect(
			columnCodec(column("b", "varchar(10)", { nullable: false, defaultValue: "'x'", comment: "bee" })).schema,
		).toEqual({
			type: "string",
			optional: false,
			doc: "bee",
			default: "x",
		});
		const dec = columnCodec(
			column("c", "decimal(10,2)", { numericPrecision: 10, numericScale: 2, defaultValue: "1.50" }),
		);
		expect(b64(dec.schema.default)).toBe("AJY=");
		expect(columnCodec(column("d", "datetime(3)", { defaultValue: "current_timestamp(3)" })).schema.default).toBe(0);
		expect(
			columnCodec(column("t", "timestamp", { defaultValue: "current_timestamp()" })).schema.default,
		).toBeUndefined();
		expect(columnCodec(column("n", "int(11)", { defaultValue: "NULL" })).schema.default).toBeUndefined();
	});

	it("writes key structs as SimpleHeaderConverter does", () => {
		const key = columnCodec(column("s", "varchar(9)")).schema;
		const dec = columnCodec(column("d", "decimal(12,4)", { numericPrecision: 12, numericScale: 4 })).schema;
		const schema = {
			type: "struct" as const,
			optional: false,
			fields: [
				{ name: "d", schema: dec },
				{ name: "s", schema: key },
			],
		};
		expect(headerText(schema, { d: twosComplement(1n), s: 'a"b\\c' })).toBe('{"d":0.0001,"s":"a\\"b\\\\c"}');
	});
});

describe("debeziumFormat", () => {
	const table: SinkTable = {
		name: { database: "shop", table: "t" },
		columns: [column("id", "int(11)", { nullable: false }), column("v", "varchar(10)")],
		key: ["id"],
	};
	const source: EventSource = {
		gtid: "0-1-7",
		file: "binlog.000001",
		pos: 400,
		rowIndex: 0,
		commitTime: 1_700_000_000_000,
		serverId: 1,
	};
	const row = (op: RowEvent["op"], before?: Record<string, Value>, after?: Record<string, Value>): RowEvent => ({
		kind: "row",
		op,
		table,
		...(before ? { before } : {}),
		...(after ? { after } : {}),
		source,
	});
	const json = (b: Buffer | null) => (b ? JSON.parse(b.toString()) : null);
	const options = (o: Record<string, unknown> = {}) =>
		SyncOptions.parse({ format: "debezium", serverName: "srv", ...o });

	it("sends an insert as a create event keyed by the primary key", () => {
		const [m, ...rest] = debeziumFormat(options()).row(row("insert", undefined, { id: 1, v: "a" }));
		expect(rest).toEqual([]);
		expect(json(m?.key ?? null)).toEqual({ id: 1 });
		const value = json(m?.value ?? null);
		expect(value).toMatchObject({
			before: null,
			after: { id: 1, v: "a" },
			op: "c",
			ts_ms: 1_700_000_000_000,
			transaction: null,
		});
		expect(value.source).toEqual({
			version: DEBEZIUM_VERSION,
			connector: "mariadb",
			name: "srv",
			ts_ms: 1_700_000_000_000,
			snapshot: "false",
			db: "shop",
			sequence: null,
			ts_us: 1_700_000_000_000_000,
			ts_ns: 1_700_000_000_000_000_000,
			table: "t",
			server_id: 1,
			gtid: "0-1-7",
			file: "binlog.000001",
			pos: 400,
			row: 0,
			thread: null,
			query: null,
		});
	});

	it("wraps key and value in {schema, payload} with schemas", () => {
		const [m] = debeziumFormat(options({ schemas: true })).row(row("insert", undefined, { id: 1, v: null }));
		expect(m?.key?.toString()).toBe(
			'{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],"optional":false,"name":"srv.shop.t.Key"},"payload":{"id":1}}',
		);
		const value = json(m?.value ?? null);
		expect(value.schema.name).toBe("srv.shop.t.Envelope");
		expect(value.schema.fields.map((f: { field: string }) => f.field)).toEqual([
			"before",
			"after",
			"source",
			"transaction",
			"op",
			"ts_ms",
			"ts_us",
			"ts_ns",
		]);
	});

	it("follows a delete with a tombstone unless tombstones are off", () => {
		const del = row("delete", { id: 2, v: "b" });
		const [d, t] = debeziumFormat(options()).row(del);
		expect(json(d?.value ?? null)).toMatchObject({ before: { id: 2, v: "b" }, after: null, op: "d" });
		expect(t).toEqual({ key: d?.key, value: null });
		expect(debeziumFormat(options({ tombstones: false })).row(del)).toHaveLength(1);
	});

	it("splits a key change into delete, tombstone and create with the key headers", () => {
		const messages = debeziumFormat(options()).row(row("update", { id: 3, v: "x" }, { id: 4, v: "x" }));
		expect(messages.map((m) => [json(m.key), json(m.value)?.op ?? null, m.headers])).toEqual([
			[{ id: 3 }, "d", { "__debezium.newkey": '{"id":4}' }],
			[{ id: 3 }, null, { "__debezium.newkey": '{"id":4}' }],
			[{ id: 4 }, "c", { "__debezium.oldkey": '{"id":3}' }],
		]);
		const [same] = debeziumFormat(options()).row(row("update", { id: 4, v: "x" }, { id: 4, v: "y" }));
		expect(json(same?.value ?? null)).toMatchObject({ before: { v: "x" }, after: { v: "y" }, op: "u" });
	});

	it("sends no key for a table without one", () => {
		const keyless = { ...table, key: [] };
		const [m] = debeziumFormat(options({ schemas: true })).row({
			...row("insert", undefined, { id: 1, v: "a" }),
			table: keyless,
		});
		expect(m?.key).toBeNull();
	});

	it("numbers a transaction's events and lists its tables in Java HashMap order at END", () => {
		const format = debeziumFormat(options({ transactionMetadata: true }));
		const boundary = {
			kind: "transaction" as const,
			gtid: "0-1-7",
			file: "binlog.000001",
			pos: 400,
			commitTime: 1_700_000_000_000,
		};
		const [begin] = format.transaction?.({ ...boundary, status: "begin" }) ?? [];
		expect(begin?.topic).toBe("srv.transaction");
		expect(json(begin?.value ?? null)).toEqual({
			status: "BEGIN",
			id: "0-1-7",
			event_count: null,
			data_collections: null,
			ts_ms: 1_700_000_000_000,
		});
		const other = { ...table, name: { database: "debezium_probe", table: "k" } };
		const main = { ...table, name: { database: "debezium_probe", table: "all_types" } };
		const orders = [main, other, main].map((t) => {
			const [m] = format.row({ ...row("insert", undefined, { id: 1, v: "a" }), table: t });
			return json(m?.value ?? null).transaction;
		});
		expect(orders).toEqual([
			{ id: "0-1-7", total_order: 1, data_collection_order: 1 },
			{ id: "0-1-7", total_order: 2, data_collection_order: 1 },
			{ id: "0-1-7", total_order: 3, data_collection_order: 2 },
		]);
		const [end] = format.transaction?.({ ...boundary, status: "end" }) ?? [];
		// the order the real connector sent for these two tables
		expect(json(end?.value ?? null).data_collections).toEqual([
			{ data_collection: "debezium_probe.k", event_count: 1 },
			{ data_collection: "debezium_probe.all_types", event_count: 2 },
		]);
		expect(json(end?.key ?? null)).toEqual({ id: "0-1-7" });
		const withoutGtid = format.transaction?.({ ...boundary, gtid: undefined, status: "begin" }) ?? [];
		expect(json(withoutGtid[0]?.key ?? null)).toEqual({ id: "file=binlog.000001,pos=400" });
		expect(debeziumFormat(options()).transaction?.({ ...boundary, status: "begin" })).toEqual([]);
	});

	it("fills a snapshot row's source as Debezium's initial snapshot does", () => {
		const snapshot = { ...source, rowIndex: 5, commitTime: 1_700_000_000_123, snapshot: "first" as const };
		const [m] = debeziumFormat(options()).row({ ...row("read", undefined, { id: 1, v: "a" }), source: snapshot });
		expect(json(m?.value ?? null)).toMatchObject({
			op: "r",
			before: null,
			source: { snapshot: "first", ts_ms: 1_700_000_000_000, server_id: 0, gtid: null, row: 0, pos: 400 },
		});
	});

	it("sends DDL to the prefix topic and heartbeats to __debezium-heartbeat.<prefix>", () => {
		const format = debeziumFormat(options());
		const [ddl] = format.ddl({ kind: "ddl", database: "shop", table: "t", sql: "ALTER TABLE t ADD c INT", source });
		expect(ddl?.topic).toBe("srv");
		expect(json(ddl?.key ?? null)).toEqual({ databaseName: "shop" });
		expect(json(ddl?.value ?? null)).toMatchObject({
			databaseName: "shop",
			schemaName: null,
			ddl: "ALTER TABLE t ADD c INT",
			tableChanges: [],
		});
		const [hb] = format.heartbeat({
			kind: "heartbeat",
			time: 1234,
			position: { gtid: "", file: "b", pos: 4 },
			serverId: 1,
		});
		expect([hb?.topic, json(hb?.key ?? null), json(hb?.value ?? null)]).toEqual([
			"__debezium-heartbeat.srv",
			{ serverName: "srv" },
			{ ts_ms: 1234 },
		]);
	});
});
