import { currentPosition, openBinlogReader } from "../../../shared/capture/reader.ts";
import { scratchCredentials as creds, freshDatabase } from "../../support/databases.ts";

const conn = await freshDatabase(creds, "exp7");
await conn.query("CREATE TABLE big (id INT PRIMARY KEY, v VARCHAR(40), n BIGINT)");
const start = await currentPosition(conn);
await conn.query("INSERT INTO big SELECT seq, CONCAT('row ', seq), seq * 1000 FROM seq_1_to_20000");
const reader = await openBinlogReader(creds, {
	from: start,
	serverId: 9401,
	include: (t) => t.table === "big",
	maxPartChanges: 1000,
	maxBufferedParts: 2,
});
const t0 = Date.now();
let n = 0;
const iv = setInterval(
	() =>
		console.log(
			"stats",
			JSON.stringify(reader.stats),
			(reader as any).queue.length,
			(reader as any).holds,
			(reader as any).backpressure,
			!!(reader as any).waiter,
		),
	1000,
);
while (true) {
	const r = await reader.next();
	if (r.done) break;
	n += r.value.changes.length;
	console.log(Date.now() - t0, "part", r.value.changes.length, r.value.final, n);
	if (n < 3000) await new Promise((res) => setTimeout(res, 100));
	if (r.value.final && n >= 20000) break;
}
clearInterval(iv);
await reader.close();
await conn.end();
