import { afterAll, describe, expect, it } from "vitest";
import { compareDatabases } from "../../cli/demo/compare.ts";
import type { ProjectStatus } from "../../shared/control/status.ts";
import { type Connection, connect } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import { destinationCredentials, sourceCredentials, uniqueDatabase } from "../support/databases.ts";
import { useTestStack, waitFor, waitForIdentical } from "../support/stack.ts";

const stepState = (s: ProjectStatus, name: string) => s.steps.find((x) => x.name === name)?.state;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * What the status says about a replication stream, and what the steps do with it: safe mode
 * ends at the copy's end position even when nothing follows it; a stream that is not running
 * says so (stopped by a ticket, killed, ended at the switchover) with a latency that grows, its
 * counters survive restarts, and the switchover refuses to start on it.
 */
describe("replication stream signals", () => {
	const db = uniqueDatabase("signals");
	const q = (table: string) => `${quoteId(db)}.${quoteId(table)}`;
	let src: Connection;
	let projectId = "";
	const t = useTestStack({
		workers: 1,
		seed: async () => {
			src = await connect(sourceCredentials);
			await src.query(`CREATE DATABASE ${quoteId(db)}`);
			await src.query(`CREATE TABLE ${q("t")} (id INT PRIMARY KEY, v INT NOT NULL)`);
			const values = Array.from({ length: 3000 }, (_, i) => `(${i + 1}, ${i})`).join(",");
			await src.query(`INSERT INTO ${q("t")} VALUES ${values}`);
		},
		databases: [db],
	});
	afterAll(() => src?.end());
	const status = () => t.status(projectId);

	it("ends safe mode at the copy's end position with nothing after it; replays CREATE TABLE ... SELECT", async () => {
		projectId = await t.startProject({
			name: "signals",
			types: ["schema", "full", "incremental", "verification", "switchover"],
			objects: [{ database: db }],
			// a slow copy, so the writes below happen during it
			options: { parallelism: 1, chunkRows: 500, maxRowsPerSecond: 1000 },
		});
		// writes during the copy only: replay applies them in safe mode, and then nothing of this
		// database follows the copy's end position
		let writes = 0;
		for (;;) {
			const s = await status();
			if (s.state !== "running") throw new Error(`project stopped: ${JSON.stringify(s.ticket)}`);
			if (stepState(s, "full") === "running" && (s.full?.percent ?? 0) >= 100) break;
			if (stepState(s, "full") === "done") break;
			if (stepState(s, "full") === "running") {
				await src.query(`UPDATE ${q("t")} SET v = v + 1 WHERE id = ?`, [1 + (writes % 3000)]);
				writes += 1;
			}
			await sleep(100);
		}
		expect(writes).toBeGreaterThan(3);
		const verifying = await waitFor(
			"replay to turn exact and verification to start",
			async () => {
				const s = await status();
				if (s.ticket) throw new Error(`ticket: ${s.ticket.message}`);
				return stepState(s, "verify") !== "pending" ? s : undefined;
			},
			60_000,
		);
		expect(verifying.incremental?.phase).toBe("exact");
		expect(verifying.incremental?.state).toBe("running");
		await waitFor("a clean verification", async () => {
			const s = await status();
			if (s.ticket) throw new Error(`ticket: ${s.ticket.message}`);
			return stepState(s, "verify") === "done" ? s : undefined;
		});

		// row-based binlogs log CREATE TABLE ... SELECT as a CREATE TABLE and its rows: both replayed
		await src.query(`CREATE TABLE ${q("summary")} AS SELECT id, v * 2 AS w FROM ${q("t")} WHERE id <= 100`);
		const report = await waitForIdentical(sourceCredentials, destinationCredentials, db, 60_000);
		expect(report.identical, report.lines.join("\n")).toBe(true);
		const dst = await connect(destinationCredentials);
		const [rows] = await dst.query(`SELECT COUNT(*) AS n FROM ${q("summary")}`);
		await dst.end();
		expect(Number((rows as { n: unknown }[])[0]?.n)).toBe(100);
	}, 180_000);

	it("says a stream stopped by a ticket is stopped, with a latency that grows; counters survive the restart", async () => {
		const before = await waitFor("replay reporting its counters", async () => {
			const s = await status();
			return s.incremental?.state === "running" && s.incremental.transactions > 0 ? s : undefined;
		});
		// replay refuses trigger DDL: it stops with a ticket
		await src.query(`CREATE TRIGGER ${q("t_bi")} BEFORE INSERT ON ${q("t")} FOR EACH ROW SET NEW.v = NEW.v`);
		const stopped = await waitFor("the ticket on incremental", async () => {
			const s = await status();
			return s.ticket?.step === "incremental" ? s : undefined;
		});
		expect(stopped.incremental?.state).toBe("stopped");
		expect(stopped.incremental?.stateReason).toMatch(/ticket .* stopped replay/);
		await sleep(2500);
		const later = await status();
		expect(later.incremental?.latencySeconds).toBeGreaterThanOrEqual((stopped.incremental?.latencySeconds ?? 0) + 2);
		expect(later.incremental?.heartbeatAgeSeconds).toBeGreaterThanOrEqual(2);
		expect(later.incremental?.rowsPerSecond).toBe(0);

		await t.api.post(`/projects/${projectId}/ticket`, { decision: "skip" });
		const resumed = await waitFor("replay running again", async () => {
			const s = await status();
			return s.incremental?.state === "running" ? s : undefined;
		});
		expect(resumed.incremental?.transactions).toBeGreaterThanOrEqual(before.incremental?.transactions ?? 0);
		expect(resumed.incremental?.rows).toBeGreaterThanOrEqual(before.incremental?.rows ?? 0);
	}, 120_000);

	it("says a hung task is dead, and the switchover refuses to start on it; a stream ended at the switch is stopped", async () => {
		// (a minute at most, and the status it ended on is in the failure, rather than the test's own timeout)
		const before = await waitFor(
			"replay running and caught up, the switchover waiting",
			async () => {
				const s = await status();
				// the skip of the last test sent the incremental step back to running: it must have caught
				// up again (switch-check stays "running" from before, whatever incremental does)
				const caughtUp = stepState(s, "incremental") === "done" && s.incremental?.state === "running";
				return caughtUp && stepState(s, "switch-check") === "running" ? s : undefined;
			},
			60_000,
		).catch(async (err: Error) => {
			throw new Error(`${err.message}; the status: ${JSON.stringify(await status())}`);
		});
		const live = t.stack.tasks().filter((c) => c.exitCode === null && c.signalCode === null);
		expect(live.length).toBe(1);
		// a hung task (stopped, not dead): it keeps its lease, so no other task takes over at once,
		// as on a host Ferry cannot see into (a killed task of this host is replaced at once)
		for (const c of live) c.kill("SIGSTOP");
		const dead = await waitFor(
			"the status to say the stream is dead",
			async () => {
				const s = await status();
				return s.incremental?.state === "dead" ? s : undefined;
			},
			15_000,
		);
		expect(dead.incremental?.stateReason).toMatch(/no heartbeat for \d+ s/);
		await sleep(2000);
		const later = await status();
		if (later.incremental?.state === "dead") {
			expect(later.incremental.latencySeconds).toBeGreaterThan(dead.incremental?.latencySeconds ?? 0);
			expect(later.incremental.heartbeatAgeSeconds).toBeGreaterThan(dead.incremental?.heartbeatAgeSeconds ?? 0);
		}
		// requested once the stream is dead (a request racing the kill could meet the dying task's last
		// report); the check waits 3 s (not 60) for replay to run before its ticket, and a new task
		// cannot take over before the killed one's lease lapses
		process.env.FERRY_SWITCHOVER_REPLAY_WAIT_MS = "3000";
		await t.api.post(`/projects/${projectId}/switchover`, { maxLatencySeconds: 5 });
		const refused = await waitFor("the switchover check's ticket", async () => {
			const s = await status();
			if (stepState(s, "switch-check") === "done") throw new Error("the switchover started on a dead stream");
			return s.ticket ? s : undefined;
		});
		delete process.env.FERRY_SWITCHOVER_REPLAY_WAIT_MS;
		expect(refused.ticket?.step).toBe("switch-check");
		expect(refused.ticket?.message).toMatch(
			/forward replay (is (dead|restarting)|has not reported since the switchover was requested)/,
		);

		// killed for good, a new task takes over; the totals go on from where they were
		for (const c of live) c.kill("SIGKILL");
		const back = await waitFor(
			"a new task running, caught up",
			async () => {
				const s = await status();
				return s.incremental?.state === "running" && (s.incremental.latencySeconds ?? 99) <= 2 ? s : undefined;
			},
			90_000,
		);
		expect(back.incremental?.transactions).toBeGreaterThanOrEqual(before.incremental?.transactions ?? 0);
		await t.api.post(`/projects/${projectId}/ticket`, { decision: "retry" });
		await waitFor("the switchover to wait for writes to stop", async () => {
			const s = await status();
			if (s.ticket) throw new Error(`ticket: ${s.ticket.message}`);
			return stepState(s, "switch-check") === "done" ? s : undefined;
		});
		await t.api.post(`/projects/${projectId}/switchover/writes-stopped`);
		const done = await waitFor("the switch", async () => {
			const s = await status();
			if (s.ticket) throw new Error(`ticket: ${s.ticket.message}`);
			return s.state === "completed" ? s : undefined;
		});
		expect(done.incremental?.state).toBe("stopped");
		expect(done.incremental?.stateReason).toBe("forward replay ended at the switchover");
		expect((await compareDatabases(sourceCredentials, destinationCredentials, db)).identical).toBe(true);
	}, 180_000);
});
