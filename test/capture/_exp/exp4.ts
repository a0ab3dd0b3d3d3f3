import { checkCaptureSettings, currentPosition, openBinlogReader } from "../../../shared/capture/reader.ts";
import { connect } from "../../../shared/db/connect.ts";
import { scratchCredentials as creds, freshDatabase } from "../../support/databases.ts";

const conn = await freshDatabase(creds, "exp4");
console.log(await checkCaptureSettings(conn));
console.log(await currentPosition(conn));
await conn.query("CREATE TABLE t (id INT PRIMARY KEY, g POINT, u UUID, v VARCHAR(10), j JSON)");
const reader = await openBinlogReader(creds, { from: "now", serverId: 9201, maxPartChanges: 2 });
console.log("started", reader.startedAt);
await conn.query(
	"INSERT INTO t VALUES (1, POINT(1,2), UUID(), 'a', '[1]'), (2, NULL, NULL, 'b', NULL), (3, NULL, NULL, 'c', NULL)",
);
await conn.query("UPDATE t SET v = 'z' WHERE id = 1");
await conn.query("ALTER TABLE t ADD COLUMN w INT");
await conn.query("BEGIN");
await conn.query("DELETE FROM t WHERE id = 2");
await conn.query("COMMIT");
const t0 = Date.now();
for (let i = 0; i < 6; i++) {
	const r = await reader.next();
	console.log(
		Date.now() - t0,
		JSON.stringify(r.value, (k, v) => (v && v.type === "Buffer" ? `<buf ${Buffer.from(v.data).toString("hex")}>` : v)),
	);
}
await reader.close();
await conn.end();
