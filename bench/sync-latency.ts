/**
 * End-to-end latency for bench/sync.ts, commit on the source to receipt by a Kafka consumer,
 * while sysbench writes at a fixed rate. Every `PROBE_MS` a probe row is inserted (autocommit)
 * into a table of its own; the contender streams it like the sysbench rows, and a read_committed
 * consumer follows the probe's topic. Two figures per probe:
 *
 * - exact: receipt time minus the time the INSERT's commit returned, both on this machine's clock;
 * - ts_ms: receipt time minus the message's source.ts_ms (the binlog's commit time, whole seconds,
 *   so this reads 0-1 s high), the figure a consumer of either contender can compute itself.
 */
import { loadavg } from "node:os";
import type { Connection, ResultSetHeader } from "mysql2/promise";
import { connect, fmt, percentile, type Server, sh, sleep, sysbenchEnv } from "./support.ts";
import { follow } from "./sync-kafka.ts";

export const PROBE_TABLE = "probe";
const PROBE_MS = 100;
/** Probes the contender has this long after the load ended to deliver. */
const DRAIN_MS = 60_000;

export interface Latency {
	/** Seconds, of the probes sent while the load ran. */
	exact: number[];
	tsMs: number[];
	sent: number;
	/** Probes sent during the load that never arrived. */
	lost: number;
	/** sysbench's own figure. */
	tps: number;
	/** The machine's 1-minute load average when the load started. */
	loadAverage: number;
	problems: string[];
}

export function probeTableSql(database: string): string[] {
	return [
		`CREATE DATABASE IF NOT EXISTS ${database}`,
		`CREATE TABLE IF NOT EXISTS ${database}.${PROBE_TABLE} (id BIGINT AUTO_INCREMENT PRIMARY KEY, sent BIGINT NOT NULL)`,
	];
}

/** Inserts one probe row; resolves with its id and the local time the commit returned. */
export async function probe(conn: Connection, database: string): Promise<[number, number]> {
	const [r] = await conn.query<ResultSetHeader>(`INSERT INTO ${database}.${PROBE_TABLE} (sent) VALUES (?)`, [
		Date.now(),
	]);
	return [r.insertId, Date.now()];
}

/**
 * Probes until the contender delivers one (it streams), then runs `loadCommand` (sysbench with
 * --rate) with a probe every PROBE_MS (those after the warm-up count), then waits for the probes
 * still on their way.
 */
export async function measureLatency(o: {
	source: Server;
	database: string;
	topic: string;
	loadCommand: string;
	/** Gives up waiting for the first probe after this long. */
	startTimeoutMs: number;
	/** Probes of the load's first seconds are not counted: the contender warms up (a JVM compiles). */
	warmupMs: number;
}): Promise<Latency> {
	const acked = new Map<number, number>();
	const arrived = new Map<number, { at: number; tsMs: number }>();
	const follower = await follow(o.topic, (value, at) => {
		const m = JSON.parse(value.toString("utf8")) as { after?: { id?: number }; source?: { ts_ms?: number } };
		const id = Number(m.after?.id);
		if (Number.isFinite(id) && !arrived.has(id)) arrived.set(id, { at, tsMs: Number(m.source?.ts_ms) });
	});
	const conn = await connect(o.source);
	const result: Latency = { exact: [], tsMs: [], sent: 0, lost: 0, tps: 0, loadAverage: Number.NaN, problems: [] };
	try {
		const t0 = Date.now();
		while (arrived.size === 0) {
			if (Date.now() - t0 > o.startTimeoutMs)
				throw new Error(`no probe arrived on ${o.topic} within ${o.startTimeoutMs} ms`);
			await probe(conn, o.database);
			await sleep(200);
		}
		result.loadAverage = loadavg()[0] ?? Number.NaN;
		let loadDone = false;
		const load = sh(o.loadCommand, { env: sysbenchEnv(o.source), keepStdout: true }).finally(() => {
			loadDone = true;
		});
		const during: number[] = [];
		const counted = Date.now() + o.warmupMs;
		for (let next = Date.now(); !loadDone; next += PROBE_MS) {
			await Promise.race([sleep(Math.max(0, next - Date.now())), load.catch(() => {})]);
			if (loadDone) break;
			const [id, at] = await probe(conn, o.database);
			acked.set(id, at);
			if (at >= counted) during.push(id);
		}
		const out = await load;
		result.tps = Number(/transactions:\s+\d+\s+\(([\d.]+) per sec/.exec(out)?.[1] ?? Number.NaN);
		const drainUntil = Date.now() + DRAIN_MS;
		while (during.some((id) => !arrived.has(id)) && Date.now() < drainUntil) await sleep(100);
		result.sent = during.length;
		for (const id of during) {
			const got = arrived.get(id);
			const ack = acked.get(id);
			if (!got || ack === undefined) {
				result.lost += 1;
				continue;
			}
			result.exact.push((got.at - ack) / 1000);
			result.tsMs.push((got.at - got.tsMs) / 1000);
		}
		if (result.lost)
			result.problems.push(
				`${result.lost} of ${result.sent} probes did not arrive within ${DRAIN_MS / 1000} s of the load's end`,
			);
	} catch (err) {
		result.problems.push(`did not finish: ${(err as Error).message}`);
	} finally {
		await conn.end();
		await follower.stop();
	}
	return result;
}

/** "p50 0.12 s, p95 ..., p99 ..., max ... (n samples)". */
export function spread(v: number[]): string {
	if (!v.length) return "no samples";
	const p = (q: number) => fmt(percentile(v, q), 2);
	return `p50 ${p(0.5)} s, p95 ${p(0.95)} s, p99 ${p(0.99)} s, max ${fmt(Math.max(...v), 2)} s (${v.length} probes)`;
}

/** The worst exact latency of each 5 s of probes, in order: a steady lag, bursts, or a growing backlog. */
export function windows(v: number[]): string {
	const per = 5000 / PROBE_MS;
	const out: string[] = [];
	for (let i = 0; i < v.length; i += per) out.push(fmt(Math.max(...v.slice(i, i + per)), 2));
	return out.join(" ") || "-";
}
