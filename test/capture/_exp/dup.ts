import { openBinlogReader } from "../../../shared/capture/reader.ts";
import { sourceCredentials as creds, freshDatabase } from "../../support/databases.ts";

const conn = await freshDatabase(creds, "dupx");
const noise = await freshDatabase(creds, "dupnoise");
await conn.query("CREATE TABLE r (id INT PRIMARY KEY)");
await noise.query("CREATE TABLE n (id INT PRIMARY KEY, v TEXT)");
let stop = false;
let k = 0;
const churn = (async () => {
	while (!stop) {
		k++;
		await noise.query("INSERT INTO n VALUES (?, REPEAT('z', 100))", [k]);
		if (k % 20 === 0) await noise.query(`CREATE TABLE IF NOT EXISTS x${k} (a int)`);
	}
})();
const show = (p: any) =>
	`${p.gtid ?? "-"} final=${p.final} n=${p.changes.length} ${p.changes.map((c: any) => (c.kind === "ddl" ? "ddl:" + c.sql.slice(0, 30) : c.kind + (c.after ?? c.before)?.id)).join(",")} pos=${JSON.stringify(p.position)}`;
const R = await openBinlogReader(creds, { from: "now", serverId: 9601, include: (t) => t.database === "dupx" });
for (let i = 1; i <= 5; i++) await conn.query("INSERT INTO r VALUES (?)", [i]);
const got: any[] = [];
while (got.filter((p) => p.changes.some((c: any) => c.kind !== "ddl")).length < 5) {
	const r = await R.next();
	got.push(r.value);
}
const finals = got.filter((p) => p.changes.some((c: any) => c.kind !== "ddl"));
for (const p of finals) console.log("R", show(p));
await R.close();
const after2 = finals[1].position;
console.log("after2", after2);
const A = await openBinlogReader(creds, { from: after2, serverId: 9602, include: (t) => t.database === "dupx" });
await conn.query("INSERT INTO r VALUES (99)");
const t0 = Date.now();
while (Date.now() - t0 < 3000) {
	const r = (await Promise.race([A.next(), new Promise((res) => setTimeout(() => res(null), 3000))])) as any;
	if (!r) break;
	const p = r.value;
	if (p.changes.length) console.log("A", show(p));
}
stop = true;
await churn;
await A.close();
await conn.query("DROP DATABASE dupx");
await noise.query("DROP DATABASE dupnoise");
await conn.end();
await noise.end();
process.exit(0);
