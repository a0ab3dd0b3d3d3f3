import ZongJi from "@vlasky/zongji";
import { connect } from "../../../shared/db/connect.ts";
import { scratchCredentials as creds, freshDatabase } from "../../support/databases.ts";

const db = "exp1";
const conn = await freshDatabase(creds, db);
await conn.query("SET SESSION sql_mode = ''");
await conn.query(`CREATE TABLE t (
  id INT PRIMARY KEY,
  g GEOMETRY, v VARCHAR(20), b BLOB, l VARCHAR(20) CHARACTER SET latin1,
  y YEAR, e ENUM('a','b'), s SET('x','y','z'),
  t6 TIME(6), t0 TIME, dt DATETIME(6), ts TIMESTAMP(6) NULL, ts0 TIMESTAMP NULL, d DATE,
  u UUID, i6 INET6, i4 INET4, j JSON, bit1 BIT(1), bit64 BIT(64), f FLOAT, dbl DOUBLE, dec1 DECIMAL(65,30),
  bu BIGINT UNSIGNED, bs BIGINT, bin BINARY(4), vb VARBINARY(10), ch CHAR(5)
)`);
const [st] = await conn.query("SHOW MASTER STATUS");
const { File: filename, Position: position } = (st as any)[0];
const z = new ZongJi({ ...creds, timezone: "Z", dateStrings: true, jsonStrings: true } as any);
const got: any[] = [];
z.on("error", (e: any) => console.error("ERR", e));
z.on("binlog", (ev: any) => {
	const n = ev.getEventName();
	if (n === "tablemap")
		console.log(
			"tablemap",
			ev.tableName,
			JSON.stringify(
				z.tableMap[ev.tableId].columnSchemas.map((c: any) => [c.COLUMN_NAME, c.COLUMN_TYPE, c.CHARACTER_SET_NAME]),
			),
		);
	if (n === "writerows") got.push(...ev.rows);
});
z.start({
	serverId: 9101,
	filename,
	position,
	includeEvents: ["tablemap", "writerows"],
	includeSchema: { [db]: true },
});
await new Promise((r) => z.on("ready", r));
await conn.query(`INSERT INTO t VALUES
 (1, ST_GeomFromText('POINT(1 2)'), 'héllo😀', x'00ff10', 'café', 0, '', 'x,z', '-838:59:59.000000', '-00:00:01', '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.5', '1970-01-01 00:00:01', '0000-00-00',
  '123e4567-e89b-12d3-a456-426614174000', '::ffff:1.2.3.4', '10.0.0.1', '{"a": [1, 2.5, "x"], "b": null}', b'1', x'ffffffffffffffff', 3.1415926, 1.1, '-12345678901234567890123456789012345.123456789012345678901234567890',
  18446744073709551615, -9223372036854775808, x'01020000', x'0001', 'ab'),
 (2, NULL, NULL, NULL, NULL, 1901, 'b', '', '-00:00:01.5', '838:59:59', '0000-00-00 00:00:00', '0000-00-00 00:00:00', NULL, '2024-02-30',
  'ffffffff-ffff-1fff-8fff-ffffffffffff', '2001:db8::1', NULL, NULL, b'0', x'00', -0.0, -1e308, 0.5, 0, 42, x'00', x'', ' x ')`);
await new Promise((r) => setTimeout(r, 500));
z.stop();
const sel = await connect(creds);
const [rows] = await sel.query({
	sql: `SELECT * FROM ${db}.t ORDER BY id`,
	typeCast: (f: any, next: any) => (f.type === "GEOMETRY" ? f.buffer() : next()),
} as any);
for (let i = 0; i < got.length; i++) {
	for (const k of Object.keys(got[i]))
		console.log(k.padEnd(6), JSON.stringify(got[i][k]), "|", JSON.stringify((rows as any)[i][k]));
	console.log("---");
}
await sel.end();
await conn.end();
