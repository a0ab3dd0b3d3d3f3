import type { RowDataPacket } from "mysql2";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runWriteLoad } from "../../cli/demo/load.ts";
import type { ProjectStatus } from "../../shared/control/status.ts";
import { type Connection, connect } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import {
	destinationCredentials,
	execute,
	sampleDatabases,
	sourceCredentials,
	uniqueDatabase,
} from "../support/databases.ts";
import { FaultProxy } from "../support/fault-proxy.ts";
import { statusUntil, useTestStack, verified, waitFor, waitForIdentical } from "../support/stack.ts";

/*
 * Ferry talks to the source and the destination through fault proxies (test/support/fault-proxy.ts);
 * the test's own checks go to the servers directly. For each fault: Ferry notices it within a
 * bound, says so in the project's status, carries on once the network is back, and the
 * destination ends row for row equal to the source.
 */

// this file's ports, in the range kept for it
const SOURCE_PORT = 40101;
const DESTINATION_PORT = 40102;
/** How long a fault must at most go unnoticed in the status. */
const DETECT_MS = 15_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Injects `fault` and times how long until `seen` first holds of the status (it must not hold
 * before); fails after `bound` ms.
 */
async function detected(
	status: () => Promise<ProjectStatus>,
	seen: (s: ProjectStatus) => string | undefined,
	fault: () => void,
	bound = DETECT_MS,
): Promise<number> {
	expect(seen(await status()), "shown before the fault").toBeUndefined();
	const since = Date.now();
	fault();
	for (;;) {
		if (seen(await status())) return Date.now() - since;
		if (Date.now() - since > bound) throw new Error(`the fault was not shown in the status within ${bound} ms`);
		await sleep(200);
	}
}

const stepState = (s: ProjectStatus, name: string) => s.steps.find((x) => x.name === name)?.state;

describe("network faults between Ferry and both databases", () => {
	const db = uniqueDatabase("netfault");
	const proxies: { source?: FaultProxy; destination?: FaultProxy } = {};
	const source = () => proxies.source as FaultProxy;
	const destination = () => proxies.destination as FaultProxy;
	const measured: Record<string, number> = {};
	let load = new AbortController();
	/** The test's own connection to the destination, not through the proxy. */
	let direct: Connection | undefined;
	const took: Record<string, number> = {};
	let started = Date.now();
	beforeEach(() => {
		started = Date.now();
	});
	afterEach((c) => {
		took[c.task.name.split(":")[0] ?? ""] = Date.now() - started;
		// a test that failed mid-fault must not leave the next ones behind a dead network
		proxies.source?.restore();
		proxies.destination?.restore();
	});

	beforeAll(async () => {
		proxies.source = await FaultProxy.start(sourceCredentials, SOURCE_PORT);
		proxies.destination = await FaultProxy.start(destinationCredentials, DESTINATION_PORT);
		direct = await connect(destinationCredentials);
	});
	afterAll(async () => {
		load.abort();
		await direct?.end();
		await proxies.source?.close();
		await proxies.destination?.close();
		console.log(
			"network faults: detection times (ms)",
			JSON.stringify(measured),
			"test times (ms)",
			JSON.stringify(took),
		);
	});

	const t = useTestStack({
		workers: 2,
		env: {
			FERRY_CHUNK_LEASE_MS: "3000",
			FERRY_CHUNK_QUEUED_MS: "3000",
			FERRY_REPLICATION_HEARTBEAT_TIMEOUT_MS: "8000",
			FERRY_REPLICATION_STALE_MS: "3000",
			FERRY_REPLICATION_PROBE_MS: "1000",
			FERRY_REPLICATION_PROBE_TIMEOUT_MS: "4000",
		},
		seed: async () => {
			await sampleDatabases(sourceCredentials, 0.03, db);
			await execute(
				sourceCredentials,
				`CREATE TABLE ${quoteId(db)}.big (id INT PRIMARY KEY, v VARCHAR(200)) ENGINE=InnoDB`,
			);
		},
		databases: [db],
		source: { ...sourceCredentials, host: "127.0.0.1", port: SOURCE_PORT },
		destination: { ...destinationCredentials, host: "127.0.0.1", port: DESTINATION_PORT },
	});
	let id = "";
	const status = () => t.status(id);
	const cutBoth = () => {
		source().cut({ hold: true });
		destination().cut({ hold: true });
	};
	const restoreBoth = () => {
		source().restore();
		destination().restore();
	};
	/** Writes at the source (directly, not through the proxy) until `stopWrites`. */
	const startWrites = () => {
		load = new AbortController();
		const writes = runWriteLoad(sourceCredentials, db, {
			signal: load.signal,
			connections: 2,
			pauseMs: 20,
			idOffset: (Date.now() % 100_000) * 1000,
		});
		return async () => {
			load.abort();
			const done = await writes;
			expect(done.transactions).toBeGreaterThan(10);
		};
	};

	it("a cut, then a black-holed source, during the full copy: chunk errors shown, the copy finishes", async () => {
		id = await t.startProject({
			name: "network faults",
			types: ["schema", "full", "incremental", "switchover"],
			objects: [{ database: db }],
			// slow enough that the cut lands in the middle of the copy
			options: { parallelism: 2, chunkRows: 300, maxRowsPerSecond: 3000 },
		});
		await waitFor("the copy to be under way", async () => {
			const s = await status();
			return (s.full?.rowsCopied ?? 0) > 500 ? true : undefined;
		});
		const chunkErrors = (s: ProjectStatus) => s.full?.tables.flatMap((x) => x.errors) ?? [];
		measured.copyCut = await detected(status, (s) => chunkErrors(s)[0], cutBoth);
		await sleep(2000);
		restoreBoth();
		// no RST: the chunk's statement would wait for TCP keepalive (minutes) but for the worker's
		// probe; its own words tell it from the cut's errors that may still be listed
		try {
			measured.copyBlackhole = await detected(
				status,
				(s) => {
					if (stepState(s, "full") === "done") throw new Error("the copy finished before the black hole: slow it down");
					return chunkErrors(s).find((e) => /the source 127\.0\.0\.1:\d+ did not answer/.test(e));
				},
				() => source().blackhole(),
			);
		} finally {
			source().restore();
		}
		const done = await until("the copy to finish", (s) => stepState(s, "full") === "done");
		expect(done.full?.percent).toBe(100);
	}, 120_000);

	it("a cut during replay: the stream shows the error, resumes, nothing lost or doubled", async () => {
		await waitFor("replay in exact mode", async () =>
			(await status()).incremental?.phase === "exact" ? true : undefined,
		);
		measured.replayCut = await underWrites(cutBoth, async () => {
			await sleep(2000);
			restoreBoth();
		});
	}, 90_000);

	it("a cut while a large transaction is applied: it lands once, whole", async () => {
		// 10,000 rows in one source transaction, applied in parts into one destination transaction;
		// a narrow link to the destination keeps it in flight long enough to cut it
		destination().bandwidth(200_000);
		const sentBefore = destination().bytesToServer;
		await execute(
			sourceCredentials,
			`USE ${quoteId(db)}`,
			"INSERT INTO big SELECT seq, REPEAT('x', 100) FROM seq_1_to_10000",
		);
		// about 1.1 MB of statements: cut once a quarter of it went through, none of it committed
		await waitFor("the large transaction to be on its way", async () =>
			destination().bytesToServer - sentBefore > 300_000 ? true : undefined,
		);
		const [[before]] = await (direct as Connection).query<RowDataPacket[]>(
			`SELECT COUNT(*) AS n FROM ${quoteId(db)}.big`,
		);
		expect(Number(before?.n)).toBe(0);
		measured.largeTransactionCut = await detected(status, streamTrouble, () => destination().cut({ hold: true }));
		await sleep(2000);
		destination().restore();
		await caughtUpAgain();
	}, 90_000);

	it("a black-holed destination: noticed without an RST, replay resumes when it lifts", async () => {
		measured.destinationBlackhole = await underWrites(
			() => destination().blackhole(),
			() => destination().restore(),
		);
	}, 120_000);

	it("a cut during verification: the run finishes, and finds nothing different", async () => {
		// a slower link keeps the run going for seconds (on a quiet machine it took less than one)
		source().latency(40);
		destination().latency(40);
		const run = verified(t, id);
		await waitFor("verification under way", async () =>
			(await status()).verification?.run.state === "running" ? true : undefined,
		);
		measured.verificationCut = await detected(status, (s) => s.verification?.run.error, cutBoth);
		await sleep(2000);
		restoreBoth();
		const results = await run;
		expect(results.run.error).toBeUndefined();
		expect(results.run.totals).toMatchObject({ missing: 0, extra: 0, different: 0 });
	}, 120_000);

	it("a cut during switchover: the switch goes through once the network is back", async () => {
		await t.api.post(`/projects/${id}/switchover`, { maxLatencySeconds: 30, waiveVerification: true });
		await waitFor("the switchover to wait for the writes to stop", async () =>
			stepState(await status(), "switch-writes") === "running" ? true : undefined,
		);
		// the network goes down as the user confirms: the next steps read the source's final position
		measured.switchoverCut = await detected(
			status,
			(s) => s.steps.find((x) => x.name.startsWith("switch-") && x.error)?.error,
			() => {
				cutBoth();
				void t.api.post(`/projects/${id}/switchover/writes-stopped`);
			},
		);
		await sleep(2000);
		restoreBoth();
		const final = await until("the switchover", (s) =>
			s.steps.filter((x) => x.name.startsWith("switch-")).every((x) => x.state === "done"),
		);
		expect(final.switchover?.forwardStopped).toBe(true);
		const report = await waitForIdentical(sourceCredentials, destinationCredentials, db, 30_000);
		expect(report.identical, report.lines.join("\n")).toBe(true);
	}, 90_000);

	/**
	 * Under a write load at the source: `fault`, timed until forward replay shows trouble, then
	 * `restore`; once the writes stop, the destination must equal the source. Returns the detection time.
	 */
	async function underWrites(fault: () => void, restore: () => Promise<void> | void): Promise<number> {
		const stopWrites = startWrites();
		await sleep(1000);
		const ms = await detected(status, streamTrouble, fault);
		await restore();
		await sleep(1000);
		await stopWrites();
		await caughtUpAgain();
		return ms;
	}

	const until = (what: string, done: (s: ProjectStatus) => boolean) => statusUntil(status, what, done, 60_000);

	/** Replay running again and the destination equal to the source (the writes stopped). */
	async function caughtUpAgain(): Promise<void> {
		await until("replay to run again", (s) => s.incremental?.state === "running");
		const report = await waitForIdentical(sourceCredentials, destinationCredentials, db, 60_000);
		expect(report.identical, report.lines.join("\n")).toBe(true);
		const s = await status();
		expect(s.incremental?.inconsistencies).toBe(0);
	}
});

/** What the status says of forward replay in trouble: its last error, or why it does not run. */
function streamTrouble(s: ProjectStatus): string | undefined {
	const stream = s.incremental;
	if (stream?.lastError) return stream.lastError;
	return stream && stream.state !== "running" ? `${stream.state}: ${stream.stateReason}` : undefined;
}
