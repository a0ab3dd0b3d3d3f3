/**
 * Many tables: a migration of N tables (most small, a few large, some without keys, some with
 * foreign keys, and views) through schema, full, incremental, verification and switchover in
 * local mode, at one or more counts, measuring what should not grow with the table count:
 * DynamoDB and SQS calls per table (counted at relays in front of the embedded servers, every
 * Ferry process), items one status call and one scheduler tick read, the status payload, step
 * times (precheck, schema, ...), and memory. Writes bench/results/many-tables-<date>.md.
 *
 *   npx tsx bench/many-tables.ts [--tables 100,500,2000] [--big-rows 20000] [--workers 2]
 *                                [--parallelism 4] [--chunk-rows 5000] [--aws-ports 40410,40411]
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type AwsCounts, totalCalls } from "../test/support/aws-counter.ts";
import { destinationCredentials, dropDatabase, sourceCredentials } from "../test/support/databases.ts";
import { type ManyTablesResult, runManyTables } from "../test/support/many-tables.ts";
import { shapeFor } from "../test/support/many-tables-seed.ts";
import { fail, log, machineFact, markdownTable, positive, RESULTS_DIR, stamp } from "./support.ts";

const { values: args } = parseArgs({
	options: {
		tables: { type: "string", default: "100,500,2000" },
		"big-rows": { type: "string", default: "20000" },
		workers: { type: "string", default: "2" },
		parallelism: { type: "string", default: "4" },
		"chunk-rows": { type: "string", default: "5000" },
		"aws-ports": { type: "string", default: "40410,40411" },
	},
});
const COUNTS = args.tables.split(",").map((t) => positive("tables", t.trim()));
const BIG_ROWS = positive("big-rows", args["big-rows"]);
const WORKERS = positive("workers", args.workers);
const PARALLELISM = positive("parallelism", args.parallelism);
const CHUNK_ROWS = positive("chunk-rows", args["chunk-rows"]);
const [DYNAMO_PORT, SQS_PORT] = args["aws-ports"].split(",").map((p) => positive("aws-ports", p));
if (!DYNAMO_PORT || !SQS_PORT) fail("--aws-ports: two ports, DynamoDB's and SQS's");

const per = (n: number, tables: number) => (n / tables).toFixed(2);
const receives = (c: AwsCounts) => c.calls.ReceiveMessage ?? 0;

function figures(results: ManyTablesResult[]): string[][] {
	const rows: [string, (r: ManyTablesResult) => string][] = [
		["tables (+ views)", (r) => String(r.tables)],
		["result", (r) => (r.state === "completed" ? "completed" : `${r.state} ${r.ticket ?? ""}`)],
		["copy chunks, verification chunks", (r) => `${r.chunks.copy}, ${r.chunks.verify}`],
		[
			"DynamoDB calls / chunk (copy + verify)",
			(r) => (totalCalls(r.dynamo) / (r.chunks.copy + r.chunks.verify || 1)).toFixed(2),
		],
		["DynamoDB calls / table", (r) => per(totalCalls(r.dynamo), r.tables)],
		["DynamoDB items read / table", (r) => per(r.dynamo.itemsRead, r.tables)],
		["DynamoDB read units / table (4 KB, strong)", (r) => per(r.dynamo.readUnits, r.tables)],
		["DynamoDB write units / table (1 KB)", (r) => per(r.dynamo.writeUnits, r.tables)],
		["SQS calls / table, without ReceiveMessage", (r) => per(totalCalls(r.sqs) - receives(r.sqs), r.tables)],
		["SQS messages sent / table", (r) => per(r.sqs.messagesSent, r.tables)],
		["SQS ReceiveMessage (polls, by time not tables)", (r) => String(receives(r.sqs))],
		["status call mid-copy: items read", (r) => String(r.status["during full copy"]?.items ?? "-")],
		["status call at switch-check: items read", (r) => String(r.status["waiting at switch-check"]?.items ?? "-")],
		["status call at switch-check: bytes", (r) => String(r.status["waiting at switch-check"]?.bytes ?? "-")],
		["status call at switch-check: ms", (r) => String(r.status["waiting at switch-check"]?.ms ?? "-")],
		["status page (50 tables) mid-copy: items read", (r) => String(r.statusPage["during full copy"]?.items ?? "-")],
		[
			"status page (50 tables) at switch-check: items read",
			(r) => String(r.statusPage["waiting at switch-check"]?.items ?? "-"),
		],
		[
			"status page (50 tables) at switch-check: bytes",
			(r) => String(r.statusPage["waiting at switch-check"]?.bytes ?? "-"),
		],
		["scheduler tick mid-copy: items read", (r) => String(r.tick["during full copy"]?.items ?? "-")],
		["scheduler tick at switch-check: items read", (r) => String(r.tick["waiting at switch-check"]?.items ?? "-")],
		["scheduler tick at switch-check: calls", (r) => String(r.tick["waiting at switch-check"]?.calls ?? "-")],
		["idle at switch-check: DynamoDB calls/s", (r) => String(r.idlePerSecond.dynamoCalls)],
		["idle at switch-check: items read/s", (r) => String(r.idlePerSecond.itemsRead)],
		["precheck s", (r) => String(r.stepSeconds.precheck ?? "-")],
		["schema s", (r) => String(r.stepSeconds.schema ?? "-")],
		["full s", (r) => String(r.stepSeconds.full ?? "-")],
		["finalize s", (r) => String(r.stepSeconds.finalize ?? "-")],
		["verify s", (r) => String(r.stepSeconds.verify ?? "-")],
		[
			"coordinator RSS / heap MiB (with relays)",
			(r) => `${r.memoryMiB.coordinatorRss} / ${r.memoryMiB.coordinatorHeap}`,
		],
		["replication task RSS MiB", (r) => String(r.memoryMiB.replicationTaskRss)],
		["copy workers peak RSS MiB", (r) => r.memoryMiB.workersPeakRss.join(" / ")],
		[
			"verification: rows checked, differences",
			(r) => `${r.verification?.rowsChecked ?? "-"}, ${r.verification?.differences ?? "-"}`,
		],
		["source writes during the copy", (r) => String(r.writes)],
	];
	return rows.map(([label, f]) => [label, ...results.map(f)]);
}

function byStep(r: ManyTablesResult): string[][] {
	return Object.entries(r.dynamoByStep).map(([step, c]) => {
		const q = r.sqsByStep[step];
		return [
			step,
			String(totalCalls(c)),
			per(totalCalls(c), r.tables),
			per(c.itemsRead, r.tables),
			Object.entries(c.calls)
				.sort((a, b) => b[1] - a[1])
				.map(([op, n]) => `${op} ${n}`)
				.join(", "),
			q ? `${totalCalls(q) - receives(q)} (+${receives(q)} receives)` : "-",
		];
	});
}

async function main(): Promise<void> {
	const results: ManyTablesResult[] = [];
	const file = join(RESULTS_DIR, `many-tables-${stamp()}.md`);
	for (const n of COUNTS) {
		const database = `many_tables_${n}`;
		log(`many tables: ${n}`);
		await dropDatabase(database, destinationCredentials);
		try {
			const r = await runManyTables({
				source: sourceCredentials,
				destination: destinationCredentials,
				database,
				shape: shapeFor(n, BIG_ROWS),
				workers: WORKERS,
				parallelism: PARALLELISM,
				chunkRows: CHUNK_ROWS,
				schedulerIntervalMs: 1000,
				awsPorts: { dynamo: DYNAMO_PORT as number, sqs: SQS_PORT as number },
				log,
			});
			results.push(r);
			log(JSON.stringify(r));
		} finally {
			await dropDatabase(database, sourceCredentials, destinationCredentials);
		}
		// after each count: a long run stopped later keeps what it measured
		write(results, file);
	}
	log(`written ${file}`);
}

function write(results: ManyTablesResult[], file: string): void {
	const shape = shapeFor(COUNTS[0] as number, BIG_ROWS);
	const lines = [
		`# Many tables (${new Date().toISOString()})`,
		"",
		machineFact(),
		`- Mix per count N: 0.5% (at least 2) large tables of ${BIG_ROWS} rows, 5% without a key, 10% with a foreign key, views 5% of N; the rest small (${shape.smallRows} rows, a primary key and an index)`,
		`- Ferry: local mode, ${WORKERS} copy workers, parallelism ${PARALLELISM}, chunkRows ${CHUNK_ROWS}, scheduler tick 1 s; a write load across the small tables until the verify step`,
		"- Counted at relays in front of the embedded DynamoDB and SQS (every Ferry process); one status call and one tick counted alone through a probe's own relays",
		"",
		markdownTable(["figure", ...results.map((r) => `N = ${r.tables}`)], figures(results)),
		"",
		...results.flatMap((r) => [
			`## By step, N = ${r.tables}`,
			"",
			markdownTable(["step", "DynamoDB calls", "/ table", "items read / table", "operations", "SQS calls"], byStep(r)),
			"",
		]),
	];
	writeFileSync(file, `${lines.join("\n")}\n`);
}

main().then(
	() => process.exit(0),
	(err) => {
		console.error(err);
		process.exit(1);
	},
);
