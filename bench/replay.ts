/**
 * Incremental replay, side by side: builds a write backlog on the source (sysbench
 * oltp_write_only for a fixed time, nothing replaying), then drains it into the destination,
 * each contender starting from the same restored baseline: Ferry's capture + replay (parallel 1
 * and 2) and MariaDB's own replica (single-threaded, 4 and 2 threads optimistic). Every drain is
 * checked with CHECKSUM TABLE against the source. Last, the latency of Ferry's replay while
 * sysbench runs at half the rate the backlog reached. Prints and writes the figures
 * (bench/results/replay-<date>.md).
 *
 *   npx tsx bench/replay.ts [--tables 4] [--rows 100000] [--seconds 60] [--threads 4] [--rounds 3]
 *                           [--profile] [--only ferry-1,ferry-2,native-1,native-4,native-2,latency]
 *
 * Each round drains the backlog once per contender; the figures are medians over the rounds.
 * --profile adds one more ferry-1 drain under V8's CPU profiler (not in the medians).
 *
 * See bench/README.md for what each contender runs and how the figures are taken.
 */
import { closeSync, fstatSync, mkdirSync, openSync, readSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { SourcePosition } from "../shared/binlog/position.ts";
import type { Applier } from "../shared/replay/applier.ts";
import { CHECKPOINT_TABLE, FEED_POSITION_TABLE } from "../shared/replay/checkpoint.ts";
import { type Profiled, profiled } from "./cpu-profile.ts";
import {
	type Cpu,
	compareTables,
	connect,
	cpuMeter,
	cpuSince,
	describe,
	ensureTools,
	fail,
	firstLine,
	fmt,
	localServers,
	log,
	machineFact,
	markdownTable,
	percentile,
	positive,
	prepareSysbench,
	query,
	quoteId,
	RESULTS_DIR,
	type Round,
	type Rounds,
	roundsHeader,
	type Server,
	serverFact,
	settle,
	sh,
	sleep,
	stamp,
	summariseRounds,
	sysbench,
	sysbenchEnv,
	sysbenchFigures,
	textTable,
	workDir,
} from "./support.ts";
import { profileLines } from "./sync-profile.ts";

// ---------------------------------------------------------------- settings

const CONTENDERS = ["ferry-1", "ferry-2", "native-1", "native-4", "native-2"] as const;
type Contender = (typeof CONTENDERS)[number];
const STEPS = [...CONTENDERS, "latency"] as const;

const { values: args } = parseArgs({
	options: {
		tables: { type: "string", default: "4" },
		rows: { type: "string", default: "100000" },
		seconds: { type: "string", default: "60" },
		threads: { type: "string", default: "4" },
		rounds: { type: "string", default: "3" },
		profile: { type: "boolean", default: false },
		only: { type: "string", default: STEPS.join(",") },
	},
});
const TABLES = positive("tables", args.tables);
const ROWS = positive("rows", args.rows);
const SECONDS = positive("seconds", args.seconds);
const THREADS = positive("threads", args.threads);
const ROUNDS = positive("rounds", args.rounds);
const PROFILE = args.profile;
const ONLY = args.only.split(",").map((s) => s.trim());
for (const s of ONLY) if (!(STEPS as readonly string[]).includes(s)) fail(`--only: unknown "${s}" (known: ${STEPS})`);

const DB = "sbrepl";
const TABLE_NAMES = Array.from({ length: TABLES }, (_, i) => `sbtest${i + 1}`);
/** Ferry's checkpoint table lives in the benchmark's own database (metaDatabase), so a restore resets it. */
/** Replay's own tables in the meta database (its checkpoint, a feed's positions): not compared. */
const META_TABLES = [CHECKPOINT_TABLE, FEED_POSITION_TABLE];
/** The GTID domain of the source (gtid_domain_id = server id). */
const DOMAIN = 1;
/** The replica server id Ferry's binlog connection announces. */
const SERVER_ID = 7000 + (process.pid % 1000);
/** A drain that takes longer than this fails. */
const TIMEOUT_S = Math.max(600, 20 * SECONDS);

const WORK = workDir();
const { source, destination } = localServers(WORK);
const { now: cpuNow, timed } = cpuMeter(source, destination);
const BASELINE = join(WORK, "baseline.sql");
/** Where --profile leaves its .cpuprofile: outside WORK, which is removed at the end. */
const PROFILE_DIR = process.env.FERRY_BENCH_PROFILE_DIR ?? tmpdir();
const credentials = (s: Server) => ({ host: s.host, port: s.port, user: s.user, password: s.password, tls: false });

// ---------------------------------------------------------------- commands

const SB = `--tables=${TABLES} --table-size=${ROWS}`;
const PREPARE_CMD = sysbench(source, DB, `oltp_write_only ${SB} --threads=${Math.min(TABLES, 2)} prepare`);
const BACKLOG_CMD = sysbench(source, DB, `oltp_write_only ${SB} --threads=${THREADS} --time=${SECONDS} run`);
const loadCommand = (rate: number) =>
	sysbench(source, DB, `oltp_write_only ${SB} --threads=${THREADS} --time=${SECONDS} --rate=${rate} run`);
const DUMP_CMD = `mariadb-dump --defaults-file=${source.cnf} --single-transaction --master-data=2 --gtid --quick ${DB} > ${BASELINE}`;
const RESTORE_CMD = `mariadb --defaults-file=${destination.cnf} --init-command='SET SESSION sql_log_bin = 0' ${DB} < ${BASELINE}`;
const RESTORE_FLOW = [
	`destination (sql_log_bin = 0): DROP DATABASE IF EXISTS ${quoteId(DB)}; CREATE DATABASE (SHOW CREATE DATABASE of the source)`,
	RESTORE_CMD,
	"then wait (at most 30 s) while the destination's dirty pages still fall",
];

// ---------------------------------------------------------------- positions

/** The sequence number of `domain` in a MariaDB GTID position ('1-1-100,2-2-7'), 0 when absent. */
function domainSeq(gtid: string | undefined, domain = DOMAIN): number {
	for (const g of (gtid ?? "").split(",")) {
		const [d, , seq] = g.trim().split("-");
		if (Number(d) === domain) return Number(seq);
	}
	return 0;
}

/** The source's current position: binlog file and offset with its GTID state. */
async function sourcePosition(): Promise<SourcePosition> {
	const { currentPosition } = await import("../shared/binlog/position.ts");
	const { connect: ferryConnect } = await import("../shared/db/connect.ts");
	const conn = await ferryConnect(credentials(source));
	try {
		return await currentPosition(conn);
	} finally {
		await conn.end();
	}
}

// ---------------------------------------------------------------- prepare, baseline, backlog

/** Dumps the source's database with the position P it was taken at (from the dump's own header). */
async function takeBaseline(): Promise<SourcePosition> {
	await sh(DUMP_CMD);
	// CHANGE MASTER TO MASTER_LOG_FILE=... comes at the top, gtid_slave_pos=... at the end
	const fd = openSync(BASELINE, "r");
	const chunk = (at: number) => {
		const buf = Buffer.alloc(64 * 1024);
		return buf.subarray(0, readSync(fd, buf, 0, buf.length, Math.max(0, at))).toString("utf8");
	};
	const head = chunk(0);
	const tail = chunk(fstatSync(fd).size - 64 * 1024);
	closeSync(fd);
	const file = /MASTER_LOG_FILE='([^']+)', MASTER_LOG_POS=(\d+)/.exec(head);
	const gtid = /gtid_slave_pos='([^']*)'/.exec(tail);
	if (!file || !gtid) throw new Error(`no MASTER_LOG_FILE / gtid_slave_pos comment in ${BASELINE}`);
	return { gtid: gtid[1] as string, file: file[1] as string, pos: Number(file[2]) };
}

/** Makes the destination's database the baseline again (not timed). */
async function restoreBaseline(): Promise<void> {
	const [src, dst] = await Promise.all([connect(source), connect(destination)]);
	try {
		const [db] = await query<{ "Create Database": string }>(src, `SHOW CREATE DATABASE ${quoteId(DB)}`);
		await dst.query("SET SESSION sql_log_bin = 0");
		await dst.query(`DROP DATABASE IF EXISTS ${quoteId(DB)}`);
		await dst.query(db?.["Create Database"] ?? `CREATE DATABASE ${quoteId(DB)}`);
		await sh(RESTORE_CMD);
		await settle(dst);
	} finally {
		await Promise.all([src.end(), dst.end()]);
	}
}

interface Backlog {
	from: SourcePosition;
	to: SourcePosition;
	transactions: number;
	tps: number;
	ignoredErrors: number;
	/** Row events of the backlog: sysbench transactions x 4 (2 updates, a delete, an insert). */
	rows: number;
}

async function makeBacklog(from: SourcePosition): Promise<Backlog> {
	const out = await sh(BACKLOG_CMD, { env: sysbenchEnv(source), keepStdout: true });
	const to = await sourcePosition();
	const figures = sysbenchFigures(out);
	return { from, to, ...figures, rows: figures.transactions * 4 };
}

// ---------------------------------------------------------------- Ferry

interface FerryReplay {
	applier: Applier;
	/** Resolves once the applied position holds the source's transaction `seq` of DOMAIN. */
	reached(seq: number): Promise<void>;
	/** Stops capture and replay; rejects with replay's error if it failed. */
	stop(): Promise<void>;
	/** Rejects when replay fails or ends on its own. */
	failed: Promise<never>;
}

/** Ferry's capture (openBinlogReader from `from`, sbrepl only) into its applier, identity mappings. */
async function startFerry(parallel: number, from: SourcePosition): Promise<FerryReplay> {
	// Loaded here, not at the top: the native contenders still run when Ferry's code does not load.
	const { openBinlogReader } = await import("../shared/capture/reader.ts");
	const { Applier } = await import("../shared/replay/applier.ts");
	const { translateDdl } = await import("../shared/ddl/translate.ts");
	const { ObjectRules } = await import("../shared/model/rules.ts");
	type TableMapping = import("../shared/model/rules.ts").TableMapping;

	const src = await connect(source);
	const columns = await query<{ t: string; c: string }>(
		src,
		`SELECT TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ${src.escape(DB)} ORDER BY TABLE_NAME, ORDINAL_POSITION`,
	);
	await src.end();
	const mappings = new Map<string, TableMapping>();
	for (const t of TABLE_NAMES) {
		const name = { database: DB, table: t };
		const cols = columns.filter((r) => r.t === t).map((r) => ({ source: r.c, destination: r.c }));
		mappings.set(t, { source: name, destination: name, columns: cols });
	}

	let waiters: { seq: number; resolve: () => void }[] = [];
	const applier = new Applier({
		destination: credentials(destination),
		stream: "bench-replay",
		metaDatabase: DB,
		mapping: (t) => (t.database === DB ? mappings.get(t.table) : undefined),
		safeUntil: null,
		parallel,
		// DDL of other databases (other tests on the source) reaches the applier too: Ferry's DDL
		// translator decides, as in the replication task (shared/replication/stream.ts).
		onDdl: async (change, { connection }) => {
			const rules = ObjectRules.parse([{ database: DB }]);
			const decision = translateDdl(change, { rules, mappings: [...mappings.values()], destinationEngine: "mariadb" });
			if (decision.action === "refuse") throw new Error(`DDL refused: ${decision.reason}`);
			if (decision.action === "apply") for (const sql of decision.statements) await connection.query(sql);
		},
		onCommit: (stats) => {
			const seq = domainSeq(stats.position?.gtid);
			for (const w of waiters.filter((w) => seq >= w.seq)) w.resolve();
			waiters = waiters.filter((w) => seq < w.seq);
		},
	});
	await applier.open();
	let reader: Awaited<ReturnType<typeof openBinlogReader>>;
	try {
		reader = await openBinlogReader(credentials(source), {
			from,
			serverId: SERVER_ID,
			include: (t) => t.database === DB,
		});
	} catch (err) {
		await applier.close();
		throw err;
	}
	const abort = new AbortController();
	const run = applier.run(reader, abort.signal);
	const failed = run.then(
		() => {
			throw new Error("Applier.run ended before the benchmark stopped it (the binlog reader's stream ended)");
		},
		(err: unknown) => {
			throw err;
		},
	);
	failed.catch(() => {});
	return {
		applier,
		failed,
		reached: (seq) =>
			domainSeq(applier.progress.position?.gtid) >= seq
				? Promise.resolve()
				: new Promise((resolve) => waiters.push({ seq, resolve })),
		stop: async () => {
			abort.abort();
			await reader.close();
			try {
				await run;
			} finally {
				await applier.close();
			}
		},
	};
}

/** Waits for `promise`, replay's failure or the timeout, whichever comes first. */
function within<T>(promise: Promise<T>, replay: FerryReplay, seconds: number, what: string): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new Error(`${what}: not done after ${seconds} s`)), seconds * 1000);
	});
	return Promise.race([promise, replay.failed, timeout]).finally(() => clearTimeout(timer));
}

interface Run {
	seconds: number;
	cpu: Cpu;
	detail: string;
}

async function ferryDrain(parallel: number, backlog: Backlog): Promise<Run> {
	const cpu0 = cpuNow();
	const t0 = performance.now();
	const replay = await startFerry(parallel, backlog.from);
	try {
		await within(replay.reached(domainSeq(backlog.to.gtid)), replay, TIMEOUT_S, "Ferry replay");
	} catch (err) {
		await replay.stop().catch(() => {});
		throw err;
	}
	const seconds = (performance.now() - t0) / 1000;
	const cpu = cpuNow();
	const p = replay.applier.progress;
	await replay.stop();
	return {
		seconds,
		cpu: cpuSince(cpu0, cpu),
		detail: `${p.rows} row changes in ${p.transactions} source trx (sbrepl), ${p.commits} destination commits, ${p.retries} retries`,
	};
}

const FERRY_FLOW = (parallel: number) => [
	`openBinlogReader(source, { from: P, serverId: ${SERVER_ID}, include: (t) => t.database === "${DB}" })`,
	`new Applier({ destination, stream: "bench-replay", metaDatabase: "${DB}", mapping: identity of ${DB}.sbtest1..${TABLES} (columns from information_schema), safeUntil: null, parallel: ${parallel}, onDdl: translateDdl with rules [{ database: "${DB}" }] })`,
	`applier.open(); applier.run(reader, signal) until onCommit sees progress.position reach E (seq of domain ${DOMAIN})`,
];

// ---------------------------------------------------------------- MariaDB's own replica

const nativeSql = (threads: number, from: string, to: string) => [
	"STOP SLAVE; RESET SLAVE ALL",
	`SET GLOBAL gtid_slave_pos = '${from}'`,
	`CHANGE MASTER TO MASTER_HOST='${source.host}', MASTER_PORT=${source.port}, MASTER_USER='${source.user}', MASTER_PASSWORD='***', MASTER_USE_GTID=slave_pos`,
	`SET GLOBAL replicate_do_db = '${DB}'`,
	`SET GLOBAL slave_parallel_threads = ${threads}, slave_parallel_mode = 'optimistic'`,
	`START SLAVE   -- timed from here`,
	`SELECT MASTER_GTID_WAIT('${to}', 1) until it returns 0 (SHOW SLAVE STATUS checked for errors in between)   -- to here`,
	"STOP SLAVE; RESET SLAVE ALL; then replicate_do_db, slave_parallel_threads, slave_parallel_mode and gtid_slave_pos set back",
];

type Globals = { threads: string; mode: string; doDb: string; slavePos: string };

/** Removes the replica configuration and puts back the global settings it changed. */
async function resetReplica(dst: Awaited<ReturnType<typeof connect>>, saved: Globals): Promise<void> {
	await dst.query("STOP SLAVE").catch(() => {});
	await dst.query("RESET SLAVE ALL");
	await dst.query(
		`SET GLOBAL slave_parallel_threads = ${Number(saved.threads)}, slave_parallel_mode = ${dst.escape(saved.mode)}, replicate_do_db = ${dst.escape(saved.doDb)}, gtid_slave_pos = ${dst.escape(saved.slavePos)}`,
	);
}

async function nativeDrain(threads: number, backlog: Backlog): Promise<Run> {
	const dst = await connect(destination);
	const [saved] = await query<Globals>(
		dst,
		"SELECT @@slave_parallel_threads AS threads, @@slave_parallel_mode AS mode, @@replicate_do_db AS doDb, @@gtid_slave_pos AS slavePos",
	);
	if (!saved) throw new Error("cannot read the destination's replication settings");
	try {
		await dst.query("STOP SLAVE").catch(() => {});
		await dst.query("RESET SLAVE ALL");
		await dst.query(`SET GLOBAL gtid_slave_pos = ${dst.escape(backlog.from.gtid)}`);
		await dst.query(
			`CHANGE MASTER TO MASTER_HOST=${dst.escape(source.host)}, MASTER_PORT=${source.port}, MASTER_USER=${dst.escape(source.user)}, MASTER_PASSWORD=${dst.escape(source.password)}, MASTER_USE_GTID=slave_pos`,
		);
		await dst.query(`SET GLOBAL replicate_do_db = ${dst.escape(DB)}`);
		await dst.query(`SET GLOBAL slave_parallel_threads = ${threads}, slave_parallel_mode = 'optimistic'`);
		const run = await timed(async () => {
			await dst.query("START SLAVE");
			const t0 = performance.now();
			for (;;) {
				const [w] = await query<{ w: number }>(dst, `SELECT MASTER_GTID_WAIT(${dst.escape(backlog.to.gtid)}, 1) AS w`);
				if (Number(w?.w) === 0) return;
				const [st] = await query<Record<string, string>>(dst, "SHOW SLAVE STATUS");
				if (st?.Last_SQL_Error) throw new Error(`replica SQL thread: ${st.Last_SQL_Error}`);
				if (st?.Last_IO_Error && st.Slave_IO_Running === "No")
					throw new Error(`replica IO thread: ${st.Last_IO_Error}`);
				if (performance.now() - t0 > TIMEOUT_S * 1000) throw new Error(`not done after ${TIMEOUT_S} s`);
			}
		});
		return { ...run, detail: threads ? `slave_parallel_threads=${threads}, optimistic` : "slave_parallel_threads=0" };
	} finally {
		await resetReplica(dst, saved).finally(() => dst.end());
	}
}

/** A replica left configured by an interrupted run of this benchmark is removed; any other one stops the run. */
async function checkNoReplica(): Promise<void> {
	const dst = await connect(destination);
	try {
		const [st] = await query<Record<string, string>>(dst, "SHOW SLAVE STATUS");
		if (!st) return;
		if (st.Replicate_Do_DB !== DB) {
			fail(`the destination already replicates from ${st.Master_Host}:${st.Master_Port}: not touching it`);
		}
		log("removing the replica left by an interrupted run ...");
		await resetReplica(dst, { threads: "0", mode: "optimistic", doDb: "", slavePos: "" });
	} finally {
		await dst.end();
	}
}

// ---------------------------------------------------------------- latency

interface Latency {
	rate: number;
	tps: number;
	drainSeconds: number;
	/** As Ferry's status computes it, once a second: 0 if the source's position is applied, else now - lastCommitTime. */
	samples: number[];
	/** For each sample, seconds until replay applied the source's position read at that moment. */
	catchUp: number[];
	problems: string[];
}

async function latency(backlog: Backlog): Promise<Latency> {
	const rate = Math.max(1, Math.round(backlog.tps / 2));
	const result: Latency = { rate, tps: 0, drainSeconds: 0, samples: [], catchUp: [], problems: [] };
	const replay = await startFerry(1, backlog.from);
	const src = await connect(source);
	const gtidNow = async () => domainSeq((await query<{ g: string }>(src, "SELECT @@gtid_binlog_pos AS g"))[0]?.g);
	try {
		const t0 = performance.now();
		await within(replay.reached(await gtidNow()), replay, TIMEOUT_S, "Ferry replay (backlog before the load)");
		result.drainSeconds = (performance.now() - t0) / 1000;
		log(
			`latency: backlog applied in ${result.drainSeconds.toFixed(1)} s; sysbench --rate=${rate} for ${SECONDS} s ...`,
		);

		let loadDone = false;
		const load = sh(loadCommand(rate), { env: sysbenchEnv(source), keepStdout: true }).finally(() => {
			loadDone = true;
		});
		const pending: Promise<void>[] = [];
		for (let next = Date.now() + 1000; !loadDone; next += 1000) {
			await Promise.race([sleep(Math.max(0, next - Date.now())), load.catch(() => {})]);
			if (loadDone) break;
			const t = Date.now();
			const seq = await gtidNow();
			const p = replay.applier.progress;
			const applied = domainSeq(p.position?.gtid) >= seq;
			result.samples.push(applied ? 0 : (Date.now() - (p.lastCommitTime ?? t)) / 1000);
			pending.push(replay.reached(seq).then(() => void result.catchUp.push((Date.now() - t) / 1000)));
		}
		result.tps = sysbenchFigures(await load).tps;
		await within(Promise.all(pending), replay, 120, "Ferry replay (catching up after the load)");
		await within(replay.reached(await gtidNow()), replay, 120, "Ferry replay (catching up after the load)");
	} catch (err) {
		result.problems.push(`did not finish: ${describe(err)}`);
	} finally {
		await src.end();
		await replay.stop().catch((err: unknown) => result.problems.push(`replay failed: ${describe(err)}`));
	}
	if (!result.problems.length) result.problems = await compareTables(source, destination, DB, TABLE_NAMES, META_TABLES);
	return result;
}

const latencySpread = (v: number[]) =>
	!v.length
		? "no samples"
		: `p50 ${fmt(percentile(v, 0.5), 2)} s, p95 ${fmt(percentile(v, 0.95), 2)} s, max ${fmt(Math.max(...v), 2)} s (${v.length} samples)`;

// ---------------------------------------------------------------- report

interface Result extends Partial<Run>, Round {
	contender: Contender;
}

/** A contender over all rounds: medians, and the detail of its last successful round. */
interface Summary extends Rounds {
	contender: Contender;
	label: string;
	commands: string[];
	detail: string;
}

function summarise(contender: Contender, results: Result[], backlog: Backlog): Summary {
	const mine = results.filter((r) => r.contender === contender);
	return {
		contender,
		label: LABELS[contender],
		commands: commandsOf(contender, backlog),
		...summariseRounds(mine),
		detail: mine.filter((r) => !r.problems.length).at(-1)?.detail ?? "",
	};
}

const LABELS: Record<Contender, string> = {
	"ferry-1": "Ferry capture + replay, parallel 1",
	"ferry-2": "Ferry capture + replay, parallel 2",
	"native-1": "MariaDB replica, single-threaded",
	"native-4": "MariaDB replica, 4 threads optimistic",
	"native-2": "MariaDB replica, 2 threads optimistic",
};

function drain(c: Contender, backlog: Backlog): Promise<Run> {
	switch (c) {
		case "ferry-1":
			return ferryDrain(1, backlog);
		case "ferry-2":
			return ferryDrain(2, backlog);
		case "native-1":
			return nativeDrain(0, backlog);
		case "native-4":
			return nativeDrain(4, backlog);
		case "native-2":
			return nativeDrain(2, backlog);
	}
}

const commandsOf = (c: Contender, b: Backlog) =>
	c.startsWith("ferry")
		? FERRY_FLOW(Number(c.slice(6)))
		: nativeSql(c === "native-1" ? 0 : Number(c.slice(7)), b.from.gtid, b.to.gtid);

const HEADER = roundsHeader("contender");

function rows(summaries: Summary[], backlog: Backlog): string[][] {
	const ferrySeconds = summaries.find((r) => r.contender === "ferry-1" && r.ok)?.seconds;
	return summaries.map((r) => {
		const ok = r.ok && r.seconds !== undefined;
		return [
			r.label,
			ok ? "ok" : "FAILED",
			fmt(r.seconds),
			r.runs,
			r.spread,
			ok && r.seconds ? `${(backlog.rows / r.seconds / 1000).toFixed(1)}k` : "-",
			r.cpu ? `${fmt(r.cpu.client)} / ${fmt(r.cpu.source)} / ${fmt(r.cpu.destination)}` : "-",
			r.cpu && r.contender.startsWith("ferry") ? fmt((r.cpu.client * 1e6) / backlog.rows, 1) : "-",
			ok && ferrySeconds ? fmt((r.seconds ?? 0) / ferrySeconds, 2) : "-",
			r.detail,
		];
	});
}

/** Ferry's rows/s over the single-threaded replica's and over the best parallel setting (medians). */
function ferryOverNative(summaries: Summary[]): string {
	const ok = (c: Contender) => summaries.find((r) => r.contender === c && r.ok)?.seconds;
	const parallel = (["native-2", "native-4"] as const).flatMap((c) => (ok(c) ? [ok(c) as number] : []));
	const lines = (["ferry-1", "ferry-2"] as const).flatMap((f) => {
		const a = ok(f);
		const b = ok("native-1");
		if (!a || !b) return [];
		const best = parallel.length ? `, ${(Math.min(...parallel) / a).toFixed(2)} x the best parallel replica's` : "";
		return [`${LABELS[f]}: ${(b / a).toFixed(2)} x the rows/s of the single-threaded replica (target >= 2.5)${best}`];
	});
	return lines.join("\n") || "Ferry vs single-threaded replica: n/a (one of them did not run or failed)";
}

/** Where the profiled drain spent this process's CPU (not in the medians). */
function profileSection(p: Profiled<Run> | undefined, backlog: Backlog): string[] {
	if (!p) return [];
	const { seconds, cpu } = p.result;
	return [
		"",
		"## Profile of one more ferry-1 drain (not in the medians)",
		"",
		`Under V8's sampling profiler (1 ms; sampling costs a little): ${fmt(seconds)} s, client CPU ${fmt(cpu.client)} s = ${fmt((cpu.client * 1e6) / backlog.rows, 1)} µs per row event. Profile: \`${p.file.replace(PROFILE_DIR, "$TMP")}\` (kept only for the run).`,
		"",
		...profileLines(p.summary),
	];
}

function latencyLines(l: Latency | undefined): string[] {
	if (!l) return [];
	const ok = !l.problems.length;
	return [
		`Latency of Ferry replay (parallel 1) under sysbench --rate=${l.rate} (half of the backlog's ${l.rate * 2} tps; achieved ${fmt(l.tps)} tps), ${SECONDS} s${ok ? "" : " -- FAILED"}:`,
		"",
		`- as Ferry's status reports it (0 if the source's position is applied, else now - source commit time of the last applied transaction): ${latencySpread(l.samples)}; target < 2 s: ${ok && l.samples.length && Math.max(...l.samples) < 2 ? "met" : "NOT met"}`,
		`- time until the position read on the source at each sample was applied: ${latencySpread(l.catchUp)}`,
		`- before the load: backlog from P applied in ${fmt(l.drainSeconds)} s; after it, destination checked with CHECKSUM TABLE: ${ok ? "identical" : l.problems.join("; ")}`,
	];
}

async function facts(backlog: Backlog): Promise<string[]> {
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
		`- Backlog: sysbench oltp_write_only, ${THREADS} threads, ${SECONDS} s, nothing replaying: ${backlog.transactions} transactions (${fmt(backlog.tps)} tps, ${backlog.ignoredErrors} ignored errors) = ${backlog.rows} row events (x 4); P = ${backlog.from.gtid} (${backlog.from.file}:${backlog.from.pos}), E = ${backlog.to.gtid} (${backlog.to.file}:${backlog.to.pos})`,
		`- Tools: ${firstLine("sysbench --version")}; ${firstLine("mariadb-dump --version")}; Node ${process.version}`,
	];
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
	ensureTools([
		["sysbench", "sysbench"],
		["mariadb-dump", "mariadb-client"],
		["mariadb", "mariadb-client"],
	]);
	await checkNoReplica();
	await prepareSysbench(source, DB, TABLE_NAMES, ROWS, PREPARE_CMD);
	log("baseline: dumping the source ...");
	const from = await takeBaseline();
	log(`baseline at P = ${from.gtid}; backlog: sysbench for ${SECONDS} s, ${THREADS} threads ...`);
	const backlog = await makeBacklog(from);
	log(
		`backlog: ${backlog.transactions} transactions (${backlog.tps} tps), ${backlog.rows} row events, E = ${backlog.to.gtid}`,
	);
	const factLines = await facts(backlog);

	const results: Result[] = [];
	for (let round = 1; round <= ROUNDS; round++) {
		for (const contender of CONTENDERS.filter((c) => ONLY.includes(c))) {
			log(`round ${round} of ${ROUNDS}, ${contender}: restoring the baseline ...`);
			await restoreBaseline();
			log(`${contender}: draining the backlog ...`);
			let result: Result;
			try {
				result = { contender, problems: [], ...(await drain(contender, backlog)) };
			} catch (err) {
				result = { contender, problems: [`did not finish: ${describe(err)}`] };
			}
			if (!result.problems.length)
				result.problems = await compareTables(source, destination, DB, TABLE_NAMES, META_TABLES);
			log(
				`${contender}: ${result.problems.length ? `FAILED: ${result.problems.join("; ")}` : "identical to the source"}` +
					(result.seconds !== undefined ? ` in ${result.seconds.toFixed(1)} s` : ""),
			);
			results.push(result);
		}
	}
	const summaries = CONTENDERS.filter((c) => ONLY.includes(c)).map((c) => summarise(c, results, backlog));

	let profile: Profiled<Run> | undefined;
	if (PROFILE) {
		log("profile: restoring the baseline, one more ferry-1 drain under the CPU profiler ...");
		await restoreBaseline();
		try {
			profile = await profiled(join(PROFILE_DIR, `replay-ferry-1-${stamp()}.cpuprofile`), () => ferryDrain(1, backlog));
		} catch (err) {
			log(`profile: did not finish: ${describe(err)}`);
		}
	}

	let lat: Latency | undefined;
	if (ONLY.includes("latency")) {
		log("latency: restoring the baseline ...");
		await restoreBaseline();
		lat = await latency(backlog);
	}
	const dst = await connect(destination);
	await dst.query("SET SESSION sql_log_bin = 0");
	await dst.query(`DROP DATABASE IF EXISTS ${quoteId(DB)}`);
	await dst.end();

	const body = rows(summaries, backlog);
	const summary = [ferryOverNative(summaries), "", ...latencyLines(lat), ...profileSection(profile, backlog)];
	console.log(`\n${textTable(HEADER, body)}\n\n${summary.join("\n")}\n`);

	const file = join(RESULTS_DIR, `replay-${stamp()}.md`);
	const hide = (s: string) => s.replaceAll(WORK, "$TMP");
	const md = [
		`# Replay of a write backlog, ${TABLES} x ${ROWS} rows, sysbench ${THREADS} threads x ${SECONDS} s (${new Date().toISOString()})`,
		"",
		...factLines,
		"",
		markdownTable(HEADER, body),
		"",
		...summary,
		"",
		"seconds: from opening the binlog reader (Ferry) or START SLAVE (replica) until the destination holds E. rows/s = backlog row events / seconds. time / Ferry: seconds over Ferry's (parallel 1); above 1 means slower than Ferry. CPU s = user+system seconds from /proc over that window: client = this process (Ferry's capture and replay run in it), src/dst = the two mariadbd processes. Each contender starts from the same baseline (the dump at P restored at the destination) and was checked with CHECKSUM TABLE and SHOW CREATE TABLE against the source at E.",
		"",
		`${ROUNDS} round(s), each draining the backlog once per contender in the order of the table: median s, rows/s, CPU and time / Ferry are medians over the rounds (runs s: every round in order, x = failed; spread: min-max and half the range over the median); client CPU µs/row = Ferry's client CPU seconds per million row events. Fixed order, on a 2-core machine shared with other work (other tests use other databases on the same servers): expect 10-20 % noise. Source commit times in the binlog have 1 s resolution, so the status-style latency reads up to 1 s high; the catch-up time has none of that. See bench/README.md (Caveats).`,
		"",
		...summaries.flatMap((r) => (r.problems.length ? [`**${r.label} FAILED**: ${r.problems.join("; ")}`, ""] : [])),
		"## Commands",
		"",
		`Prepare (once, not timed; password in MYSQL_PWD): \`${PREPARE_CMD}\``,
		"",
		`Baseline at P (not timed; P read from the dump's own comments): \`${hide(DUMP_CMD)}\``,
		"",
		`Backlog (nothing replaying; E = the source's position right after): \`${BACKLOG_CMD}\``,
		"",
		"Before each contender (not timed):",
		"",
		"```",
		...RESTORE_FLOW.map(hide),
		"```",
		"",
		"`$TMP/source.cnf` and `$TMP/destination.cnf` are option files ([client] host, port, user, password) in a temporary directory, mode 0600.",
		"",
		`Benchmark: \`npx tsx bench/replay.ts --tables ${TABLES} --rows ${ROWS} --seconds ${SECONDS} --threads ${THREADS} --rounds ${ROUNDS}${PROFILE ? " --profile" : ""} --only ${ONLY.join(",")}\``,
		"",
		...summaries.flatMap((r) => [`${r.label}:`, "", "```", ...r.commands, "```", ""]),
		...(lat
			? [
					"Latency (after restoring the baseline):",
					"",
					"```",
					...FERRY_FLOW(1).slice(0, 2),
					"applier.run(reader, signal), left running; wait until it holds the source's current position",
					loadCommand(lat.rate),
					"every second: SELECT @@gtid_binlog_pos on the source; sample = 0 if applier.progress.position holds it, else now - applier.progress.lastCommitTime",
					"after the load: wait until replay holds the source's position, stop, CHECKSUM TABLE",
					"```",
					"",
				]
			: []),
	].join("\n");
	mkdirSync(RESULTS_DIR, { recursive: true });
	writeFileSync(file, md);
	console.log(`results written to ${file}`);
	if (summaries.some((r) => !r.ok) || lat?.problems.length) process.exitCode = 1;
}

try {
	await main();
} finally {
	rmSync(WORK, { recursive: true, force: true });
}
