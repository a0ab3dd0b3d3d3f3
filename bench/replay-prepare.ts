/**
 * The CPU cost of building a group's statements (`GroupStatements.prepare`, shared/replay/prepare.ts)
 * alone, per row change: 50 groups of 100 synthetic sysbench oltp_write_only transactions (two
 * updates, a delete and an insert each) over 4 tables, prepared 10 times per trial, 7 trials; the
 * minimum and median of CPU µs per row change. The destination is only asked once per table (its
 * columns); no statement is sent. The figures of docs/decisions/2026-12-06-speed.md.
 *
 *   npx tsx bench/replay-prepare.ts
 */
import type { RowChange, RowImage } from "../shared/capture/change.ts";
import { connect } from "../shared/db/connect.ts";
import { quoteId } from "../shared/db/sql.ts";
import type { TableName } from "../shared/model/rules.ts";
import { GroupStatements } from "../shared/replay/prepare.ts";
import { ReplayTables } from "../shared/replay/resolver.ts";
import { identity } from "../test/replay/helpers.ts";
import { destinationCredentials, freshDatabase, uniqueDatabase } from "../test/support/databases.ts";

const db = uniqueDatabase("prep_micro");
const dst = await freshDatabase(destinationCredentials, db);
const tables: TableName[] = [];
for (let t = 1; t <= 4; t++) {
	tables.push({ database: db, table: `sbtest${t}` });
	await dst.query(
		`CREATE TABLE ${quoteId(`sbtest${t}`)} (id INT NOT NULL, k INT NOT NULL DEFAULT 0, c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '', PRIMARY KEY (id), KEY k_${t} (k))`,
	);
}
const control = await connect(destinationCredentials);
await control.query(`USE ${quoteId(db)}`);
const rt = new ReplayTables(
	{ mapping: (t: TableName) => identity(t, ["id", "k", "c", "pad"]) } as never,
	() => control as never,
);
const gs = new GroupStatements(rt, null, () => control as never, 1 << 20, true);
let seed = 7;
const rand = () => {
	seed = (seed * 1103515245 + 12345) & 0x7fffffff;
	return seed;
};
const img = (id: number): RowImage => ({
	id,
	k: rand() % 100000,
	c: `${rand()}`.padEnd(119, "c"),
	pad: `${rand()}`.padEnd(59, "p"),
});
const groups: RowChange[][] = [];
for (let g = 0; g < 50; g++) {
	const changes: RowChange[] = [];
	for (let i = 0; i < 100; i++) {
		const table = tables[rand() % 4] as TableName;
		const a = rand() % 100000,
			b = rand() % 100000,
			d = rand() % 100000;
		const ra = img(a),
			rb = img(b);
		changes.push({ kind: "update", table, before: ra, after: { ...ra, k: Number(ra.k) + 1 } } as RowChange);
		changes.push({ kind: "update", table, before: rb, after: { ...rb, c: "x".repeat(119) } } as RowChange);
		changes.push({ kind: "delete", table, before: img(d) } as RowChange);
		changes.push({ kind: "insert", table, after: img(d) } as RowChange);
	}
	groups.push(changes);
}
const rows = groups.reduce((n, g) => n + g.length, 0);
await gs.prepare(groups[0] as RowChange[], "exact", false); // warm the table cache
const results: number[] = [];
for (let trial = 0; trial < 7; trial++) {
	const c0 = process.cpuUsage();
	for (let rep = 0; rep < 10; rep++) for (const g of groups) await gs.prepare(g, "exact", rep % 2 === 1);
	const c = process.cpuUsage(c0);
	results.push((c.user + c.system) / (rows * 10));
}
results.sort((a, b) => a - b);
console.log(
	`prepare: min ${results[0]?.toFixed(2)} µs/row, median ${results[3]?.toFixed(2)} µs/row (${rows * 10} rows per trial)`,
);
await control.query(`DROP DATABASE ${quoteId(db)}`);
await control.end();
await dst.end();
