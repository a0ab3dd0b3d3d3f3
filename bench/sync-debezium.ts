/**
 * Debezium's contender in bench/sync.ts: a Kafka Connect standalone worker of its own
 * (scripts/services/kafka-connect.sh under another service name and port, beside the tests' one)
 * with Debezium's MariaDB connector (test/support/kafka-connect.ts). Debezium cannot be told
 * where in the binlog to start: with snapshot.mode=no_data it starts where the source stands and
 * stores an offset with its first record. So the benchmark records that offset once before the
 * backlog, keeps a copy of the worker's offsets file and schema history, and restores both before
 * each round: every restart then drains the same backlog.
 */
import { execFile } from "node:child_process";
import { copyFileSync, existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Credentials } from "../shared/model/datasource.ts";
import { connectorTask, createMariaDbConnector, deleteConnector } from "../test/support/kafka-connect.ts";
import { FERRY_HOME, processCpuSeconds, sleep } from "./support.ts";

/** The worker's service name: its pid file, log and data directory under ~/.ferry. */
export const WORKER = "benchsync-connect";
/**
 * The JVM as a production worker would run: the JVM's own defaults (G1, the C2 compiler) and a
 * 1 GiB heap. The script's default is a small-footprint JVM for tests (serial GC, C1 only).
 */
export const WORKER_JVM = "-XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true -Djava.net.preferIPv4Stack=true";
export const WORKER_HEAP = "-Xms256m -Xmx1g";
const SCRIPT = join(import.meta.dirname, "../scripts/services/kafka-connect.sh");
const DATA = join(FERRY_HOME, "data", WORKER);
const STATE_FILES = ["offsets.dat", "benchsync.history"];
export const HISTORY_FILE = join(DATA, "benchsync.history");

/** Points this process's Connect helpers (and the script it runs) at the benchmark's own worker. */
export function useWorker(port: number): void {
	process.env.FERRY_KAFKA_CONNECT_PORT = String(port);
	process.env.FERRY_KAFKA_CONNECT_NAME = WORKER;
	process.env.FERRY_KAFKA_CONNECT_JVM = WORKER_JVM;
	process.env.FERRY_KAFKA_CONNECT_HEAP = WORKER_HEAP;
}

async function script(command: "start" | "stop", keepData = false): Promise<void> {
	await promisify(execFile)("bash", [SCRIPT, command], {
		timeout: 300_000,
		env: { ...process.env, FERRY_KAFKA_CONNECT_KEEP_DATA: keepData ? "1" : "" },
	});
}

/** Starts the worker (its REST API answers when this returns); `keepData` keeps the restored offsets. */
export const startWorker = (keepData: boolean) => script("start", keepData);
/** Stops the worker (TERM: Connect flushes its offsets on the way out). */
export const stopWorker = () => script("stop");

/** The worker JVM's pid, or undefined when it does not run. */
export function workerPid(): number | undefined {
	try {
		return Number(readFileSync(join(FERRY_HOME, "run", `${WORKER}.pid`), "utf8").trim()) || undefined;
	} catch {
		return undefined;
	}
}

/** CPU seconds the worker JVM used since it started (NaN when it does not run). */
export function workerCpu(): number {
	const pid = workerPid();
	return pid ? processCpuSeconds(pid) : Number.NaN;
}

/**
 * Creates the connector: snapshot.mode=no_data, JSON without schemas (as Ferry's contender), the
 * rest Debezium's defaults (tombstones on delete, max.batch.size 2048, max.queue.size 8192,
 * poll.interval.ms 500) and Connect's producer defaults.
 */
export async function createConnector(
	name: string,
	creds: Credentials,
	o: { prefix: string; databases: string[]; serverId: number },
): Promise<void> {
	const json = "org.apache.kafka.connect.json.JsonConverter";
	await createMariaDbConnector(name, creds, {
		prefix: o.prefix,
		database: o.databases.join(","),
		serverId: o.serverId,
		historyFile: HISTORY_FILE,
		settings: {
			"snapshot.mode": "no_data",
			"key.converter": json,
			"key.converter.schemas.enable": "false",
			"value.converter": json,
			"value.converter.schemas.enable": "false",
		},
	});
}

export { deleteConnector };

/** Throws when the connector's task failed (with Connect's trace). */
export async function checkTask(name: string): Promise<void> {
	const task = await connectorTask(name);
	if (task?.state === "FAILED") throw new Error(`Debezium task failed: ${task.trace?.split("\n")[0] ?? "no trace"}`);
}

/** Waits until the worker's offsets file holds something (Connect flushes every second). */
export async function offsetStored(timeoutMs = 30_000): Promise<void> {
	const file = join(DATA, "offsets.dat");
	for (const t0 = Date.now(); Date.now() - t0 < timeoutMs; await sleep(250)) {
		if (existsSync(file) && statSync(file).size > 0) return;
	}
	throw new Error(`Connect stored no offset in ${file} within ${timeoutMs} ms`);
}

/** Copies the worker's offsets and schema history to `dir` (the connector's state before the backlog). */
export function saveState(dir: string): void {
	for (const f of STATE_FILES) copyFileSync(join(DATA, f), join(dir, f));
}

/** Puts the saved offsets and schema history back: the next start resumes before the backlog. */
export function restoreState(dir: string): void {
	for (const f of STATE_FILES) copyFileSync(join(dir, f), join(DATA, f));
}
