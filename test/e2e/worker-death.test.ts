import { describe, expect, it } from "vitest";
import { compareDatabases } from "../../cli/demo/compare.ts";
import { chunkWait } from "../../shared/scheduler/chunks/lease.ts";
import { chunkTimings } from "../../shared/scheduler/chunks/lifecycle.ts";
import type { ChunkItem } from "../../shared/state/chunks.ts";
import { createDatabase, destinationCredentials, sourceCredentials, uniqueDatabase } from "../support/databases.ts";
import { useTestStack, waitFor, waitForProject } from "../support/stack.ts";

/**
 * A copy worker that dies leaves its chunk leased until the lease ends (60 s): where Ferry knows
 * it died (local mode starts the workers), the chunk is released at once; everywhere the status
 * says what a chunk that is not done waits for.
 */
describe("a copy worker that dies", () => {
	const db = uniqueDatabase("worker_death");
	const rows = Array.from({ length: 4000 }, (_, i) => `(${i + 1}, 'row ${i}')`).join(",");
	const t = useTestStack({
		workers: 1,
		seed: () =>
			createDatabase(
				sourceCredentials,
				db,
				"CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))",
				`INSERT INTO t VALUES ${rows}`,
			),
		databases: [db],
	});

	it("has its chunk released at once in local mode, and the status says what the chunk waits for", async () => {
		// the default 60 s lease: the copy must not wait it out
		expect(chunkTimings().leaseMs).toBe(60_000);
		const projectId = await t.startProject({
			name: "worker death",
			types: ["schema", "full"],
			objects: [{ database: db }],
			// each chunk takes about 2 s
			options: { parallelism: 1, chunkRows: 1000, maxRowsPerSecond: 500 },
		});
		const working = await waitFor("a chunk being copied", async () => {
			const s = await t.status(projectId);
			const w = s.full?.tables[0]?.waiting.find((x) => /being worked on by worker \S+:\d+/.test(x));
			return w && (s.full?.tables[0]?.chunksDone ?? 0) >= 1 ? w : undefined;
		});
		const pid = Number(/:(\d+) \(/.exec(working)?.[1]);
		const victim = t.stack.workers().find((w) => w.pid === pid);
		expect(victim, `worker ${pid} among ${t.stack.workers().map((w) => w.pid)}`).toBeDefined();
		victim?.kill("SIGKILL");
		const killedAt = Date.now();

		const released = await waitFor(
			"the dead worker's chunk released",
			async () => {
				const s = await t.status(projectId);
				const e = s.full?.tables[0]?.errors.find((x) => x.includes(`copy worker ${pid} was killed (SIGKILL)`));
				return e ?? (s.state !== "running" ? "project stopped" : undefined);
			},
			15_000,
		);
		expect(released).toMatch(/released at once/);
		const done = await waitForProject(t.api, projectId, 60_000);
		expect(done.state, JSON.stringify(done.ticket)).toBe("completed");
		// well inside the 60 s the lease would have held the chunk
		expect(Date.now() - killedAt).toBeLessThan(40_000);
		expect((await compareDatabases(sourceCredentials, destinationCredentials, db)).identical).toBe(true);
	}, 120_000);

	it("the status says a lease that is not renewed may be a dead worker's, and when the chunk moves on", () => {
		const now = Date.now();
		const chunk: ChunkItem = {
			tableIndex: 0,
			spec: {} as ChunkItem["spec"],
			state: "leased",
			attempts: 1,
			owner: "lambda-host:8",
			// renewed 40 s ago, ends in 20 s
			deadline: now + 20_000,
		};
		expect(chunkWait(chunk, now)).toBe(
			"leased by worker lambda-host:8 (attempt 1/5), which has not renewed its lease for 40 s: if it died, the chunk is queued again when the lease ends in 20 s",
		);
		expect(chunkWait({ ...chunk, deadline: now + 55_000 }, now)).toBe(
			"being worked on by worker lambda-host:8 (attempt 1/5)",
		);
		expect(
			chunkWait({ ...chunk, state: "pending", deadline: undefined, retryAt: now + 4_000, lastError: "boom" }, now),
		).toBe("waiting 4 s before attempt 2/5 (last: boom)");
		expect(chunkWait({ ...chunk, state: "pending", deadline: undefined, retryAt: undefined }, now)).toBeUndefined();
	});
});
