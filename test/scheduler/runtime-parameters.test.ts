import { describe, expect, it } from "vitest";
import { changeParameters } from "../../shared/control/parameters.ts";
import { topUp } from "../../shared/scheduler/chunks/lifecycle.ts";
import { verifyJob } from "../../shared/scheduler/chunks/verify.ts";
import { advanceProject } from "../../shared/scheduler/loop.ts";
import type { ChunkItem } from "../../shared/state/chunks.ts";
import { listEvents } from "../../shared/state/events.ts";
import { chunkSk, chunksPk, verifyChunksPk } from "../../shared/state/keys.ts";
import { getProject, updateProject } from "../../shared/state/projects.ts";
import { fakeContext } from "../support/fakes.ts";
import { seedCopy, seedProject } from "./support.ts";

/** Runtime parameters reach the chunk jobs on the scheduler's next tick, without a restart. */
describe("runtime parameters and the chunk jobs", () => {
	it("a raised parallelism queues more copy chunks on the next tick", async () => {
		const ctx = fakeContext();
		const p = await seedProject(ctx, ["full"], { parallelism: 1 });
		await updateProject(ctx, p.id, (x) => ({
			...x,
			steps: x.steps.map((s) =>
				s.name === "precheck" ? { ...s, state: "done" } : { ...s, state: "running", begun: true },
			),
		}));
		await seedCopy(ctx, p.id, [{}, {}, {}, {}, {}]);
		await advanceProject(ctx, p.id);
		expect(ctx.copyQueue.drain()).toHaveLength(1);
		await changeParameters(ctx, p.id, { parallelism: 3 });
		await advanceProject(ctx, p.id);
		// three in flight now: two more
		expect(ctx.copyQueue.drain()).toHaveLength(2);
		const [event] = await listEvents(ctx, p.id);
		expect(event).toMatchObject({
			kind: "settings-changed",
			details: { changes: { parallelism: { old: 1, new: 3 } } },
		});
	});

	it("a verification run keeps verifyConcurrency chunks in flight, parallelism when unset", async () => {
		const ctx = fakeContext();
		const p = await seedProject(ctx, ["full", "verification"], { parallelism: 4 });
		const table = { database: "shop", table: "orders" };
		for (let i = 0; i < 6; i++) {
			const item: ChunkItem = {
				tableIndex: 0,
				spec: { kind: "whole", index: i, source: table, destination: table, reason: "a test's chunk" },
				state: "pending",
				attempts: 0,
			};
			await ctx.store.create({ pk: verifyChunksPk(p.id, 1), sk: chunkSk(0, i) }, item);
		}
		await updateProject(ctx, p.id, (x) => ({
			...x,
			options: { ...x.options, verifyConcurrency: 2 },
			verification: { run: 1, state: "running", startedAt: new Date().toISOString() },
		}));
		const job = verifyJob(ctx, p.id, 1);
		expect(await topUp(ctx, await getProject(ctx, p.id), job)).toBe(2);
		await changeParameters(ctx, p.id, { verifyConcurrency: null });
		expect(await topUp(ctx, await getProject(ctx, p.id), job)).toBe(2);
		expect(ctx.verifyQueue.drain()).toHaveLength(4);
		// the copy's chunks are another job
		expect(await ctx.store.list(chunksPk(p.id))).toEqual([]);
	});
});
