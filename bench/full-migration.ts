/**
 * Full migration, side by side: copies the sysbench tables of database `sbtest` from the local
 * source (127.0.0.1:33401) to the local destination (127.0.0.1:33402) once per tool, in one run
 * on the same data, checks every copy with CHECKSUM TABLE and SHOW CREATE TABLE against the
 * source, and prints and writes the figures (bench/results/full-migration-<date>.md).
 *
 *   npx tsx bench/full-migration.ts [--tables 4] [--rows 1000000] [--threads 2] [--rounds 3]
 *                                   [--only mariadb-dump,mydumper,floor,ferry,mydumper-binlog]
 *
 * Each round copies once per tool, in the order of --only; the figures are medians over the rounds.
 *
 * See bench/README.md for what each tool runs and how the figures are taken.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
	type Cpu,
	compareTables,
	connect,
	cpuMeter,
	cpuSince,
	ensureTools,
	FERRY_HOME,
	fail,
	firstLine,
	fmt,
	localServers,
	log,
	machineFact,
	markdownTable,
	positive,
	prepareSysbench,
	query,
	quoteId,
	RESULTS_DIR,
	type Round,
	type Rounds,
	roundsHeader,
	serverFact,
	settle,
	sh,
	stamp,
	summariseRounds,
	sysbench,
	textTable,
	workDir,
} from "./support.ts";

// ---------------------------------------------------------------- settings

const DEFAULT_TOOLS = ["mariadb-dump", "mydumper", "floor", "ferry"] as const;
/** mydumper-binlog: myloader with -e, writing the destination binlog as the others do (not run by default). */
const TOOLS = [...DEFAULT_TOOLS, "mydumper-binlog"] as const;
type Tool = (typeof TOOLS)[number];

const { values: args } = parseArgs({
	options: {
		tables: { type: "string", default: "4" },
		rows: { type: "string", default: "1000000" },
		threads: { type: "string", default: "2" },
		rounds: { type: "string", default: "3" },
		only: { type: "string", default: DEFAULT_TOOLS.join(",") },
	},
});
const TABLES = positive("tables", args.tables);
const ROWS = positive("rows", args.rows);
const THREADS = positive("threads", args.threads);
const ROUNDS = positive("rounds", args.rounds);
const ONLY = args.only.split(",").map((s) => s.trim()) as Tool[];
for (const t of ONLY) if (!TOOLS.includes(t)) fail(`--only: unknown tool "${t}" (known: ${TOOLS.join(", ")})`);

const DB = "sbtest";
const TABLE_NAMES = Array.from({ length: TABLES }, (_, i) => `sbtest${i + 1}`);
const FERRY_TIMEOUT_S = 3600;

// The option files in WORK hold the password: removed on Ctrl-C too, with the floor's files.
const WORK = workDir(() => rmSync(FLOOR_DIR, { recursive: true, force: true }));
const { source, destination } = localServers(WORK);
const { now: cpuNow, timed } = cpuMeter(source, destination);

// ---------------------------------------------------------------- helpers

const table = (t: string) => `${quoteId(DB)}.${quoteId(t)}`;

/** Runs fn over items with at most `limit` at once. */
async function eachLimit<T>(items: T[], limit: number, fn: (item: T, slot: number) => Promise<void>): Promise<void> {
	let next = 0;
	await Promise.all(
		Array.from({ length: Math.min(limit, items.length) }, async (_, slot) => {
			while (next < items.length) await fn(items[next++] as T, slot);
		}),
	);
}

/** CHECKSUM TABLE and SHOW CREATE TABLE per table on both sides: the list of differences. */
const checkDestination = () => compareTables(source, destination, DB, TABLE_NAMES);

async function dropDestination(): Promise<void> {
	const dst = await connect(destination);
	try {
		await dst.query(`DROP DATABASE IF EXISTS ${quoteId(DB)}`);
		// Let the destination settle: wait (at most 30 s) while its count of dirty pages still falls.
		await settle(dst);
	} finally {
		await dst.end();
	}
}

// ---------------------------------------------------------------- prepare

const SYSBENCH_PREPARE = sysbench(
	source,
	DB,
	`oltp_read_write --tables=${TABLES} --table-size=${ROWS} --threads=${Math.min(TABLES, 2)} prepare`,
);

/** sysbench prepare on the source, unless it already holds exactly these tables and rows. */
const prepareSource = () => prepareSysbench(source, DB, TABLE_NAMES, ROWS, SYSBENCH_PREPARE);

async function warmSource(): Promise<void> {
	const src = await connect(source);
	await src.query(`CHECKSUM TABLE ${TABLE_NAMES.map(table).join(", ")}`);
	await src.end();
}

// ---------------------------------------------------------------- the tools

interface Run {
	seconds: number;
	cpu: Cpu;
	/** Sub-times, e.g. "dump 2.1 + load 32.0". */
	parts?: string;
	peakRss?: string;
}

interface Result extends Partial<Run>, Round {
	tool: Tool;
}

/** A tool over all rounds: medians, and the detail of its last successful round. */
interface Summary extends Rounds {
	tool: Tool;
	label: string;
	commands: string[];
	detail: string;
}

const DUMP_CMD = `mariadb-dump --defaults-file=${source.cnf} --single-transaction --quick --databases ${DB} | mariadb --defaults-file=${destination.cnf}`;

async function mariadbDump(): Promise<Run> {
	return timed(() => sh(DUMP_CMD));
}

const DUMP_DIR = join(WORK, "mydumper");
const MYDUMPER_CMD = `mydumper --defaults-file=${source.cnf} -B ${DB} -t ${THREADS} -o ${DUMP_DIR}`;
const MYLOADER_CMD = `myloader --defaults-file=${destination.cnf} -d ${DUMP_DIR} -t ${THREADS}`;

async function mydumper(loadCommand: string): Promise<Run> {
	rmSync(DUMP_DIR, { recursive: true, force: true });
	try {
		const dump = await timed(() => sh(MYDUMPER_CMD));
		const load = await timed(() => sh(loadCommand));
		return {
			seconds: dump.seconds + load.seconds,
			cpu: {
				client: dump.cpu.client + load.cpu.client,
				source: dump.cpu.source + load.cpu.source,
				destination: dump.cpu.destination + load.cpu.destination,
			},
			parts: `dump ${dump.seconds.toFixed(1)} + load ${load.seconds.toFixed(1)}`,
		};
	} finally {
		rmSync(DUMP_DIR, { recursive: true, force: true });
	}
}

/** Splits CREATE TABLE into the table without its secondary (non-unique) keys and the ADDs for them. */
function withoutSecondaryKeys(ddl: string): {
	create: string;
	addKeys: string;
} {
	const lines = ddl.split("\n");
	const body = lines.slice(1, -1).map((l) => l.trim().replace(/,$/, ""));
	const keys = body.filter((l) => l.startsWith("KEY "));
	const kept = body.filter((l) => !l.startsWith("KEY "));
	return {
		create: [lines[0], kept.map((l) => `  ${l}`).join(",\n"), lines.at(-1)].join("\n"),
		addKeys: keys.map((k) => `ADD ${k}`).join(", "),
	};
}

// Under the servers' secure_file_priv; both servers run as this user, so each reads the other's files.
const FLOOR_DIR = join(FERRY_HOME, "data", "bench-floor");
const floorFile = (t: string) => join(FLOOR_DIR, `${t}.tsv`);

const FLOOR_SQL = [
	`source:      SELECT * INTO OUTFILE '${floorFile("sbtest1")}' FROM ${table("sbtest1")}`,
	`destination: CREATE DATABASE ${quoteId(DB)} (charset from SHOW CREATE DATABASE on the source)`,
	"destination: CREATE TABLE (SHOW CREATE TABLE of the source without its KEY lines)",
	`destination: LOAD DATA INFILE '${floorFile("sbtest1")}' INTO TABLE ${table("sbtest1")} CHARACTER SET binary`,
	`destination: ALTER TABLE ${table("sbtest1")} ADD KEY \`k_1\` (\`k\`)`,
	`(${THREADS} tables at a time, each with its own source and destination connection)`,
];

async function floor(): Promise<Run> {
	rmSync(FLOOR_DIR, { recursive: true, force: true });
	mkdirSync(FLOOR_DIR, { recursive: true });
	const conns = await Promise.all(
		Array.from({ length: THREADS }, async () => ({
			src: await connect(source),
			dst: await connect(destination),
		})),
	);
	try {
		return await timed(async () => {
			const first = conns[0] as (typeof conns)[number];
			const [db] = await query<{ "Create Database": string }>(first.src, `SHOW CREATE DATABASE ${quoteId(DB)}`);
			await first.dst.query(db?.["Create Database"] ?? `CREATE DATABASE ${quoteId(DB)}`);
			await eachLimit(TABLE_NAMES, THREADS, async (t, slot) => {
				const { src, dst } = conns[slot] as (typeof conns)[number];
				const file = src.escape(floorFile(t));
				const [ddl] = await query<{ "Create Table": string }>(src, `SHOW CREATE TABLE ${table(t)}`);
				const { create, addKeys } = withoutSecondaryKeys(ddl?.["Create Table"] ?? "");
				await src.query(`SELECT * INTO OUTFILE ${file} FROM ${table(t)}`);
				await dst.query(`USE ${quoteId(DB)}`);
				await dst.query(create);
				await dst.query(`LOAD DATA INFILE ${file} INTO TABLE ${table(t)} CHARACTER SET binary`);
				if (addKeys) await dst.query(`ALTER TABLE ${table(t)} ${addKeys}`);
			});
		});
	} finally {
		await Promise.all(conns.flatMap(({ src, dst }) => [src.end(), dst.end()]));
		rmSync(FLOOR_DIR, { recursive: true, force: true });
	}
}

const FERRY_FLOW = [
	`startLocalStack({ home: <temp dir>, apiPort: 0, workers: ${THREADS} })`,
	'POST /datasources {name, engine: "mariadb", host: "127.0.0.1", port: 33401|33402, user, password, tls: false} (x2)',
	`POST /projects {types: ["schema", "full"], objects: [{database: "${DB}", table: "*"}], options: {parallelism: ${THREADS}, chunkRows: 100000}}`,
	"POST /projects/{id}/actions/start, then GET /projects/{id}/status every 0.5 s until state != running",
];

/** Ferry's own product path: local mode, through its REST API, as cli/demo/run.ts does it. */
async function ferry(): Promise<Run> {
	// Loaded here, not at the top: the peers still run when Ferry's code does not load.
	const { startLocalStack } = await import("../shared/local/stack.ts");
	const { FerryClient } = await import("../shared/api/client.ts");
	type Status = import("../shared/control/status.ts").ProjectStatus;

	const home = mkdtempSync(join(WORK, "ferry-home-"));
	const stack = await startLocalStack({ home, apiPort: 0, workers: THREADS });
	try {
		const api = new FerryClient(stack.apiUrl, stack.token);
		const login = {
			engine: "mariadb",
			host: "127.0.0.1",
			user: source.user,
			password: source.password,
			tls: false,
		};
		const s = await api.post<{ id: string }>("/datasources", {
			name: "bench source",
			...login,
			port: source.port,
		});
		const d = await api.post<{ id: string }>("/datasources", {
			name: "bench destination",
			...login,
			port: destination.port,
		});
		const project = await api.post<{ id: string }>("/projects", {
			name: "bench full migration",
			sourceId: s.id,
			destinationId: d.id,
			types: ["schema", "full"],
			objects: [{ database: DB, table: "*" }],
			options: { parallelism: THREADS, chunkRows: 100_000 },
		});

		const pids = () => stack.workers().flatMap((w) => (w.pid ? [w.pid] : []));
		const workerPids = new Set(pids());
		const cpu0 = cpuNow([...workerPids]);
		const t0 = performance.now();
		await api.post(`/projects/${project.id}/actions/start`);
		let status: Status;
		let lastLog = 0;
		for (;;) {
			status = await api.get<Status>(`/projects/${project.id}/status`);
			for (const pid of pids()) workerPids.add(pid);
			if (status.state !== "running") break;
			const elapsed = (performance.now() - t0) / 1000;
			if (elapsed > FERRY_TIMEOUT_S) throw new Error(`still running after ${FERRY_TIMEOUT_S} s`);
			if (elapsed - lastLog >= 10) {
				lastLog = elapsed;
				const step = status.steps.find((st) => st.state === "running")?.name ?? "?";
				log(`  ferry: ${step}, ${status.full?.percent ?? 0}% (${status.full?.rowsCopied ?? 0} rows)`);
			}
			await new Promise((r) => setTimeout(r, 500));
		}
		const seconds = (performance.now() - t0) / 1000;
		const cpu = cpuSince(cpu0, cpuNow([...workerPids]));
		const hwm = [...workerPids].map((pid) => {
			const m = /VmHWM:\s+(\d+) kB/.exec(readFileSafe(`/proc/${pid}/status`));
			return m ? Number(m[1]) / 1024 : 0;
		});
		const peakRss =
			`workers ${hwm.map((mb) => mb.toFixed(0)).join("/")} MiB, ` +
			`coordinator ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`;
		const parts = status.steps
			.filter((st) => st.startedAt && st.finishedAt)
			.map(
				(st) => `${st.name} ${((Date.parse(st.finishedAt ?? "") - Date.parse(st.startedAt ?? "")) / 1000).toFixed(1)}`,
			)
			.join(" + ");
		if (status.state !== "completed") {
			const why = status.ticket ? `${status.ticket.step}: ${status.ticket.message}` : "no ticket";
			throw new Error(`project ended in state ${status.state} (${why})`);
		}
		return { seconds, cpu, parts, peakRss };
	} finally {
		await stack.stop();
		rmSync(home, { recursive: true, force: true });
	}
}

function readFileSafe(path: string): string {
	try {
		return readFileSync(path, "utf8");
	} catch {
		return "";
	}
}

const RUNNERS: Record<Tool, { label: string; run: () => Promise<Run>; commands: string[] }> = {
	"mariadb-dump": {
		label: "mariadb-dump --single-transaction --quick | mariadb",
		run: mariadbDump,
		commands: [DUMP_CMD],
	},
	mydumper: {
		label: `mydumper -t ${THREADS} + myloader -t ${THREADS} (binlog off)`,
		run: () => mydumper(MYLOADER_CMD),
		commands: [MYDUMPER_CMD, MYLOADER_CMD],
	},
	"mydumper-binlog": {
		label: `mydumper -t ${THREADS} + myloader -t ${THREADS} -e (binlog on)`,
		run: () => mydumper(`${MYLOADER_CMD} -e`),
		commands: [MYDUMPER_CMD, `${MYLOADER_CMD} -e`],
	},
	floor: {
		label: "INTO OUTFILE + LOAD DATA INFILE, index after (floor)",
		run: floor,
		commands: FLOOR_SQL,
	},
	ferry: {
		label: `Ferry local mode, ${THREADS} workers`,
		run: ferry,
		commands: FERRY_FLOW,
	},
};

// ---------------------------------------------------------------- report

function summarise(tool: Tool, results: Result[]): Summary {
	const mine = results.filter((r) => r.tool === tool);
	const last = mine.filter((r) => !r.problems.length).at(-1);
	const { label, commands } = RUNNERS[tool];
	return {
		tool,
		label,
		commands,
		...summariseRounds(mine),
		detail: [last?.parts, last?.peakRss].filter(Boolean).join("; "),
	};
}

function rows(summaries: Summary[]): string[][] {
	const ferrySeconds = summaries.find((r) => r.tool === "ferry" && r.ok)?.seconds;
	return summaries.map((r) => {
		const ok = r.ok && r.seconds !== undefined;
		return [
			r.label,
			ok ? "ok" : "FAILED",
			fmt(r.seconds),
			r.runs,
			r.spread,
			ok && r.seconds ? `${Math.round((TABLES * ROWS) / r.seconds / 1000)}k` : "-",
			r.cpu ? `${fmt(r.cpu.client)} / ${fmt(r.cpu.source)} / ${fmt(r.cpu.destination)}` : "-",
			r.cpu ? fmt((r.cpu.client * 1e6) / (TABLES * ROWS), 2) : "-",
			ok && ferrySeconds ? fmt((r.seconds ?? 0) / ferrySeconds, 2) : "-",
			r.detail,
		];
	});
}

const HEADER = roundsHeader("tool");

function ferryOverFloor(summaries: Summary[]): string {
	const ok = (t: Tool) => summaries.find((r) => r.tool === t && r.ok)?.seconds;
	const f = ok("ferry");
	const fl = ok("floor");
	return f && fl
		? `Ferry / floor = ${(f / fl).toFixed(2)} (medians; target <= 1.3)`
		: "Ferry / floor: n/a (one of them did not run or failed)";
}

async function machineFacts(): Promise<string[]> {
	const src = await connect(source);
	const [size] = await query<{ mib: string }>(
		src,
		`SELECT ROUND(SUM(DATA_LENGTH + INDEX_LENGTH) / 1048576, 1) AS mib FROM information_schema.TABLES WHERE TABLE_SCHEMA = ${src.escape(DB)}`,
	);
	await src.end();
	return [
		machineFact(),
		await serverFact(source),
		await serverFact(destination),
		`- Data: sysbench \`--tables=${TABLES} --table-size=${ROWS}\` (${TABLES * ROWS} rows, ${size?.mib ?? "?"} MiB data+index), database \`${DB}\``,
		`- Threads: ${THREADS} (mydumper/myloader -t, floor tables at once, Ferry workers and parallelism)`,
		`- Tools: ${firstLine("sysbench --version")}; ${firstLine("mydumper --version")}; ${firstLine("mariadb-dump --version")}; Node ${process.version}`,
	];
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
	ensureTools([
		["sysbench", "sysbench"],
		["mydumper", "mydumper"],
		["myloader", "mydumper"],
		["mariadb-dump", "mariadb-client"],
		["mariadb", "mariadb-client"],
	]);
	await prepareSource();
	log("warming the source buffer pool (CHECKSUM TABLE) ...");
	await warmSource();
	const facts = await machineFacts();

	const results: Result[] = [];
	for (let round = 1; round <= ROUNDS; round++) {
		for (const tool of ONLY) {
			const { run } = RUNNERS[tool];
			await dropDestination();
			log(`round ${round} of ${ROUNDS}, ${tool}: copying ...`);
			let result: Result;
			try {
				result = { tool, problems: [], ...(await run()) };
			} catch (err) {
				result = { tool, problems: [`did not finish: ${(err as Error).message}`] };
			}
			if (!result.problems.length) result.problems = await checkDestination();
			log(
				`${tool}: ${result.problems.length ? `FAILED: ${result.problems.join("; ")}` : "identical to the source"}` +
					(result.seconds !== undefined ? ` in ${result.seconds.toFixed(1)} s` : ""),
			);
			results.push(result);
		}
	}
	await dropDestination();

	const summaries = ONLY.map((tool) => summarise(tool, results));
	const body = rows(summaries);
	console.log(`\n${textTable(HEADER, body)}\n${ferryOverFloor(summaries)}\n`);

	const file = join(RESULTS_DIR, `full-migration-${stamp()}.md`);
	const hide = (s: string) => s.replaceAll(WORK, "$TMP");
	const md = [
		`# Full migration, ${TABLES} x ${ROWS} rows, ${THREADS} threads (${new Date().toISOString()})`,
		"",
		...facts,
		"",
		markdownTable(HEADER, body),
		"",
		ferryOverFloor(summaries),
		"",
		`${ROUNDS} round(s), each copying once per tool in the order of the table; median s, rows/s, CPU and time / Ferry are medians over the rounds (runs s: every round in order, x = failed; spread: min-max and half the range over the median). rows/s = all rows / wall seconds. CPU s = user+system seconds from /proc over the timed window: client = this process, its children and Ferry's workers; src/dst = the two mariadbd processes; client CPU µs/row = client CPU seconds per million rows. Every copy was checked with CHECKSUM TABLE and SHOW CREATE TABLE (AUTO_INCREMENT aside) against the source.`,
		"",
		"On a machine shared with other work a single round moves by 10-20 %, hence the medians. myloader turns the binlog off for its sessions unless -e; every other tool writes the destination binlog. See bench/README.md (Caveats).",
		"",
		...summaries.flatMap((r) => (r.problems.length ? [`**${r.label} FAILED**: ${r.problems.join("; ")}`, ""] : [])),
		"## Commands",
		"",
		`Prepare (once, not timed; password in MYSQL_PWD): \`${SYSBENCH_PREPARE}\``,
		"",
		"`$TMP/source.cnf` and `$TMP/destination.cnf` are option files ([client] host, port, user, password) in a temporary directory, mode 0600.",
		"",
		`Benchmark: \`npx tsx bench/full-migration.ts --tables ${TABLES} --rows ${ROWS} --threads ${THREADS} --rounds ${ROUNDS} --only ${ONLY.join(",")}\``,
		"",
		...summaries.flatMap((r) => [`${r.label}:`, "", "```", ...r.commands.map(hide), "```", ""]),
	].join("\n");
	mkdirSync(RESULTS_DIR, { recursive: true });
	writeFileSync(file, md);
	console.log(`results written to ${file}`);
	if (summaries.some((r) => !r.ok)) process.exitCode = 1;
}

try {
	await main();
} finally {
	rmSync(WORK, { recursive: true, force: true });
}
