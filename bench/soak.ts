/**
 * The soak: a schema + full + incremental migration under a sysbench write load for --minutes
 * (default 30), with a fault every --fault-every seconds (bench/soak-faults.ts: SIGKILLs of every
 * Ferry process, crashes and restarts of both databases, network cuts and black holes through a
 * fault proxy). After each fault it waits until replay is healthy again and records how long
 * that took. At the end the load stops, replay catches up, and both Ferry's verification and an
 * independent comparison (row counts and CHECKSUM TABLE) must be clean. Reports the faults,
 * latency over time and the memory of every Ferry process over time to bench/results/.
 *
 *   npx tsx bench/soak.ts [--minutes 30] [--fault-every 60] [--tables 4] [--rows 20000] [--rate 50] [--seed 1]
 *
 * It runs on its own MariaDB instances (soak-source 33405, soak-destination 33406), which it
 * starts, kills and restarts; the other instances are left alone.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { compareDatabases } from "../cli/demo/compare.ts";
import { FerryClient } from "../shared/api/client.ts";
import type { ProjectStatus } from "../shared/control/status.ts";
import type { VerificationResults } from "../shared/scheduler/verification-results.ts";
import { FaultProxy } from "../test/support/fault-proxy.ts";
import { type Fault, faultSchedule, ferryProcesses, inject, random, rssMiB } from "./soak-faults.ts";
import {
	ensureTools,
	FERRY_HOME,
	fmt,
	localServers,
	log,
	machineFact,
	markdownTable,
	percentile,
	positive,
	prepareSysbench,
	RESULTS_DIR,
	type Server,
	sh,
	sleep,
	stamp,
	sysbench,
	sysbenchEnv,
	workDir,
} from "./support.ts";

const { values: args } = parseArgs({
	options: {
		minutes: { type: "string", default: "30" },
		"fault-every": { type: "string", default: "60" },
		tables: { type: "string", default: "4" },
		rows: { type: "string", default: "20000" },
		rate: { type: "string", default: "50" },
		seed: { type: "string", default: "1" },
	},
});
const MINUTES = positive("minutes", args.minutes);
const FAULT_EVERY_S = positive("fault-every", args["fault-every"]);
const TABLES = positive("tables", args.tables);
const ROWS = positive("rows", args.rows);
const RATE = positive("rate", args.rate);
const SEED = positive("seed", args.seed);
/** A fault not recovered from within this long fails the soak. */
const RECOVERY_LIMIT_S = 300;
const DB = "sbsoak";
const ROOT = new URL("..", import.meta.url).pathname;
const INSTANCES = { source: "soak-source", destination: "soak-destination" } as const;

const WORK = workDir();
const HOME = mkdtempSync(join(tmpdir(), "ferry-soak-"));
const { source, destination } = localServers(WORK, INSTANCES);
const credentials = (s: Server, port = s.port) => ({
	host: s.host,
	port,
	user: s.user,
	password: s.password,
	tls: false,
});

// ---------------------------------------------------------------- the processes

let coordinator: ChildProcess | undefined;
let api: FerryClient | undefined;
const API_PORT = 7390;

async function startCoordinator(): Promise<void> {
	coordinator = spawn(join(ROOT, "bin/ferry"), ["local", "up", "--port", String(API_PORT), "--workers", "2"], {
		env: { ...process.env, FERRY_HOME: HOME },
		stdio: ["ignore", "ignore", "inherit"],
	});
	api = new FerryClient(`http://127.0.0.1:${API_PORT}`, readToken);
	for (let i = 0; i < 120; i++) {
		if (
			await api.get("/me").then(
				() => true,
				() => false,
			)
		)
			return;
		await sleep(500);
	}
	throw new Error("ferry local up did not answer within 60 s");
}

const readToken = async (req: { headers: Record<string, string> }) => ({
	...req.headers,
	authorization: `Bearer ${readFileSync(join(HOME, "secrets", "api-token"), "utf8").trim()}`,
});

let load: ChildProcess | undefined;
let loading = false;
let loadRestarts = 0;
/** sysbench straight at the source (not through the proxy), started again whenever it gives up. */
function startLoad(): void {
	loading = true;
	const command = sysbench(
		source,
		DB,
		`oltp_write_only --tables=${TABLES} --table-size=${ROWS} --threads=2 --rate=${RATE} --time=0 --mysql-ignore-errors=all run`,
	);
	load = spawn("bash", ["-c", command], { env: sysbenchEnv(source), stdio: "ignore" });
	load.on("exit", () => {
		if (!loading) return;
		loadRestarts += 1;
		setTimeout(() => loading && startLoad(), 2000);
	});
}

// ---------------------------------------------------------------- what is watched

interface Sample {
	at: number;
	latency?: number;
	rss: Record<string, number>;
}
const samples: Sample[] = [];
const started = Date.now();
const minute = (at: number) => (at - started) / 60_000;

async function status(projectId: string): Promise<ProjectStatus | undefined> {
	return api?.get<ProjectStatus>(`/projects/${projectId}/status`).catch(() => undefined);
}

function memory(): Record<string, number> {
	const p = ferryProcesses(coordinator?.pid);
	const rss: Record<string, number> = {};
	const add = (role: string, pids: (number | undefined)[]) => {
		const values = pids.map((pid) => (pid === undefined ? undefined : rssMiB(pid))).filter((v) => v !== undefined);
		if (values.length) rss[role] = Math.max(...values);
	};
	add("coordinator", [p.coordinator]);
	add("copy worker", p.workers);
	add("replication task", p.tasks);
	return rss;
}

/** Replay healthy: the project runs, its replay is live (heartbeat fresh) in exact mode, latency under 30 s. */
const healthy = (s: ProjectStatus) =>
	s.state === "running" &&
	s.incremental?.phase === "exact" &&
	s.incremental.state === "running" &&
	(s.incremental.latencySeconds ?? Infinity) < 30;

// ---------------------------------------------------------------- the run

interface Injected {
	at: number;
	fault: Fault;
	what: string;
	recoveredS?: number;
}

async function main(): Promise<void> {
	ensureTools([["sysbench", "sysbench"]]);
	await sh(
		`FERRY_DB_BUFFER_POOL=256M bash ${join(ROOT, "scripts/services/mariadb.sh")} start ${INSTANCES.source} ${INSTANCES.destination}`,
	);
	const tables = Array.from({ length: TABLES }, (_, i) => `sbtest${i + 1}`);
	await prepareSysbench(
		source,
		DB,
		tables,
		ROWS,
		sysbench(source, DB, `oltp_write_only --tables=${TABLES} --table-size=${ROWS} --threads=2 prepare`),
	);
	await sh(`mariadb --defaults-file=${destination.cnf} -e 'DROP DATABASE IF EXISTS ${DB}'`);
	const proxies = {
		source: await FaultProxy.start({ host: source.host, port: source.port }),
		destination: await FaultProxy.start({ host: destination.host, port: destination.port }),
	};
	await startCoordinator();
	const client = api as FerryClient;
	const src = await client.post<{ id: string }>("/datasources", {
		name: "soak source",
		engine: "mariadb",
		...credentials(source, proxies.source.port),
	});
	const dst = await client.post<{ id: string }>("/datasources", {
		name: "soak destination",
		engine: "mariadb",
		...credentials(destination, proxies.destination.port),
	});
	startLoad();
	const project = await client.post<{ id: string }>("/projects", {
		name: "soak",
		sourceId: src.id,
		destinationId: dst.id,
		types: ["schema", "full", "incremental"],
		objects: [{ database: DB }],
		options: { chunkRows: 5000 },
	});
	await client.post(`/projects/${project.id}/actions/start`);
	log(`soak: project ${project.id}, ${MINUTES} min, a fault every ${FAULT_EVERY_S} s, seed ${SEED}`);

	const sampler = setInterval(async () => {
		const s = await status(project.id);
		samples.push({ at: Date.now(), latency: s?.incremental?.latencySeconds, rss: memory() });
	}, 10_000);
	const pick = random(SEED);
	const nextFault = faultSchedule(pick);
	const injected: Injected[] = [];
	const end = started + MINUTES * 60_000;
	const targets = {
		processes: () => ferryProcesses(coordinator?.pid),
		restartCoordinator: startCoordinator,
		instances: {
			source: { name: INSTANCES.source, pidFile: join(FERRY_HOME, "run", `mariadb-${INSTANCES.source}.pid`) },
			destination: {
				name: INSTANCES.destination,
				pidFile: join(FERRY_HOME, "run", `mariadb-${INSTANCES.destination}.pid`),
			},
		},
		proxies,
	};
	try {
		while (Date.now() + FAULT_EVERY_S * 1000 < end) {
			await sleep(FAULT_EVERY_S * 1000);
			const fault = nextFault();
			const at = Date.now();
			const what = await inject(fault, targets, pick);
			const entry: Injected = { at, fault, what };
			injected.push(entry);
			log(`fault ${injected.length}: ${what}`);
			const faultEnd = Date.now();
			const copiedBefore = (await status(project.id))?.full?.rowsCopied ?? 0;
			// while the copy runs, recovered means copying again; once replay runs, replay healthy
			while (Date.now() - faultEnd < RECOVERY_LIMIT_S * 1000) {
				const s = await status(project.id);
				if (s && s.state !== "running") throw new Error(`project left running: ${JSON.stringify(s.ticket ?? s.state)}`);
				const copying = s?.incremental?.phase !== "exact";
				if (s && (copying ? (s.full?.rowsCopied ?? 0) > copiedBefore : healthy(s))) {
					entry.recoveredS = (Date.now() - faultEnd) / 1000;
					break;
				}
				await sleep(1000);
			}
			if (entry.recoveredS === undefined) throw new Error(`not recovered ${RECOVERY_LIMIT_S} s after: ${what}`);
		}
		const left = end - Date.now();
		if (left > 0) await sleep(left);
		loading = false;
		load?.kill("SIGTERM");
		log("load stopped; waiting for replay to catch up");
		let comparison = await compareDatabases(credentials(source), credentials(destination), DB);
		for (let i = 0; i < 120 && !comparison.identical; i++) {
			await sleep(5000);
			comparison = await compareDatabases(credentials(source), credentials(destination), DB);
		}
		await client.post(`/projects/${project.id}/verification`, {});
		let verified: VerificationResults | undefined;
		for (let i = 0; i < 360; i++) {
			verified = await client.get<VerificationResults>(`/projects/${project.id}/verification`);
			if (verified.run.state === "done" || verified.run.state === "failed") break;
			await sleep(5000);
		}
		clearInterval(sampler);
		report(injected, comparison, verified);
	} finally {
		clearInterval(sampler);
		loading = false;
		load?.kill("SIGTERM");
		coordinator?.kill("SIGTERM");
		await proxies.source.close();
		await proxies.destination.close();
		rmSync(WORK, { recursive: true, force: true });
		rmSync(HOME, { recursive: true, force: true });
	}
}

// ---------------------------------------------------------------- the report

function report(
	injected: Injected[],
	comparison: { identical: boolean; lines: string[] },
	verified: VerificationResults | undefined,
): void {
	const totals = verified?.tables.reduce(
		(t, r) => ({
			rows: t.rows + r.rowsChecked,
			diff: t.diff + r.missing + r.extra + r.different,
		}),
		{ rows: 0, diff: 0 },
	);
	const clean = comparison.identical && verified?.run.state === "done" && totals?.diff === 0;
	const windows = new Map<number, Sample[]>();
	for (const s of samples) {
		const w = Math.floor(minute(s.at) / 5);
		windows.set(w, [...(windows.get(w) ?? []), s]);
	}
	const roles = ["coordinator", "copy worker", "replication task"];
	const timeline = [...windows.entries()].map(([w, ss]) => {
		const lat = ss.map((s) => s.latency).filter((v): v is number => v !== undefined);
		return [
			`${w * 5}-${w * 5 + 5}`,
			lat.length ? fmt(percentile(lat, 0.5)) : "-",
			lat.length ? fmt(percentile(lat, 0.99)) : "-",
			lat.length ? fmt(Math.max(...lat)) : "-",
			...roles.map((r) => {
				const v = ss.map((s) => s.rss[r]).filter((x): x is number => x !== undefined);
				return v.length ? fmt(Math.max(...v), 0) : "-";
			}),
		];
	});
	const text = [
		`# Soak ${stamp()}`,
		"",
		`${MINUTES} min, a fault every ${FAULT_EVERY_S} s (seed ${SEED}), sysbench oltp_write_only at ${RATE} tps on ${TABLES} x ${ROWS} rows; ${machineFact()}`,
		"",
		`**${clean ? "CLEAN" : "NOT CLEAN"}**: ${injected.length} faults injected, ${injected.filter((f) => f.recoveredS !== undefined).length} recovered from; verification ${verified?.run.state ?? "not run"}, ${totals?.rows ?? 0} rows checked, ${totals?.diff ?? "?"} differences; independent comparison ${comparison.identical ? "identical" : "DIFFERENT"}; sysbench restarted ${loadRestarts} times.`,
		"",
		"## Faults",
		"",
		markdownTable(
			["minute", "fault", "what it hit", "replay healthy again after (s)"],
			injected.map((f) => [
				fmt(minute(f.at)),
				`${f.fault.kind} ${f.fault.target}`,
				f.what,
				f.recoveredS === undefined ? "NOT RECOVERED" : fmt(f.recoveredS),
			]),
		),
		"",
		"## Latency (s) and peak resident memory (MiB) per 5 minutes",
		"",
		markdownTable(["minutes", "latency p50", "p99", "max", ...roles.map((r) => `${r} RSS`)], timeline),
		"",
		"## Independent comparison",
		"",
		...comparison.lines.map((l) => `- ${l}`),
		"",
	].join("\n");
	const file = join(RESULTS_DIR, `soak-${stamp()}.md`);
	writeFileSync(file, text);
	console.log(text);
	log(`written to ${file}`);
	if (!clean) process.exitCode = 1;
}

await main();
