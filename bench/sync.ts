/**
 * Change streaming into Kafka, side by side: a sysbench write backlog on the source (nothing
 * streaming) drained into the same broker by Ferry (its synchronization path, Debezium JSON) and
 * by Debezium (Kafka Connect standalone with the MariaDB connector), each from the same binlog
 * position, rounds alternating; medians. Then the end-to-end latency of each while sysbench
 * writes at half the rate the backlog reached. Prints and writes the figures
 * (bench/results/sync-<date>.md).
 *
 *   npx tsx bench/sync.ts [--tables 4] [--rows 100000] [--seconds 60] [--threads 4] [--rounds 3]
 *                         [--latency-seconds 30] [--connect-port 19883] [--profile]
 *                         [--only ferry,debezium,latency-ferry,latency-debezium]
 *
 * See bench/README.md for what each contender runs and how the figures are taken.
 */
import { type ChildProcess, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { currentPosition, hasReached, type SourcePosition } from "../shared/binlog/position.ts";
import { openBinlogReader } from "../shared/capture/reader.ts";
import { connect as ferryConnect } from "../shared/db/connect.ts";
import {
	connect,
	cpuMeter,
	describe,
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
	processCpuSeconds,
	RESULTS_DIR,
	serverFact,
	sh,
	sleep,
	stamp,
	sysbench,
	sysbenchEnv,
	sysbenchFigures,
	textTable,
	workDir,
} from "./support.ts";
import * as dbz from "./sync-debezium.ts";
import type { FerrySetup } from "./sync-ferry.ts";
import { type Counted, countMessages, deleteTopics, EndOffsets, endOffsetsOf, ensureTopics } from "./sync-kafka.ts";
import { type Latency, measureLatency, PROBE_TABLE, probe, probeTableSql } from "./sync-latency.ts";
import { profileLines, summariseProfile } from "./sync-profile.ts";
import { type Backlog, HEADER, latencyLines, type Round, rows, summary } from "./sync-report.ts";
import { BUNDLE, bundleFerry, type FerryProcess, spawnFerry } from "./sync-spawn.ts";

// ---------------------------------------------------------------- settings

const STEPS = ["ferry", "debezium", "latency-ferry", "latency-debezium"] as const;
const { values: args } = parseArgs({
	options: {
		tables: { type: "string", default: "4" },
		rows: { type: "string", default: "100000" },
		seconds: { type: "string", default: "60" },
		threads: { type: "string", default: "4" },
		rounds: { type: "string", default: "3" },
		"latency-seconds": { type: "string", default: "30" },
		"connect-port": { type: "string", default: "19883" },
		only: { type: "string", default: STEPS.join(",") },
		profile: { type: "boolean", default: false },
	},
});
const TABLES = positive("tables", args.tables);
const ROWS = positive("rows", args.rows);
const SECONDS = positive("seconds", args.seconds);
const THREADS = positive("threads", args.threads);
const ROUNDS = positive("rounds", args.rounds);
const LATENCY_SECONDS = positive("latency-seconds", args["latency-seconds"]);
const CONNECT_PORT = positive("connect-port", args["connect-port"]);
const ONLY = args.only.split(",").map((s) => s.trim());
for (const s of ONLY) if (!(STEPS as readonly string[]).includes(s)) fail(`--only: unknown "${s}" (known: ${STEPS})`);
const want = (s: (typeof STEPS)[number]) => ONLY.includes(s);

const DB = "sbsync";
const PROBE_DB = "sbsyncprobe";
const DATABASES = [DB, PROBE_DB];
const TABLE_NAMES = Array.from({ length: TABLES }, (_, i) => `sbtest${i + 1}`);
/** Names unique to this run: topic prefixes, stream ids, connector names. */
const RUN = Date.now().toString(36);
const FERRY_PREFIX = (round: number) => `benchsync-f-${RUN}-${round}`;
const DBZ_PREFIX = `benchsync-d-${RUN}`;
const LATENCY_PREFIX = { ferry: `benchsync-fl-${RUN}`, debezium: `benchsync-dl-${RUN}` };
const DBZ_CONNECTOR = `benchsync-${RUN}`;
const tableTopics = (prefix: string) => TABLE_NAMES.map((t) => `${prefix}.${DB}.${t}`);
const probeTopic = (prefix: string) => `${prefix}.${PROBE_DB}.${PROBE_TABLE}`;
/** Replica server ids the binlog connections announce (unique among the source's replicas). */
const SERVER_ID = 1_980_000 + (process.pid % 1000) * 10;
const SID = { ferry: SERVER_ID + 1, count: SERVER_ID + 2, debezium: SERVER_ID + 3, latency: SERVER_ID + 4 };
/** A drain that takes longer than this fails. */
const TIMEOUT_S = Math.max(900, 30 * SECONDS);
const REPO = join(import.meta.dirname, "..");

let ferryChild: ChildProcess | undefined;
/** Remembers the running child, for Ctrl-C. */
const started = (p: FerryProcess) => {
	ferryChild = p.child;
	return p;
};
const WORK = workDir(() => {
	ferryChild?.kill("SIGTERM");
	spawnSync("bash", [join(REPO, "scripts/services/kafka-connect.sh"), "stop"], { env: process.env });
});
const { source, destination } = localServers(WORK);
const cpuNow = cpuMeter(source, destination).now;
const credentials = { host: source.host, port: source.port, user: source.user, password: source.password, tls: false };
/** Kept after the run for a closer look (its path is printed). */
const PROFILE_DIR = join(tmpdir(), `benchsync-profiles-${RUN}`);

const SB = `--tables=${TABLES} --table-size=${ROWS}`;
const PREPARE_CMD = sysbench(source, DB, `oltp_write_only ${SB} --threads=${Math.min(TABLES, 2)} prepare`);
const BACKLOG_CMD = sysbench(source, DB, `oltp_write_only ${SB} --threads=${THREADS} --time=${SECONDS} run`);
/** Seconds of the latency load before probes count: a fresh JVM needs them to compile and catch up. */
const WARMUP_S = 30;
const loadCommand = (rate: number) =>
	sysbench(
		source,
		DB,
		`oltp_write_only ${SB} --threads=${THREADS} --time=${WARMUP_S + LATENCY_SECONDS} --rate=${rate} run`,
	);

// ---------------------------------------------------------------- backlog

async function sourcePosition(): Promise<SourcePosition> {
	const conn = await ferryConnect(credentials);
	try {
		return await currentPosition(conn);
	} finally {
		await conn.end();
	}
}

/** Reads the binlog from `from` to `to` once and counts the row events of DB's tables. */
async function countBinlog(from: SourcePosition, to: SourcePosition) {
	const reader = await openBinlogReader(credentials, { from, serverId: SID.count, include: (t) => t.database === DB });
	const c = { inserts: 0, updates: 0, deletes: 0, rowTransactions: 0 };
	let touched = false;
	try {
		for (;;) {
			const { value: part, done } = await reader.next();
			if (done) throw new Error("the binlog reader ended before the backlog's end position");
			for (const ch of part.changes) {
				if (ch.kind === "ddl") continue;
				c[`${ch.kind}s`] += 1;
				touched = true;
			}
			if (!part.final) continue;
			if (touched) c.rowTransactions += 1;
			touched = false;
			if (hasReached(part.position, to)) return c;
		}
	} finally {
		await reader.close();
	}
}

async function makeBacklog(): Promise<Backlog> {
	const from = await sourcePosition();
	log(`backlog: sysbench for ${SECONDS} s, ${THREADS} threads, nothing streaming ...`);
	const figures = sysbenchFigures(await sh(BACKLOG_CMD, { env: sysbenchEnv(source), keepStdout: true }));
	const to = await sourcePosition();
	log(`backlog: ${figures.transactions} transactions (${figures.tps} tps); counting its row events in the binlog ...`);
	const c = await countBinlog(from, to);
	return { from, to, ...figures, ...c, rows: c.inserts + c.updates + c.deletes };
}

// ---------------------------------------------------------------- contenders

function brokerCpu(): number {
	try {
		return processCpuSeconds(Number(readFileSync(join(FERRY_HOME, "run", "kafka.pid"), "utf8").trim()));
	} catch {
		return Number.NaN;
	}
}

function within<T>(promise: Promise<T>, seconds: number, what: string): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new Error(`${what}: not done after ${seconds} s`)), seconds * 1000);
	});
	return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The messages a consumer must see: a change event per row event, a tombstone per delete. */
function checkCount(r: Round, c: Counted, b: Backlog): void {
	r.counted = c;
	if (c.rows !== b.rows || c.tombstones !== b.deletes)
		r.problems.push(
			`consumer saw ${c.rows} change events + ${c.tombstones} tombstones, expected ${b.rows} + ${b.deletes}`,
		);
}

/** A drain by Ferry's process; with `profileDir`, under `node --cpu-prof` (not one of the timed rounds). */
async function ferryRound(round: number, b: Backlog, profileDir?: string): Promise<Round> {
	const r: Round = { contender: "Ferry", round, detail: "", problems: [] };
	const prefix = FERRY_PREFIX(round);
	const setup: FerrySetup = {
		stream: `benchsync-${RUN}-${round}`,
		prefix,
		databases: DATABASES,
		from: b.from,
		until: b.to,
		serverId: SID.ferry,
	};
	const [broker0, source0] = [brokerCpu(), cpuNow().source];
	const t0 = performance.now();
	const ferry = started(spawnFerry(setup, profileDir));
	try {
		const { report, at } = await within(ferry.done, TIMEOUT_S, "Ferry");
		r.seconds = (at - t0) / 1000;
		r.firstSeconds = report.firstMs / 1000;
		r.cpu = { own: report.cpu, broker: brokerCpu() - broker0, source: cpuNow().source - source0 };
		r.detail = `${report.transactions} source trx, ${report.commits} Kafka transactions; inside the producer: ${fmt(report.sendSeconds)} s sending, ${fmt(report.commitSeconds)} s committing`;
	} catch (err) {
		r.problems.push(`did not finish: ${describe(err)}`);
	}
	await ferry.finished();
	ferryChild = undefined;
	if (!r.problems.length) checkCount(r, await countMessages(tableTopics(prefix)), b);
	return r;
}

/**
 * Once, before the backlog: the connector streams from "now" until its first record (a probe row)
 * stored an offset; the worker stops and its state is kept for every round.
 */
async function recordDebeziumStart(): Promise<void> {
	log("debezium: starting the worker once to record the connector's offset before the backlog ...");
	await dbz.startWorker(false);
	await dbz.createConnector(DBZ_CONNECTOR, credentials, {
		prefix: DBZ_PREFIX,
		databases: DATABASES,
		serverId: SID.debezium,
	});
	const conn = await connect(source);
	const offsets = new EndOffsets();
	try {
		for (const t0 = Date.now(); (await offsets.sum([probeTopic(DBZ_PREFIX)])) === 0; await sleep(500)) {
			if (Date.now() - t0 > 180_000) throw new Error("Debezium delivered no probe row within 180 s");
			await dbz.checkTask(DBZ_CONNECTOR);
			await probe(conn, PROBE_DB);
		}
		await dbz.offsetStored();
		await sleep(2000);
	} finally {
		await Promise.all([conn.end(), offsets.close()]);
	}
	await dbz.stopWorker();
	dbz.saveState(WORK);
}

async function debeziumRound(round: number, b: Backlog): Promise<Round> {
	const r: Round = { contender: "Debezium", round, detail: "", problems: [] };
	const topics = tableTopics(DBZ_PREFIX);
	dbz.restoreState(WORK);
	const before = await endOffsetsOf(topics);
	const base = [...before.values()].reduce((n, o) => n + Number(o), 0);
	const expected = b.rows + b.deletes;
	const offsets = new EndOffsets();
	const [broker0, source0] = [brokerCpu(), cpuNow().source];
	const t0 = performance.now();
	try {
		await dbz.startWorker(true);
		const started = (performance.now() - t0) / 1000;
		await dbz.createConnector(DBZ_CONNECTOR, credentials, {
			prefix: DBZ_PREFIX,
			databases: DATABASES,
			serverId: SID.debezium,
		});
		for (let polls = 0; ; polls++) {
			const n = (await offsets.sum(topics)) - base;
			const now = (performance.now() - t0) / 1000;
			if (n > 0) r.firstSeconds ??= now;
			if (n >= expected) break;
			if (now > TIMEOUT_S) throw new Error(`${n} of ${expected} messages after ${TIMEOUT_S} s`);
			if (polls % 10 === 0) await dbz.checkTask(DBZ_CONNECTOR);
			await sleep(200);
		}
		r.seconds = (performance.now() - t0) / 1000;
		r.cpu = { own: dbz.workerCpu(), broker: brokerCpu() - broker0, source: cpuNow().source - source0 };
		r.detail = `worker up (REST) after ${fmt(started)} s`;
	} catch (err) {
		r.problems.push(`did not finish: ${describe(err)}`);
	} finally {
		await offsets.close();
		await dbz.stopWorker();
	}
	if (!r.problems.length) checkCount(r, await countMessages(topics, before), b);
	return r;
}

// ---------------------------------------------------------------- latency

async function ferryLatency(rate: number): Promise<Latency> {
	const prefix = LATENCY_PREFIX.ferry;
	const setup: FerrySetup = {
		stream: `benchsync-${RUN}-latency`,
		prefix,
		databases: DATABASES,
		from: await sourcePosition(),
		serverId: SID.latency,
	};
	const ferry = started(spawnFerry(setup));
	const failed = ferry.done.then(() => Promise.reject(new Error("Ferry stopped on its own")));
	failed.catch(() => {});
	try {
		const measure = measureLatency({
			source,
			database: PROBE_DB,
			topic: probeTopic(prefix),
			loadCommand: loadCommand(rate),
			startTimeoutMs: 60_000,
			warmupMs: WARMUP_S * 1000,
		});
		return await Promise.race([measure, failed]);
	} finally {
		ferry.stop();
		await ferry.done.catch(() => {});
		await ferry.finished();
		ferryChild = undefined;
	}
}

async function debeziumLatency(rate: number): Promise<Latency> {
	const prefix = LATENCY_PREFIX.debezium;
	try {
		await dbz.startWorker(false);
		await dbz.createConnector(`${DBZ_CONNECTOR}-latency`, credentials, {
			prefix,
			databases: DATABASES,
			serverId: SID.latency,
		});
		return await measureLatency({
			source,
			database: PROBE_DB,
			topic: probeTopic(prefix),
			loadCommand: loadCommand(rate),
			startTimeoutMs: 180_000,
			warmupMs: WARMUP_S * 1000,
		});
	} finally {
		await dbz.stopWorker();
	}
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
	ensureTools([["sysbench", "sysbench"]]);
	dbz.useWorker(CONNECT_PORT);
	bundleFerry();
	await prepareSysbench(source, DB, TABLE_NAMES, ROWS, PREPARE_CMD);
	const conn = await connect(source);
	for (const sql of probeTableSql(PROBE_DB)) await conn.query(sql);
	await conn.end();
	const prefixes = [
		...Array.from({ length: ROUNDS + 1 }, (_, i) => FERRY_PREFIX(i)),
		DBZ_PREFIX,
		LATENCY_PREFIX.ferry,
		LATENCY_PREFIX.debezium,
	];
	const topics = prefixes.flatMap((p) => [...tableTopics(p), probeTopic(p)]);
	await ensureTopics(topics);
	const loadAtStart = machineFact();
	try {
		if (want("debezium")) await recordDebeziumStart();
		const b = await makeBacklog();
		log(
			`backlog: ${b.rows} row events (${b.inserts} inserts, ${b.updates} updates, ${b.deletes} deletes) in ${b.rowTransactions} transactions`,
		);
		const rounds: Round[] = [];
		for (let i = 1; i <= ROUNDS; i++) {
			for (const [step, run] of [
				["ferry", ferryRound],
				["debezium", debeziumRound],
			] as const) {
				if (!want(step)) continue;
				log(`${step} round ${i}: draining the backlog ...`);
				const r = await run(i, b);
				log(`${step} round ${i}: ${r.problems.length ? `FAILED: ${r.problems.join("; ")}` : `${fmt(r.seconds)} s`}`);
				rounds.push(r);
			}
		}
		let profiled: Round | undefined;
		if (args.profile) {
			log("ferry: one more drain with a CPU profile (not in the medians) ...");
			profiled = await ferryRound(0, b, PROFILE_DIR);
		}
		const rate = Math.max(1, Math.round(b.tps / 2));
		const latency: { ferry?: Latency; debezium?: Latency } = {};
		for (const c of ["ferry", "debezium"] as const) {
			if (!want(`latency-${c}`)) continue;
			log(`latency of ${c}: sysbench --rate=${rate} for ${LATENCY_SECONDS} s ...`);
			latency[c] = await (c === "ferry" ? ferryLatency(rate) : debeziumLatency(rate)).catch(
				(err): Latency => ({
					exact: [],
					tsMs: [],
					sent: 0,
					lost: 0,
					tps: 0,
					loadAverage: Number.NaN,
					problems: [`did not finish: ${describe(err)}`],
				}),
			);
		}
		await report(b, rounds, latency, rate, loadAtStart, profiled);
	} finally {
		await dbz.stopWorker().catch(() => {});
		await deleteTopics(topics).catch((err) => log(`could not delete the topics: ${describe(err)}`));
	}
}

async function report(
	b: Backlog,
	rounds: Round[],
	latency: { ferry?: Latency; debezium?: Latency },
	rate: number,
	machine: string,
	profiled: Round | undefined,
) {
	const body = rows(rounds, b);
	const lines = [
		...summary(rounds, b),
		"",
		...latencyLines("Latency of Ferry", latency.ferry, rate, LATENCY_SECONDS, WARMUP_S),
		"",
		...latencyLines("Latency of Debezium", latency.debezium, rate, LATENCY_SECONDS, WARMUP_S),
	];
	console.log(`\n${textTable(HEADER, body)}\n\n${lines.join("\n")}\n`);
	const profiles = profiled ? readdirSync(PROFILE_DIR).filter((f) => f.endsWith(".cpuprofile")) : [];
	const md = [
		`# Change streaming into Kafka: Ferry and Debezium, ${TABLES} x ${ROWS} rows, sysbench ${THREADS} threads x ${SECONDS} s (${new Date().toISOString()})`,
		"",
		machine,
		await serverFact(source),
		`- Broker: Kafka at ${process.env.FERRY_KAFKA_BROKERS ?? "127.0.0.1:19092"} (scripts/services/kafka.sh), one partition per topic; Kafka Connect ${firstLine(`ls ${FERRY_HOME}/cache | grep -o 'kafka-connect-[0-9.]*' | head -1`)} standalone + Debezium MariaDB connector 3.5.0.Final, JVM \`${dbz.WORKER_HEAP} ${dbz.WORKER_JVM}\`; ${firstLine("java -version 2>&1")}; Node ${process.version}; ${firstLine("sysbench --version")}`,
		`- Backlog: ${b.transactions} sysbench transactions (${fmt(b.tps)} tps, ${b.ignoredErrors} ignored errors); in the binlog between ${b.from.gtid} (${b.from.file}:${b.from.pos}) and ${b.to.gtid} (${b.to.file}:${b.to.pos}): ${b.rows} row events of \`${DB}\` (${b.inserts} inserts, ${b.updates} updates, ${b.deletes} deletes) in ${b.rowTransactions} transactions`,
		"",
		markdownTable(HEADER, body),
		"",
		...lines,
		"",
		"s from start: Ferry from spawning its process (Node and module loading included) to the return of the Kafka commit whose checkpoint reaches the backlog's end; Debezium from `kafka-connect.sh start` (JVM start included) until its topics' end offsets hold a message per row event and a tombstone per delete. row events/s = the backlog's row events / s from start. messages seen: counted afterwards by a read_committed consumer on the contender's topics. CPU s from /proc over the same window: own = Ferry's process or the Connect JVM, broker = the Kafka JVM, source = the source's mariadbd.",
		"",
		"Rounds alternate on a 2-core machine shared with other work; expect 10-20 % noise. See bench/README.md.",
		...(profiles.length
			? [
					"",
					"## Where Ferry's time goes",
					"",
					`One more drain of the same backlog by Ferry's process under \`node --cpu-prof\` (not in the medians; sampling costs a little): ${fmt(profiled?.seconds)} s from start${profiled?.problems.length ? `, ${profiled.problems.join("; ")}` : ""}; ${profiled?.detail ?? ""}.`,
					"",
					...profileLines(summariseProfile(join(PROFILE_DIR, profiles[0] as string), BUNDLE)),
				]
			: []),
		"",
		"## Commands",
		"",
		`Prepare (once): \`${PREPARE_CMD}\`; probe table \`${PROBE_DB}.${PROBE_TABLE}\` (id BIGINT AUTO_INCREMENT, sent BIGINT).`,
		"",
		`Backlog: \`${BACKLOG_CMD}\`. Latency load: \`${loadCommand(rate)}\`.`,
		"",
		`Ferry (per round, a fresh stream id, so no checkpoint; bench/.build/sync-ferry.mjs is bench/sync-ferry.ts bundled by esbuild as cdk/task-image.ts bundles the replication task): \`node bench/.build/sync-ferry.mjs '{"stream":"benchsync-<run>-<round>","prefix":"${FERRY_PREFIX(1).replace(/-1$/, "-<round>")}","databases":${JSON.stringify(DATABASES)},"from":<backlog start>,"until":<backlog end>}'\`: SinkTarget (format debezium, schemas off, tombstones on, partitioning key, topic \`<prefix>.{database}.{table}\`) over openKafkaProducer, fed by openBinlogReader from the start position.`,
		"",
		`Debezium: connector \`${DBZ_CONNECTOR}\`, topic.prefix \`${DBZ_PREFIX}\`, database.include.list \`${DATABASES.join(",")}\`, snapshot.mode=no_data, JsonConverter with schemas.enable=false, other settings Debezium's and Connect's defaults (test/support/kafka-connect.ts). Its offset was recorded once before the backlog; each round restores that offsets file and schema history, starts the worker and creates the connector.`,
	].join("\n");
	const file = join(RESULTS_DIR, `sync-${stamp()}.md`);
	mkdirSync(RESULTS_DIR, { recursive: true });
	writeFileSync(file, `${md}\n`);
	console.log(
		`results written to ${file}${profiles.length ? `; Ferry's CPU profile: ${join(PROFILE_DIR, profiles[0] as string)}` : ""}`,
	);
	if (rounds.some((r) => r.problems.length) || latency.ferry?.problems.length || latency.debezium?.problems.length)
		process.exitCode = 1;
}

try {
	await main();
} finally {
	rmSync(WORK, { recursive: true, force: true });
}
