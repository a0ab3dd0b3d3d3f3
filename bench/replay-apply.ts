/**
 * Replay throughput on synthetic sysbench oltp_write_only transactions (4 row changes each:
 * update k, update c, delete, insert of the same id) over 4 sysbench-like tables.
 *
 *   npx tsx bench/replay-apply.ts [--transactions 100000] [--parallel 1] [--mode exact|safe] [--rows 100000]
 *     [--tables 4] [--group N] [--checks false]
 *
 * Prints rows/s (row changes applied per second) and the totals.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { RowDataPacket } from "mysql2";
import type { RowImage, TransactionPart } from "../shared/capture/change.ts";
import { connect } from "../shared/db/connect.ts";
import { quoteId } from "../shared/db/sql.ts";
import type { TableName } from "../shared/model/rules.ts";
import { Applier } from "../shared/replay/applier.ts";
import { identity, Stream } from "../test/replay/helpers.ts";
import { destinationCredentials, freshDatabase, uniqueDatabase } from "../test/support/databases.ts";

const { values: args } = parseArgs({
	options: {
		transactions: { type: "string", default: "100000" },
		parallel: { type: "string", default: "1" },
		mode: { type: "string", default: "exact" },
		rows: { type: "string", default: "100000" },
		tables: { type: "string", default: "4" },
		group: { type: "string" },
		checks: { type: "string", default: "true" },
	},
});
const TX = Number(args.transactions);
const ROWS = Number(args.rows);
const TABLES = Number(args.tables);

const db = uniqueDatabase("replay_bench");
const dst = await freshDatabase(destinationCredentials, db);
const tables: TableName[] = [];
for (let t = 1; t <= TABLES; t++) {
	const name = { database: db, table: `sbtest${t}` };
	tables.push(name);
	await dst.query(
		`CREATE TABLE ${quoteId(name.table)} (id INT NOT NULL AUTO_INCREMENT, k INT NOT NULL DEFAULT 0,
		c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '', PRIMARY KEY (id), KEY k_${t} (k)) ENGINE=InnoDB`,
	);
	await dst.query(
		`INSERT INTO ${quoteId(name.table)} SELECT seq, seq * 7 % ${ROWS}, LPAD(seq, 119, 'c'), LPAD(seq, 59, 'p') FROM seq_1_to_${ROWS}`,
	);
}
await dst.end();

// The model of the source tables, to produce exact before images.
const model = tables.map(() => new Map<number, RowImage>());
const row = (t: number, id: number): RowImage => {
	let r = model[t]?.get(id);
	if (!r) {
		r = { id, k: (id * 7) % ROWS, c: String(id).padStart(119, "c"), pad: String(id).padStart(59, "p") };
		model[t]?.set(id, r);
	}
	return r;
};
let seed = 42;
const rand = () => {
	seed = (seed * 1103515245 + 12345) & 0x7fffffff;
	return seed;
};
const stream = new Stream();
function* workload(): Generator<TransactionPart> {
	for (let i = 0; i < TX; i++) {
		const t = rand() % TABLES;
		const table = tables[t] as TableName;
		const a = (rand() % ROWS) + 1;
		const b = (rand() % ROWS) + 1;
		const d = (rand() % ROWS) + 1;
		const ra = row(t, a);
		const ra2 = { ...ra, k: Number(ra.k) + 1 };
		model[t]?.set(a, ra2);
		const rb = row(t, b);
		const rb2 = {
			...rb,
			c: `${rand()}-${rand()}-${rand()}-${rand()}-${rand()}-${rand()}-${rand()}-${rand()}`.padEnd(119, "x"),
		};
		model[t]?.set(b, rb2);
		const rd = row(t, d);
		const rd2 = { id: d, k: rand() % ROWS, c: `${rand()}`.padEnd(119, "y"), pad: `${rand()}`.padEnd(59, "z") };
		model[t]?.set(d, rd2);
		yield stream.tx(
			{ kind: "update", table, before: ra, after: ra2 },
			{ kind: "update", table, before: rb, after: rb2 },
			{ kind: "delete", table, before: rd },
			{ kind: "insert", table, after: rd2 },
		);
	}
}

const applier = new Applier({
	destination: destinationCredentials,
	stream: `bench-${db}`,
	metaDatabase: `${db}_meta`,
	mapping: (t) => identity(t, ["id", "k", "c", "pad"]),
	parallel: Number(args.parallel),
	...(args.group ? { groupTransactions: Number(args.group) } : {}),
	exactChecks: args.checks !== "false",
	safeUntil: args.mode === "safe" ? { gtid: `0-1-${TX + 10}`, file: "", pos: 0 } : null,
});
await applier.open();
// CPU time of the destination server (when it runs on this machine) and of this process.
const probe = await connect(destinationCredentials);
const [[pidRow]] = await probe.query<RowDataPacket[]>("SELECT @@pid_file AS f");
await probe.end();
const serverCpu = (): number => {
	try {
		const pid = readFileSync(String(pidRow?.f), "utf8").trim();
		const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
		return (Number(fields[11]) + Number(fields[12])) / 100;
	} catch {
		return Number.NaN;
	}
};
const cpu0 = process.cpuUsage();
const server0 = serverCpu();
const started = performance.now();
const stats = await applier.run(workload());
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpu0);
const serverSeconds = serverCpu() - server0;
await applier.close();
console.log(
	JSON.stringify({
		transactions: stats.transactions,
		rows: stats.rows,
		commits: stats.commits,
		seconds: Number(seconds.toFixed(2)),
		rowsPerSecond: Math.round(stats.rows / seconds),
		parallel: Number(args.parallel),
		mode: args.mode,
		inconsistencies: stats.inconsistencies,
		retries: stats.retries,
		// CPU seconds spent by Ferry and by the destination server: load-independent cost.
		ferryCpu: Number(((cpu.user + cpu.system) / 1e6).toFixed(2)),
		serverCpu: Number(serverSeconds.toFixed(2)),
	}),
);
const c = await connect(destinationCredentials);
await c.query(`DROP DATABASE ${quoteId(db)}`);
await c.query(`DROP DATABASE ${quoteId(`${db}_meta`)}`);
await c.end();
