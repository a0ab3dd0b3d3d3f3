import "../../../shared/capture/zongji-fixes.ts";
import ZongJi from "@vlasky/zongji";
import { connect } from "../../../shared/db/connect.ts";
import { scratchCredentials as creds, freshDatabase } from "../../support/databases.ts";

const db = "exp2";
const conn = await freshDatabase(creds, db);
await conn.query("SET SESSION sql_mode = ''");
await conn.query(`CREATE TABLE t (
  id INT PRIMARY KEY,
  g GEOMETRY, v VARCHAR(20), b BLOB, l VARCHAR(20) CHARACTER SET latin1, u UUID, i6 INET6, j JSON, tx TEXT,
  t6 TIME(6), t3 TIME(3), t1 TIME(1), dec0 DECIMAL(10,0), dec2 DECIMAL(5,2), dec9 DECIMAL(20,9), dt3 DATETIME(3), dt0 DATETIME, y YEAR, f FLOAT
)`);
const [st] = await conn.query("SHOW MASTER STATUS");
const { File: filename, Position: position } = (st as any)[0];
const z = new ZongJi({ ...creds, timezone: "Z", dateStrings: true } as any);
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
			JSON.stringify(ev.geometryTypes),
		);
	if (n === "writerows") got.push(...ev.rows);
});
z.start({
	serverId: 9102,
	filename,
	position,
	includeEvents: ["tablemap", "writerows"],
	includeSchema: { [db]: true },
});
await new Promise((r) => z.on("ready", r));
await conn.query(`INSERT INTO t VALUES
 (1, ST_GeomFromText('POINT(1 2)'), 'héllo😀', x'00ff10', 'café€', '11223344-5566-1778-8899-aabbccddeeff', '::1', '{"b":1,"10":2}', 'txt',
   '-12:34:56.789012', '-00:00:00.001', '-00:00:00.1', -1234567890, -0.05, -0.000000001, '2024-01-02 03:04:05.999', '9999-12-31 23:59:59', 2155, -3.5e38),
 (2, ST_GeomFromText('LINESTRING(0 0, 1 1)', 4326), '', x'', '', '11223344-5566-4778-8899-aabbccddeeff', '1::', '[]', '',
   '-838:59:58.999999', '00:00:00.000', '-01:00:00.5', 0, 999.99, 12345678901.123456789, '0000-00-00 00:00:00.000', '2024-00-00 00:00:00', 1999, 1.17549435e-38)`);
await new Promise((r) => setTimeout(r, 500));
z.stop();
const sel = await connect(creds);
const [rows] = await sel.query({
	sql: `SELECT *, HEX(u) hu FROM ${db}.t ORDER BY id`,
	typeCast: (f: any, next: any) => (f.type === "GEOMETRY" ? f.buffer() : f.type === "JSON" ? f.string() : next()),
} as any);
for (let i = 0; i < got.length; i++) {
	for (const k of Object.keys(got[i]))
		console.log(k.padEnd(6), JSON.stringify(got[i][k]), "|", JSON.stringify((rows as any)[i][k]));
	console.log("hex(u)", (rows as any)[i].hu);
	console.log("---");
}
await sel.end();
await conn.end();
