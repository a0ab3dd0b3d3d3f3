import { hostname } from "node:os";
import type { ChunkSpec } from "../../chunking/plan.ts";
import type { Context } from "../../context.ts";
import { type Connection, networkRetryMs } from "../../db/connect.ts";
import type { ChunkMessage } from "../../model/chunk-message.ts";
import type { Project } from "../../model/project.ts";
import type { TableMapping } from "../../model/rules.ts";
import type { MessageQueue } from "../../ports.ts";
import { type ChunkItem, createChunk, listChunks } from "../../state/chunks.ts";
import { ConflictError, type HasStore, ignoreConflict, type Stored, update } from "../../state/store.ts";
import { markPlanned, type TableItem } from "../../state/tables.ts";

/**
 * One chunk job lifecycle, for both kinds (a project's copy, `copy.ts`; a verification run,
 * `verify.ts`):
 *
 *   plan:   each table into pending chunk items, resumably (`planTable`)
 *   queue:  keep up to `parallelism` chunks queued or leased (`topUp`), by the scheduler's tick
 *           and by every worker that finishes one
 *   lease:  a worker takes a queued chunk (`take`), heartbeats while it works (lease.ts), and
 *   finish: records the outcome: done, recheck (verify), or back to pending with a pause and
 *           its error; a pause or release puts it back without counting the attempt
 *   recheck: a verify chunk with differences under replay waits until replay passed them
 *   stuck:  a queued or leased chunk whose deadline passed is queued again (a lost message, a
 *           killed worker); one that failed MAX_ATTEMPTS times stops the job with a ticket
 *           (`stuck`), and a retry gives it a fresh budget (`resetExhausted`).
 *
 * Copying or verifying a chunk twice is harmless, so every transition is a plain conditional
 * write and a lost race means someone else did it.
 */

/** A set of chunks fed through one queue: a project's copy, or one of its verification runs. */
export interface ChunkJob {
	/** The partition of its chunk items. */
	pk: string;
	/** Its cursor item: where the chunks a tick reads begin (window.ts). */
	windowKey: { pk: string; sk: string };
	queue: MessageQueue<ChunkMessage>;
	message(sk: string): ChunkMessage;
	/** Whether its chunks may run now (not paused, not stopped). */
	active(project: Project): boolean;
	/** How many of its chunks may be queued or leased at once (read on every top-up: a change applies at once). */
	concurrency(project: Project): number;
}

/**
 * What a worker does with a leased chunk of one kind, on the chunk's own connections: the
 * outcome to record on it. `signal` aborts when the lease is lost or the job stops.
 */
export type ChunkWork = (chunk: {
	ctx: Context;
	source: Connection;
	destination: Connection;
	table: TableItem;
	mapping: TableMapping;
	chunk: Stored<ChunkItem>;
	project: Project;
	signal: AbortSignal;
}) => Promise<(c: ChunkItem) => ChunkItem>;

/** Attempts after which a chunk stops the project with a ticket instead of being retried. */
export const MAX_ATTEMPTS = 5;

/**
 * How long a chunk's lease lasts without a heartbeat (a killed worker's chunk goes to another
 * worker after at most this long; workers renew it every third of it while they work), and how
 * long a queued chunk may wait for a worker before it is queued again (a message lost with a
 * killed worker). A duplicate message is harmless: the lease lets one worker take the chunk.
 * Read at each use so a test can shorten them.
 */
export function chunkTimings(): { leaseMs: number; queuedMs: number } {
	return {
		leaseMs: Number(process.env.FERRY_CHUNK_LEASE_MS ?? 60_000),
		queuedMs: Number(process.env.FERRY_CHUNK_QUEUED_MS ?? 120_000),
	};
}

/** This process as the holder of chunk leases: `<host>:<pid>`, which a parent process can name for its child. */
export function workerId(pid = process.pid): string {
	return `${hostname()}:${pid}`;
}

/**
 * Plans one table into the job's chunk items (pending), then marks the table planned (or the
 * caller's own marker, for a verification run). A crash half-way plans the table again: the
 * chunks already there are kept, the same specs come out in the same order.
 */
export async function planTable(
	ctx: HasStore,
	job: ChunkJob,
	tableIndex: number,
	specs: AsyncIterable<ChunkSpec>,
): Promise<number> {
	let count = 0;
	for await (const spec of specs) {
		await createChunk(ctx, job.pk, count, { tableIndex, spec, state: "pending", attempts: 0 });
		count += 1;
	}
	return count;
}

/** Plans a copy table and records it as planned, with its chunk count. */
export async function planCopyTable(
	ctx: HasStore,
	job: ChunkJob,
	table: Stored<TableItem>,
	specs: AsyncIterable<ChunkSpec>,
): Promise<number> {
	const chunks = await planTable(ctx, job, table.index, specs);
	await markPlanned(ctx, table, chunks);
	return chunks;
}

/**
 * Keeps up to the job's concurrency (`parallelism`, or `verifyConcurrency`) chunks queued or leased: the project's own concurrency
 * limit, whatever the number of workers. Called by the scheduler on its tick and by each worker
 * when it finishes a chunk, so the pipeline never waits for the next tick.
 */
export async function topUp(
	ctx: HasStore,
	project: Project,
	job: ChunkJob,
	now = Date.now(),
	/** The job's chunks, when the caller has just read them (the scheduler's step): not read twice per tick. */
	read?: readonly Stored<ChunkItem>[],
): Promise<number> {
	if (!job.active(project)) return 0;
	const chunks = read ?? (await listChunks(ctx, job.pk));
	const active = chunks.filter((c) => isActive(c, now)).length;
	const candidates = chunks.filter((c) => isCandidate(c, now));
	const room = job.concurrency(project) - active;
	const sent: ChunkMessage[] = [];
	for (const c of candidates.slice(0, Math.max(0, room))) {
		if (await queueChunk(ctx, c, now)) sent.push(job.message(c.sk));
	}
	await job.queue.send(sent);
	return sent.length;
}

/** Queued or leased, and its deadline not passed: it holds one of the job's places. */
const isActive = (c: ChunkItem, now: number) =>
	(c.state === "queued" || c.state === "leased") && (c.deadline ?? 0) > now && c.attempts < MAX_ATTEMPTS;

/** Pending and its retry pause over (or queued or leased and abandoned: its deadline passed), attempts left: it may be queued now. */
const isCandidate = (c: ChunkItem, now: number) =>
	c.attempts < MAX_ATTEMPTS &&
	c.state !== "done" &&
	c.state !== "recheck" &&
	(c.state === "pending" ? (c.retryAt ?? 0) : (c.deadline ?? 0)) <= now;

/** Marks a chunk queued; false when another scheduler or worker queued it first (nothing to do). */
async function queueChunk(ctx: HasStore, c: Stored<ChunkItem>, now: number): Promise<boolean> {
	try {
		await update<ChunkItem>(ctx.store, c, {
			state: "queued",
			deadline: now + chunkTimings().queuedMs,
			retryAt: undefined,
		});
		return true;
	} catch (err) {
		ignoreConflict(err);
		return false;
	}
}

/** Items a worker's top-up reads at a time: its successors are the next few chunks after its own. */
const WORKER_PAGE = 16;

/**
 * A worker's top-up after it finished chunk `sk`: one chunk out, one in. It queues the first
 * chunk after `sk` that may run, reading forward from `sk` a page at a time (chunks are planned
 * and queued in sort-key order, so the next pending one is a few items on), and stops without
 * queueing once it has seen `concurrency` chunks holding places. What this misses (a retry
 * before `sk`, a raised parallelism) the scheduler's `topUp` queues on its tick. Reading the
 * whole job here, as `topUp` does, made every finished chunk cost a read of every chunk: a
 * 2,000-table copy read millions of items (bench/results/many-tables-*.md).
 */
export async function topUpAfter(
	ctx: HasStore,
	project: Project,
	job: ChunkJob,
	sk: string,
	now = Date.now(),
): Promise<number> {
	if (!job.active(project)) return 0;
	const limit = job.concurrency(project);
	let active = 0;
	for await (const c of ctx.store.query<ChunkItem>(job.pk, "", { after: sk, pageSize: WORKER_PAGE })) {
		if (isActive(c, now)) {
			active += 1;
			if (active >= limit) return 0;
		} else if (isCandidate(c, now) && (await queueChunk(ctx, c, now))) {
			await job.queue.send([job.message(c.sk)]);
			return 1;
		}
	}
	return 0;
}

/** A chunk that ran out of attempts: the job cannot finish without a person. */
export function stuck(chunks: readonly ChunkItem[]): ChunkItem | undefined {
	return chunks.find((c) => c.state !== "done" && c.attempts >= MAX_ATTEMPTS);
}

/** After a ticket's retry: chunks that ran out of attempts get a fresh budget. */
export async function resetExhausted(ctx: HasStore, job: ChunkJob): Promise<void> {
	for (const c of await listChunks(ctx, job.pk)) {
		if (c.state !== "done" && c.attempts >= MAX_ATTEMPTS) {
			await update<ChunkItem>(ctx.store, c, { attempts: 0, deadline: undefined, retryAt: undefined }).catch(
				ignoreConflict,
			);
		}
	}
}

/** A chunk another worker holds right now: the message comes back later. */
export class ChunkBusyError extends Error {
	constructor(sk: string) {
		super(`chunk ${sk} is being worked on by another worker`);
		this.name = "ChunkBusyError";
	}
}

/**
 * Takes a queued chunk for this worker: leased until the lease's deadline, one more attempt.
 * Throws ChunkBusyError when another worker holds a live lease or wins the race.
 */
export async function take(ctx: HasStore, chunk: Stored<ChunkItem>, now: number): Promise<Stored<ChunkItem>> {
	if (chunk.state === "leased" && (chunk.deadline ?? 0) > now) throw new ChunkBusyError(chunk.sk);
	try {
		return await update<ChunkItem>(ctx.store, chunk, {
			state: "leased",
			deadline: now + chunkTimings().leaseMs,
			attempts: chunk.attempts + 1,
			owner: workerId(),
		});
	} catch (err) {
		if (err instanceof ConflictError) throw new ChunkBusyError(chunk.sk);
		throw err;
	}
}

/** A chunk whose job is not active (paused, released) goes back to pending; the scheduler queues it again on resume. */
export async function putBack(ctx: HasStore, chunk: Stored<ChunkItem>): Promise<void> {
	await update<ChunkItem>(ctx.store, chunk, { state: "pending", deadline: undefined }).catch(() => {});
}

/** How long a failed chunk waits before its next attempt, growing with the attempts. */
const RETRY_PAUSE_MS = 2_000;

/**
 * The outcome of a failed attempt: back to pending with a growing pause, so a later top-up
 * retries it. A failure of the network alone (`network`) does not use an attempt for the first
 * `networkRetryMs` of an outage (as a step's, loop.ts), so a cut of a minute does not exhaust the
 * chunk's five attempts and open a ticket.
 */
export function failed(c: ChunkItem, reason: string, now: number, network = false): ChunkItem {
	const networkSince = network ? (c.networkSince ?? now) : undefined;
	const spared = networkSince !== undefined && now - networkSince < networkRetryMs();
	return {
		...c,
		state: "pending",
		deadline: undefined,
		attempts: spared ? Math.max(0, c.attempts - 1) : c.attempts,
		retryAt: now + Math.max(1, c.attempts) * RETRY_PAUSE_MS,
		networkSince,
		owner: undefined,
		lastError: reason,
		sessions: undefined,
	};
}

/** The outcome of an attempt stopped by a pause or release: it does not count. */
export function abandoned(c: ChunkItem): ChunkItem {
	return { ...c, state: "pending", deadline: undefined, attempts: c.attempts - 1, sessions: undefined };
}

/** A recheck whose replay has passed what it saw goes back to pending, with a fresh budget. */
export async function requeueRecheck(ctx: HasStore, chunk: Stored<ChunkItem>): Promise<void> {
	await update<ChunkItem>(ctx.store, chunk, { state: "pending", attempts: 0 }).catch(ignoreConflict);
}
