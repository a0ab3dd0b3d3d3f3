import { describe, expect, it } from "vitest";
import { actOnProject, resolveTicket } from "../../shared/control/projects.ts";
import { SYSTEM } from "../../shared/model/actor.ts";
import { ChunkMessage } from "../../shared/model/chunk-message.ts";
import { copyJob } from "../../shared/scheduler/chunks/copy.ts";
import { releaseLeasesOf } from "../../shared/scheduler/chunks/lease.ts";
import { failed, MAX_ATTEMPTS, topUpAfter, workerId } from "../../shared/scheduler/chunks/lifecycle.ts";
import { runChunk } from "../../shared/scheduler/chunks/worker.ts";
import { advanceProject } from "../../shared/scheduler/loop.ts";
import { type ChunkItem, listChunks } from "../../shared/state/chunks.ts";
import { chunkSk, chunksPk } from "../../shared/state/keys.ts";
import { getProject, updateProject } from "../../shared/state/projects.ts";
import { fakeContext } from "../support/fakes.ts";
import { seedCopy, seedProject } from "./support.ts";

/**
 * The chunk job lifecycle (scheduler/chunks/) through the `full` step and the worker's entry,
 * against in-memory fakes: what is queued, re-queued, released and reported. Copying itself
 * needs the servers (test/e2e).
 */

/** A project whose precheck is done, its one table planned into chunks in the states given. */
async function copying(ctx: ReturnType<typeof fakeContext>, chunks: Partial<ChunkItem>[], parallelism = 2) {
	const p = await seedProject(ctx, ["full"], { parallelism });
	await updateProject(ctx, p.id, (x) => ({
		...x,
		// the full step has begun: planning is over
		steps: x.steps.map((s) =>
			s.name === "precheck" ? { ...s, state: "done" } : { ...s, state: "running", begun: true },
		),
	}));
	await seedCopy(ctx, p.id, chunks);
	return p;
}

const states = async (ctx: ReturnType<typeof fakeContext>, id: string) =>
	(await listChunks(ctx, chunksPk(id))).map((c) => c.state);

describe("the chunk job lifecycle", () => {
	it("keeps `parallelism` chunks queued and completes the step when every chunk is done", async () => {
		const ctx = fakeContext();
		const p = await copying(ctx, [{}, {}, {}, { state: "done" }], 2);
		await advanceProject(ctx, p.id);
		expect(await states(ctx, p.id)).toEqual(["queued", "queued", "pending", "done"]);
		expect(ctx.copyQueue.drain().map((m) => m.sk)).toEqual(["000000#000000000", "000000#000000001"]);
		// a second tick sends nothing more: both are still in flight
		await advanceProject(ctx, p.id);
		expect(ctx.copyQueue.sent).toEqual([]);
		for (const c of await listChunks(ctx, chunksPk(p.id))) {
			await ctx.store.replace(c, { ...c, state: "done" }, c.version);
		}
		expect((await advanceProject(ctx, p.id)).state).toBe("completed");
	});

	it("queues again a chunk whose lease expired (a killed worker) or whose message was lost", async () => {
		const ctx = fakeContext();
		const past = Date.now() - 1000;
		const p = await copying(ctx, [
			{ state: "leased", deadline: past, attempts: 1, owner: "gone:1" },
			{ state: "queued", deadline: past },
			{ state: "leased", deadline: Date.now() + 60_000, attempts: 1, owner: "alive:2" },
		]);
		await advanceProject(ctx, p.id);
		// room for one (parallelism 2, one live lease): the first expired one goes
		expect(await states(ctx, p.id)).toEqual(["queued", "queued", "leased"]);
		expect(ctx.copyQueue.drain().map((m) => m.sk)).toEqual(["000000#000000000"]);
	});

	it("opens a ticket naming the table and the last error once a chunk is past its retry budget; retry gives it a new one", async () => {
		const ctx = fakeContext();
		const p = await copying(ctx, [{ attempts: MAX_ATTEMPTS, lastError: "Lock wait timeout exceeded" }, {}]);
		const failed = await advanceProject(ctx, p.id);
		expect(failed.state).toBe("failed");
		expect(failed.ticket?.message).toBe(
			`copying shop.orders failed ${MAX_ATTEMPTS} times, last with: Lock wait timeout exceeded`,
		);
		// no chunk was copied: skipping would leave nothing migrated
		await expect(resolveTicket(ctx, p.id, "skip", SYSTEM)).rejects.toMatchObject({ code: "CANNOT_SKIP" });
		await resolveTicket(ctx, p.id, "retry", SYSTEM);
		await advanceProject(ctx, p.id);
		const [first] = await listChunks(ctx, chunksPk(p.id));
		expect(first).toMatchObject({ attempts: 0, state: "queued" });
		expect((await getProject(ctx, p.id)).state).toBe("running");
	});

	it("puts a chunk back without using an attempt when its project was paused before a worker took it", async () => {
		const ctx = fakeContext();
		const p = await copying(ctx, [{}]);
		await advanceProject(ctx, p.id);
		const [message] = ctx.copyQueue.drain();
		await actOnProject(ctx, p.id, "pause");
		expect(await runChunk(ctx, ChunkMessage.parse(message))).toBe("skipped");
		const [chunk] = await listChunks(ctx, chunksPk(p.id));
		expect(chunk).toMatchObject({ state: "pending", attempts: 0 });
		// on resume the scheduler queues it again
		await actOnProject(ctx, p.id, "resume");
		await advanceProject(ctx, p.id);
		expect(ctx.copyQueue.drain()).toHaveLength(1);
	});

	it("refuses a chunk another worker holds, and releases at once the leases of a worker known dead", async () => {
		const ctx = fakeContext();
		const p = await copying(ctx, [
			{ state: "leased", deadline: Date.now() + 60_000, attempts: 1, owner: workerId(4242) },
			{ state: "leased", deadline: Date.now() + 60_000, attempts: 1, owner: workerId(4343) },
		]);
		const message = copyJob(ctx, p.id).message("000000#000000000");
		await expect(runChunk(ctx, message)).rejects.toThrow("is being worked on by another worker");
		expect(await releaseLeasesOf(ctx, 4242, "worker 4242 exited")).toBe(1);
		const [released, other] = await listChunks(ctx, chunksPk(p.id));
		expect(released).toMatchObject({ state: "pending", lastError: "worker 4242 exited", owner: undefined });
		expect(other?.state).toBe("leased");
	});
});

describe("a worker's top-up (one chunk out, one in)", () => {
	it("queues the next pending chunk after the one it finished, reading a few items whatever the job's size", async () => {
		const ctx = fakeContext();
		const future = Date.now() + 60_000;
		// 2,000 chunks done, the one just finished, three others in flight, then 1,000 pending
		const done = Array.from({ length: 2000 }, () => ({ state: "done" as const }));
		const inFlight = Array.from({ length: 3 }, () => ({ state: "leased" as const, deadline: future, attempts: 1 }));
		const pending = Array.from({ length: 1000 }, () => ({}));
		const p = await copying(ctx, [...done, { state: "done" }, ...inFlight, ...pending], 4);
		const job = copyJob(ctx, p.id);
		ctx.store.itemsRead = 0;
		expect(await topUpAfter(ctx, p, job, chunkSk(0, 2000))).toBe(1);
		expect(ctx.copyQueue.drain().map((m) => m.sk)).toEqual([chunkSk(0, 2004)]);
		// one page of its successors, not the job's 3,004 chunks
		expect(ctx.store.itemsRead).toBeLessThanOrEqual(16);
	});

	it("queues nothing while the job's places are all held after it (a lowered parallelism applies)", async () => {
		const ctx = fakeContext();
		const future = Date.now() + 60_000;
		const leased = { state: "leased" as const, deadline: future, attempts: 1 };
		const p = await copying(ctx, [{ state: "done" }, leased, leased, {}, {}], 2);
		expect(await topUpAfter(ctx, p, copyJob(ctx, p.id), chunkSk(0, 0))).toBe(0);
		expect(ctx.copyQueue.sent).toEqual([]);
		expect(await states(ctx, p.id)).toEqual(["done", "leased", "leased", "pending", "pending"]);
	});
});

describe("a failed attempt", () => {
	const leased = (over: Partial<ChunkItem> = {}): ChunkItem => ({
		tableIndex: 0,
		spec: {
			kind: "whole",
			index: 0,
			source: { database: "d", table: "t" },
			destination: { database: "d", table: "t" },
			reason: "test",
		},
		state: "leased",
		attempts: 1,
		...over,
	});

	it("counts, unless the network alone failed; an outage longer than the network's grace counts again", () => {
		const now = 1_000_000;
		expect(failed(leased({ attempts: 2 }), "syntax error", now)).toMatchObject({ attempts: 2, state: "pending" });
		// a cut: the attempt is given back, and the outage's start kept across attempts
		const first = failed(leased({ attempts: 2 }), "ECONNRESET", now, true);
		expect(first).toMatchObject({ attempts: 1, networkSince: now, lastError: "ECONNRESET" });
		const again = failed({ ...first, state: "leased", attempts: 2 }, "ECONNREFUSED", now + 60_000, true);
		expect(again).toMatchObject({ attempts: 1, networkSince: now });
		// past the grace (5 minutes by default) it counts, as a step's network retries end in a ticket
		const late = failed({ ...again, state: "leased", attempts: 2 }, "ECONNREFUSED", now + 6 * 60_000, true);
		expect(late).toMatchObject({ attempts: 2, networkSince: now });
		// a failure of another kind ends the outage
		expect(failed({ ...late, state: "leased", attempts: 3 }, "Duplicate entry", now).networkSince).toBeUndefined();
	});
});

describe("queue messages", () => {
	it("are parsed by their schema: an unknown field or a missing key is refused, not cast", () => {
		expect(ChunkMessage.parse({ projectId: "pr-1", sk: "000000#000000001", verifyRun: 2 })).toEqual({
			projectId: "pr-1",
			sk: "000000#000000001",
			verifyRun: 2,
		});
		expect(() => ChunkMessage.parse({ projectId: "pr-1" })).toThrow();
		expect(() => ChunkMessage.parse({ projectId: "pr-1", sk: "x", extra: 1 })).toThrow();
		expect(() => ChunkMessage.parse({ projectId: "pr-1", sk: "x", verifyRun: "2" })).toThrow();
	});
});
