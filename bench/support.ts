/**
 * Helpers shared by the benchmarks in bench/: the login of the two local MariaDB instances in
 * option files (passwords never on a command line), shell commands, CPU seconds from /proc,
 * sysbench, table comparison, machine facts and the result tables.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import mysql, { type Connection, type RowDataPacket } from "mysql2/promise";
import { ferryHome } from "../shared/config.ts";
import { quoteId } from "../shared/db/sql.ts";
import { type LocalInstance, localInstance } from "../shared/local/instances.ts";

export const FERRY_HOME = ferryHome();
export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), "results");

export interface Server {
	name: "source" | "destination";
	host: string;
	port: number;
	user: string;
	password: string;
	/** Option file with the login, readable by this user only: keeps the password off command lines. */
	cnf: string;
}

const benchName = basename(process.argv[1] ?? "bench", ".ts");

export function fail(message: string): never {
	console.error(`${benchName}: ${message}`);
	process.exit(2);
}

export function positive(name: string, v: string): number {
	const n = Number(v);
	if (!Number.isInteger(n) || n < 1) fail(`--${name} must be a positive integer, got "${v}"`);
	return n;
}

/**
 * A temporary directory for option files and dumps. The option files hold the password: it is
 * removed on Ctrl-C too (after `onSignal`), not only at the end (the caller's `finally`).
 */
export function workDir(onSignal?: () => void): string {
	const dir = mkdtempSync(join(tmpdir(), "ferry-bench-"));
	for (const signal of ["SIGINT", "SIGTERM"] as const) {
		process.once(signal, () => {
			rmSync(dir, { recursive: true, force: true });
			onSignal?.();
			process.exit(130);
		});
	}
	return dir;
}

/**
 * The local source and destination (scripts/services/mariadb.sh), with option files in `work`;
 * `instances` picks other instances of that script to play the two parts (the soak's own).
 */
export function localServers(
	work: string,
	instances: Record<Server["name"], LocalInstance> = { source: "source", destination: "destination" },
): { source: Server; destination: Server } {
	const server = (name: Server["name"]): Server => {
		const { host, port, user, password } = localInstance(instances[name]);
		const cnf = join(work, `${name}.cnf`);
		writeFileSync(cnf, `[client]\nhost=${host}\nport=${port}\nuser=${user}\npassword=${password}\n`, { mode: 0o600 });
		return { name, host, port, user, password, cnf };
	};
	return { source: server("source"), destination: server("destination") };
}

// ---------------------------------------------------------------- small helpers

export { quoteId };
export const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
export const fmt = (n: number | undefined, digits = 1) =>
	n === undefined || Number.isNaN(n) ? "?" : n.toFixed(digits);
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/** UTC, for result file names: YYYY-MM-DD-HHMM. */
export const stamp = () => new Date().toISOString().slice(0, 16).replace("T", "-").replace(":", "");

export function connect(s: Server): Promise<Connection> {
	return mysql.createConnection({
		host: s.host,
		port: s.port,
		user: s.user,
		password: s.password,
	});
}

export async function query<T = RowDataPacket>(conn: Connection, sql: string): Promise<T[]> {
	const [rows] = await conn.query<RowDataPacket[]>(sql);
	return rows as T[];
}

/**
 * Runs a shell command line (pipes allowed, pipefail on); fails with the tail of its stderr.
 * Resolves with its stdout (kept only when `keepStdout`).
 */
export function sh(command: string, options: { env?: NodeJS.ProcessEnv; keepStdout?: boolean } = {}): Promise<string> {
	return new Promise((resolve, reject) => {
		const child = spawn("bash", ["-o", "pipefail", "-c", command], {
			stdio: ["ignore", options.keepStdout ? "pipe" : "ignore", "pipe"],
			env: options.env ?? process.env,
		});
		let stdout = "";
		let stderr = "";
		child.stdout?.on("data", (d: Buffer) => {
			stdout += d.toString();
		});
		child.stderr?.on("data", (d: Buffer) => {
			stderr = (stderr + d.toString()).slice(-2000);
		});
		child.on("error", reject);
		child.on("close", (code) =>
			code === 0 ? resolve(stdout) : reject(new Error(`\`${command}\` exited with ${code}: ${stderr.trim()}`)),
		);
	});
}

/** First line of a command's output, or "" when it cannot run. */
export function firstLine(command: string): string {
	const r = spawnSync("bash", ["-c", command], { encoding: "utf8" });
	return ((r.stdout || r.stderr || "").split("\n")[0] ?? "").replace(/\s+/g, " ").trim();
}

/** Installs missing commands with apt-get: pairs of [command, package]. */
export function ensureTools(tools: [command: string, pkg: string][]): void {
	const missing = tools.filter(([cmd]) => spawnSync("bash", ["-c", `command -v ${cmd}`]).status !== 0);
	if (!missing.length) return;
	const packages = [...new Set(missing.map(([, pkg]) => pkg))].join(" ");
	log(`installing ${packages} with apt-get ...`);
	const r = spawnSync(
		"bash",
		["-c", `(apt-get install -y -qq ${packages} || (apt-get update -qq && apt-get install -y -qq ${packages}))`],
		{
			stdio: "inherit",
			env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
		},
	);
	if (r.status !== 0) {
		fail(`could not install ${packages} (apt-get exited with ${r.status}); install them by hand and run again`);
	}
}

// ---------------------------------------------------------------- CPU seconds

// CPU seconds from /proc: this process with its reaped children (the client tools), any extra
// live pids (Ferry's workers), and the two mariadbd processes (pid files of mariadb.sh).
const TICKS = Number(firstLine("getconf CLK_TCK")) || 100;

export interface Cpu {
	client: number;
	source: number;
	destination: number;
}

function procTicks(pid: number | "self", withChildren = false): number {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
		const f = stat
			.slice(stat.lastIndexOf(")") + 2)
			.split(" ")
			.map(Number);
		// fields 14-17 of proc(5): utime stime cutime cstime; f[0] is field 3
		return (f[11] ?? 0) + (f[12] ?? 0) + (withChildren ? (f[13] ?? 0) + (f[14] ?? 0) : 0);
	} catch {
		return Number.NaN; // no such process (or not Linux): the figure shows as "?"
	}
}

function serverPid(s: Server): number {
	try {
		return Number(readFileSync(join(FERRY_HOME, "run", `mariadb-${s.name}.pid`), "utf8").trim());
	} catch {
		return -1;
	}
}

/** User + system CPU seconds a process has used so far (NaN when it is gone). */
export function processCpuSeconds(pid: number): number {
	return procTicks(pid) / TICKS;
}

export function cpuSince(before: Cpu, after: Cpu): Cpu {
	return {
		client: after.client - before.client,
		source: after.source - before.source,
		destination: after.destination - before.destination,
	};
}

/** CPU seconds so far (`now`) and a timer that reports wall and CPU seconds of a function (`timed`). */
export function cpuMeter(source: Server, destination: Server) {
	const now = (extraPids: number[] = []): Cpu => {
		const extra = extraPids.reduce((n, pid) => n + (procTicks(pid) || 0), 0);
		return {
			client: (procTicks("self", true) + extra) / TICKS,
			source: procTicks(serverPid(source)) / TICKS,
			destination: procTicks(serverPid(destination)) / TICKS,
		};
	};
	/** Runs fn and returns its wall seconds and the CPU seconds spent meanwhile. */
	const timed = async (fn: () => Promise<unknown>): Promise<{ seconds: number; cpu: Cpu }> => {
		const cpu0 = now();
		const t0 = performance.now();
		await fn();
		const seconds = (performance.now() - t0) / 1000;
		return { seconds, cpu: cpuSince(cpu0, now()) };
	};
	return { now, timed };
}

// ---------------------------------------------------------------- databases

/** Waits (at most 30 s) while the server's count of dirty pages still falls. */
export async function settle(conn: Connection): Promise<void> {
	let before = Number.POSITIVE_INFINITY;
	for (let i = 0; i < 30; i++) {
		const [r] = await query<{ Value: string }>(conn, "SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'");
		const dirty = Number(r?.Value);
		if (!(dirty < before)) break;
		before = dirty;
		await sleep(1000);
	}
}

/** A sysbench command line against `s` (the password goes in MYSQL_PWD, see `sysbenchEnv`). */
export function sysbench(s: Server, db: string, args: string): string {
	const [test, ...rest] = args.split(" ");
	return `sysbench ${test} --mysql-host=${s.host} --mysql-port=${s.port} --mysql-user=${s.user} --mysql-db=${db} ${rest.join(" ")}`;
}

export const sysbenchEnv = (s: Server): NodeJS.ProcessEnv => ({ ...process.env, MYSQL_PWD: s.password });

/** sysbench's "transactions: N (X per sec.)" and "ignored errors: N" from its report. */
export function sysbenchFigures(out: string): { transactions: number; tps: number; ignoredErrors: number } {
	const t = /transactions:\s+(\d+)\s+\(([\d.]+) per sec/.exec(out);
	if (!t) throw new Error(`no "transactions:" line in sysbench's report:\n${out.slice(-1000)}`);
	const e = /ignored errors:\s+(\d+)/.exec(out);
	return { transactions: Number(t[1]), tps: Number(t[2]), ignoredErrors: Number(e?.[1] ?? 0) };
}

/** Runs `command` (sysbench ... prepare) on the source unless `db` already holds exactly `tables` with `rows` rows each. */
export async function prepareSysbench(
	source: Server,
	db: string,
	tables: string[],
	rows: number,
	command: string,
): Promise<void> {
	const src = await connect(source);
	try {
		const have = await query<{ n: string }>(
			src,
			`SELECT TABLE_NAME AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ${src.escape(db)} ORDER BY 1`,
		);
		let ready = have.length === tables.length && tables.every((t) => have.some((r) => r.n === t));
		for (const t of ready ? tables : []) {
			const [c] = await query<{ n: number }>(src, `SELECT COUNT(*) AS n FROM ${quoteId(db)}.${quoteId(t)}`);
			if (Number(c?.n) !== rows) ready = false;
		}
		if (ready) {
			log(`source already holds ${tables.length} x ${rows} rows in ${db}`);
			return;
		}
		log(`preparing ${tables.length} x ${rows} rows in ${db} on the source with sysbench ...`);
		await src.query(`DROP DATABASE IF EXISTS ${quoteId(db)}`);
		await src.query(`CREATE DATABASE ${quoteId(db)}`);
		await sh(command, { env: sysbenchEnv(source) });
	} finally {
		await src.end();
	}
}

const stripAutoIncrement = (ddl: string) => ddl.replace(/ AUTO_INCREMENT=\d+/, "");

/**
 * CHECKSUM TABLE and SHOW CREATE TABLE per table on both sides: the list of differences. Tables
 * of `db` at the destination other than `tables` and `alsoAllowed` count as differences too.
 */
export async function compareTables(
	source: Server,
	destination: Server,
	db: string,
	tables: string[],
	alsoAllowed: string[] = [],
): Promise<string[]> {
	const [src, dst] = await Promise.all([connect(source), connect(destination)]);
	const table = (t: string) => `${quoteId(db)}.${quoteId(t)}`;
	try {
		const list = tables.map(table).join(", ");
		const [a, b, have] = await Promise.all([
			query<{ Table: string; Checksum: string | null }>(src, `CHECKSUM TABLE ${list}`),
			query<{ Table: string; Checksum: string | null }>(dst, `CHECKSUM TABLE ${list}`),
			query<{ n: string }>(
				dst,
				`SELECT TABLE_NAME AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ${dst.escape(db)}`,
			),
		]);
		const problems: string[] = [];
		const extra = have.map((r) => r.n).filter((n) => !tables.includes(n) && !alsoAllowed.includes(n));
		if (extra.length) problems.push(`unexpected tables at the destination: ${extra.join(", ")}`);
		for (const [i, t] of tables.entries()) {
			const want = a[i]?.Checksum;
			const got = b[i]?.Checksum;
			if (got === null || got === undefined) problems.push(`${t}: missing at the destination`);
			else if (String(want) !== String(got)) problems.push(`${t}: CHECKSUM TABLE ${got} != source ${want}`);
			else {
				const [[s], [d]] = await Promise.all([
					query<{ "Create Table": string }>(src, `SHOW CREATE TABLE ${table(t)}`),
					query<{ "Create Table": string }>(dst, `SHOW CREATE TABLE ${table(t)}`),
				]);
				if (stripAutoIncrement(s?.["Create Table"] ?? "") !== stripAutoIncrement(d?.["Create Table"] ?? "")) {
					problems.push(`${t}: SHOW CREATE TABLE differs:\n${d?.["Create Table"]}`);
				}
			}
		}
		return problems;
	} finally {
		await Promise.all([src.end(), dst.end()]);
	}
}

// ---------------------------------------------------------------- report

/** An error of Ferry's code as "Name [code]: message (at file:line)", the first frame in the project. */
export function describe(err: unknown): string {
	const e = err as { name?: string; code?: string; message?: string; stack?: string };
	const frame = /\((\/[^)]*\/(?:shared|bench)\/[^)]+)\)/
		.exec(e.stack ?? "")?.[1]
		?.replace(/^.*\/(shared|bench)\//, "$1/");
	return `${e.name ?? "Error"}${e.code ? ` [${e.code}]` : ""}: ${e.message ?? String(err)}${frame ? ` (at ${frame})` : ""}`;
}

/** The q-quantile of `values` (nearest rank). */
export function percentile(values: number[], q: number): number {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
}

/** The machine line of a results file. */
export function machineFact(): string {
	return `- Machine: ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, load average at start ${loadavg()
		.map((n) => n.toFixed(2))
		.join(" ")}. Client tools, Ferry and both servers share these cores with other work on the machine.`;
}

/** One line on a server's version and the settings that matter to the figures. */
export async function serverFact(s: Server): Promise<string> {
	const conn = await connect(s);
	try {
		const [v = {}] = await query<Record<string, string>>(
			conn,
			"SELECT VERSION() AS version, @@innodb_buffer_pool_size DIV 1048576 AS bp, @@log_bin AS log_bin, @@binlog_format AS fmt, @@innodb_flush_log_at_trx_commit AS flush, @@sync_binlog AS sync_binlog",
		);
		return `- ${s.name === "source" ? "Source" : "Destination"} ${s.host}:${s.port}: MariaDB ${v.version}, buffer pool ${v.bp} MiB, log_bin=${v.log_bin} ${v.fmt}, flush_log_at_trx_commit=${v.flush}, sync_binlog=${v.sync_binlog}`;
	} finally {
		await conn.end();
	}
}

export function textTable(header: string[], body: string[][]): string {
	const all = [header, ...body];
	const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
	return all
		.map((r) =>
			r
				.map((c, i) => c.padEnd(widths[i] ?? 0))
				.join("  ")
				.trimEnd(),
		)
		.join("\n");
}

export function markdownTable(header: string[], body: string[][]): string {
	const all = [header, ...body].map((r) => r.map((c) => c.replaceAll("|", "\\|")));
	const widths = header.map((_, i) => Math.max(3, ...all.map((r) => (r[i] ?? "").length)));
	const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
	const rule = `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`;
	return [line(all[0] ?? []), rule, ...all.slice(1).map(line)].join("\n");
}

// ---------------------------------------------------------------- rounds and medians

/** The median of `values` (the mean of the middle two for an even count; NaN when empty). */
export function median(values: number[]): number {
	const s = [...values].sort((a, b) => a - b);
	if (!s.length) return Number.NaN;
	const m = Math.floor(s.length / 2);
	return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** How far the rounds lie apart: `min-max (±x %)` around the median, x = half the range over the median. */
export function spread(values: number[], digits = 1): string {
	if (values.length < 2) return "-";
	const lo = Math.min(...values);
	const hi = Math.max(...values);
	return `${fmt(lo, digits)}-${fmt(hi, digits)} (±${fmt((50 * (hi - lo)) / median(values), 0)} %)`;
}

/** One round of one contender: its wall and CPU seconds, or the problems that failed it. */
export interface Round {
	seconds?: number;
	cpu?: Cpu;
	problems: string[];
}

/** A contender's rounds summed up: medians over the rounds that succeeded, every round's seconds. */
export interface Rounds {
	/** At least one round succeeded and none failed. */
	ok: boolean;
	seconds?: number;
	cpu?: Cpu;
	/** Every round's seconds in order (`x` for a failed round). */
	runs: string;
	spread: string;
	/** The failed rounds' problems, each with its round number. */
	problems: string[];
}

export function summariseRounds(rounds: Round[]): Rounds {
	const good = rounds.filter((r) => !r.problems.length && r.seconds !== undefined);
	const seconds = good.map((r) => r.seconds as number);
	const cpus = good.flatMap((r) => (r.cpu ? [r.cpu] : []));
	return {
		ok: good.length > 0 && good.length === rounds.length,
		...(good.length ? { seconds: median(seconds) } : {}),
		...(cpus.length
			? {
					cpu: {
						client: median(cpus.map((c) => c.client)),
						source: median(cpus.map((c) => c.source)),
						destination: median(cpus.map((c) => c.destination)),
					},
				}
			: {}),
		runs: rounds.map((r) => (r.problems.length || r.seconds === undefined ? "x" : fmt(r.seconds))).join(" "),
		spread: spread(seconds),
		problems: rounds.flatMap((r, i) => r.problems.map((p) => `round ${i + 1}: ${p}`)),
	};
}

/** The columns of a results table over rounds; `what` names the first ("tool", "contender"). */
export function roundsHeader(what: string): string[] {
	return [
		what,
		"result",
		"median s",
		"runs s",
		"spread s",
		"rows/s",
		"CPU s client/src/dst",
		"client CPU µs/row",
		"time / Ferry",
		"detail (last round)",
	];
}
