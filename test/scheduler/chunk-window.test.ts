import { describe, expect, it } from "vitest";
import { copyJob } from "../../shared/scheduler/chunks/copy.ts";
import { fullProgress, tablesProgress } from "../../shared/scheduler/chunks/progress.ts";
import { doneTables, openWindow, readWindow } from "../../shared/scheduler/chunks/window.ts";
import { advanceProject } from "../../shared/scheduler/loop.ts";
import { runProgress } from "../../shared/scheduler/verification.ts";
import { type ChunkItem, listChunks } from "../../shared/state/chunks.ts";
import { chunkSk, chunksPk, verifyChunksPk } from "../../shared/state/keys.ts";
import { getFullProgress } from "../../shared/state/progress.ts";
import { getProject, updateProject } from "../../shared/state/projects.ts";
import type { QueryPage, Stored } from "../../shared/state/store.ts";
import { createTable, listTables } from "../../shared/state/tables.ts";
import { type FakeContext, fakeContext } from "../support/fakes.ts";
import { seedProject } from "./support.ts";

/**
 * The window a scheduler tick reads of a chunk job (scheduler/chunks/window.ts), against the
 * in-memory store: how many chunk items a tick reads, whatever the number of tables, and that
 * the totals it keeps equal those computed from every item.
 */

/** A copying project of `sizes.length` planned tables, table i cut into `sizes[i]` pending chunks. */
async function copying(ctx: FakeContext, sizes: number[], parallelism = 2) {
	const p = await seedProject(ctx, ["full"], { parallelism });
	await updateProject(ctx, p.id, (x) => ({
		...x,
		steps: x.steps.map((s) =>
			s.name === "precheck" ? { ...s, state: "done" } : { ...s, state: "running", begun: true },
		),
	}));
	for (const [index, chunks] of sizes.entries()) {
		const name = { database: "shop", table: `t${index}` };
		const mapping = { source: name, destination: name, columns: [{ source: "id", destination: "id" }] };
		// estimates off both ways, as information_schema's are
		await createTable(ctx, p.id, { index, mapping, rowsEstimate: index % 3 === 0 ? 5 : 50, planned: true, chunks });
		for (let i = 0; i < chunks; i++) {
			const spec = { kind: "whole" as const, index: i, source: name, destination: name, reason: "a test's chunk" };
			const item: ChunkItem = { tableIndex: index, spec, state: "pending", attempts: 0 };
			await ctx.store.create({ pk: chunksPk(p.id), sk: chunkSk(index, i) }, item);
		}
	}
	return p;
}

/** Counts the chunk items the store hands out (every read of a chunk partition). */
function countChunkReads(ctx: FakeContext): { items: number } {
	const counter = { items: 0 };
	const query = ctx.store.query.bind(ctx.store);
	ctx.store.query = async function* <T extends object>(pk: string, prefix?: string, page?: QueryPage) {
		for await (const item of query<T>(pk, prefix, page)) {
			if (pk.startsWith("CHUNKS#")) counter.items += 1;
			yield item;
		}
	} as typeof ctx.store.query;
	return counter;
}

/** Finishes a chunk as a worker would (with 10 rows), `n` of the first chunks not done yet in key order. */
async function finish(ctx: FakeContext, id: string, pick: (c: Stored<ChunkItem>) => boolean) {
	for (const c of await listChunks(ctx, chunksPk(id))) {
		if (c.state !== "done" && pick(c))
			await ctx.store.replace(c, { ...c, state: "done", rows: 10, bytes: 100 }, c.version);
	}
}

/** The totals computed the old way, from every table and chunk item. */
async function bruteForce(ctx: FakeContext, id: string) {
	return fullProgress(tablesProgress(await listTables(ctx, id), await listChunks(ctx, chunksPk(id))));
}

describe("a chunk job's window", () => {
	it("reads a bounded number of chunk items per tick however many tables there are", async () => {
		for (const tables of [50, 500]) {
			const ctx = fakeContext();
			const p = await copying(ctx, Array(tables).fill(1), 2);
			await advanceProject(ctx, p.id); // plans: records the job's size
			const reads = countChunkReads(ctx);
			await advanceProject(ctx, p.id);
			// parallelism 2 + a margin of 32 untouched chunks, read in pages of 100
			expect(reads.items).toBeLessThanOrEqual(100);
			// the first 2/3 of the tables copied: the next tick starts past them
			await finish(ctx, p.id, (c) => c.tableIndex < (tables * 2) / 3);
			await advanceProject(ctx, p.id);
			reads.items = 0;
			await advanceProject(ctx, p.id);
			expect(reads.items).toBeLessThanOrEqual(100);
			const window = await readWindow(ctx, copyJob(ctx, p.id), await openWindow(ctx, copyJob(ctx, p.id)), 2);
			expect(window.chunks[0]?.tableIndex).toBe(Math.ceil((tables * 2) / 3));
		}
	});

	it("keeps the copy's totals equal to a count of every item, while chunks finish out of order", async () => {
		const ctx = fakeContext();
		// tables of 1 to 4 chunks
		const p = await copying(
			ctx,
			Array.from({ length: 40 }, (_, i) => 1 + (i % 4)),
			4,
		);
		let seed = 7;
		const random = () => {
			seed = (seed * 48271) % 2147483647;
			return seed / 2147483647;
		};
		for (let tick = 0; tick < 30; tick++) {
			await advanceProject(ctx, p.id);
			expect(await getFullProgress(ctx, p.id)).toMatchObject(await bruteForce(ctx, p.id));
			// workers finish some of the queued chunks, in any order; a few fail and wait for a retry
			for (const c of await listChunks(ctx, chunksPk(p.id))) {
				if (c.state !== "queued") continue;
				const r = random();
				if (r < 0.6) await ctx.store.replace(c, { ...c, state: "done", rows: 10, bytes: 100 }, c.version);
				else if (r < 0.7) {
					await ctx.store.replace(c, { ...c, state: "pending", attempts: 1, lastError: "cut", retryAt: 0 }, c.version);
				}
			}
		}
		// one chunk far ahead done out of order (nothing in Ferry does that): counted once the window reaches it
		await finish(ctx, p.id, (c) => c.tableIndex === 39);
		await advanceProject(ctx, p.id);
		await finish(ctx, p.id, () => true);
		const done = await advanceProject(ctx, p.id);
		expect(done.steps.find((s) => s.name === "full")?.state).toBe("done");
		const totals = await getFullProgress(ctx, p.id);
		expect(totals).toMatchObject(await bruteForce(ctx, p.id));
		expect(totals).toMatchObject({ allDone: true, tablesDone: 40, rowsCopied: 10 * 100 });
	});

	it("moves past a table only once all its chunks are done and read", async () => {
		const ctx = fakeContext();
		const p = await copying(ctx, [3, 2, 1], 2);
		await advanceProject(ctx, p.id);
		// table 0 all done, table 1 half: only table 0 joins the prefix
		await finish(ctx, p.id, (c) => c.tableIndex === 0 || c.sk === chunkSk(1, 0));
		const job = copyJob(ctx, p.id);
		const window = await readWindow(ctx, job, await openWindow(ctx, job), 2);
		expect(doneTables(window).map((g) => g.map((c) => c.sk))).toEqual([[chunkSk(0, 0), chunkSk(0, 1), chunkSk(0, 2)]]);
		await advanceProject(ctx, p.id);
		const next = await readWindow(ctx, job, await openWindow(ctx, job), 2);
		expect(next.cursor.doneThrough).toBe(chunkSk(0, 2));
		expect(next.cursor.done).toMatchObject({ tables: 1, chunks: 3, rows: 30 });
		expect(next.chunks.map((c) => c.sk)).toEqual([chunkSk(1, 0), chunkSk(1, 1), chunkSk(2, 0)]);
	});

	it("gives a verification run's progress (the metrics history's sample) from its window", async () => {
		const ctx = fakeContext();
		const p = await seedProject(ctx, ["full", "verification"]);
		await updateProject(ctx, p.id, (x) => ({ ...x, verification: { run: 1, state: "running", startedAt: "" } }));
		const name = { database: "shop", table: "orders" };
		for (let i = 0; i < 4; i++) {
			const spec = { kind: "whole" as const, index: i, source: name, destination: name, reason: "a test's chunk" };
			const item: ChunkItem = { tableIndex: i, spec, state: i < 1 ? "done" : "pending", attempts: 0, rows: 10 };
			await ctx.store.create({ pk: verifyChunksPk(p.id, 1), sk: chunkSk(i, 0) }, item);
		}
		expect(await runProgress(ctx, await getProject(ctx, p.id))).toEqual({ percent: 25, rowsChecked: 10 });
		await updateProject(ctx, p.id, (x) => ({ ...x, verification: { run: 1, state: "done", startedAt: "" } }));
		expect(await runProgress(ctx, await getProject(ctx, p.id))).toBeUndefined();
	});
});
