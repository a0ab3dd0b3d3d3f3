import type { ChunkItem } from "../../state/chunks.ts";
import {
	getWindowCursor,
	type PlannedJob,
	type PrefixSums,
	saveWindowCursor,
	type WindowCursor,
} from "../../state/progress.ts";
import type { HasStore, Stored } from "../../state/store.ts";

/**
 * The part of a chunk job a scheduler tick reads. Chunks are planned, queued and finished in
 * roughly sort-key order (`topUp` and a worker's `topUpAfter` always queue the first chunks that
 * may run), so a job looks like
 *
 *   [ done prefix | window: queued, leased, failed, done ... | untouched: pending, never tried ]
 *
 * The done prefix, whole tables whose every chunk is done, is summed once into the job's cursor
 * item (state/progress.ts) and never read again; the untouched rest is read only as far as the
 * next top-up needs. Reading every chunk on every tick made a 2,000-table copy read each chunk
 * item hundreds of times (bench/results/many-tables-*.md).
 *
 * A chunk touched out of order past the untouched stretch read (none of Ferry's transitions make
 * one) would only be seen late, once the window reaches it: nothing is skipped for good.
 */

/** A job with a window: its chunk partition and its cursor item. */
export interface WindowedJob {
	pk: string;
	windowKey: { pk: string; sk: string };
}

/**
 * Untouched chunks read beyond the concurrency the next top-up may fill: a margin, not a need.
 * Reads are pages of `concurrency + SLACK` items, so a window of chunks under way and a stretch
 * of untouched ones costs a page or two (DynamoDB bills a page whole, however much is used).
 */
const SLACK = 32;

/** A job's cursor as this tick read it, and whether the tick planned the job's last table. */
export interface WindowStart {
	cursor: WindowCursor;
	/** The cursor item's version as read (undefined: not written yet). */
	version?: number;
	/** `cursor.planned` was set by this tick: the cursor is saved even if no table joins the prefix. */
	plannedNow?: boolean;
}

export interface JobWindow extends WindowStart {
	/** The chunks past the done prefix, in sort-key order, up to the untouched stretch read. */
	chunks: Stored<ChunkItem>[];
	/** Whether the read reached the job's last chunk. */
	complete: boolean;
}

export const openWindow = (ctx: HasStore, job: WindowedJob): Promise<WindowStart> =>
	getWindowCursor(ctx, job.windowKey);

/** Records that every table of the job is planned, and the job's size. */
export function setPlanned(start: WindowStart, planned: PlannedJob): void {
	start.cursor = { ...start.cursor, planned };
	start.plannedNow = true;
}

/** Pending and never tried: what every chunk is when planned. */
const untouched = (c: ChunkItem) =>
	c.state === "pending" && c.attempts === 0 && !c.lastError && !c.verification && c.retryAt === undefined;

/**
 * Reads a job's window: from past the done prefix, stopping after `concurrency` + a margin of
 * untouched chunks in a row once the job is fully planned (before, it reads to the end).
 */
export async function readWindow(
	ctx: HasStore,
	job: WindowedJob,
	start: WindowStart,
	concurrency: number,
): Promise<JobWindow> {
	const { cursor } = start;
	const chunks: Stored<ChunkItem>[] = [];
	const after = cursor.doneThrough === "" ? undefined : cursor.doneThrough;
	let run = 0;
	for await (const c of ctx.store.query<ChunkItem>(job.pk, "", { after, pageSize: concurrency + SLACK })) {
		chunks.push(c);
		run = untouched(c) ? run + 1 : 0;
		if (cursor.planned && run >= concurrency + SLACK) return { ...start, chunks, complete: false };
	}
	return { ...start, chunks, complete: true };
}

/**
 * The window's leading tables whose chunks are all done and all read (another table's chunk
 * follows them, or the job ends there): they can join the prefix. Only once the job is fully
 * planned, since a table planned half-way would get more chunks after it joined.
 */
export function doneTables(window: JobWindow): Stored<ChunkItem>[][] {
	if (!window.cursor.planned) return [];
	const out: Stored<ChunkItem>[][] = [];
	const { chunks } = window;
	let i = 0;
	while (i < chunks.length) {
		const table = (chunks[i] as ChunkItem).tableIndex;
		let j = i;
		while (j < chunks.length && (chunks[j] as ChunkItem).tableIndex === table) j += 1;
		const closed = j < chunks.length || window.complete;
		const group = chunks.slice(i, j);
		if (!closed || !group.every((c) => c.state === "done")) break;
		out.push(group);
		i = j;
	}
	return out;
}

/** The sums of some chunks, as the prefix keeps them (the estimates are the caller's: copy only). */
export function sumsOf(tables: readonly (readonly ChunkItem[])[], estimates = 0, rowsEstimate = 0): PrefixSums {
	const chunks = tables.flat();
	return {
		tables: tables.length,
		chunks: chunks.length,
		rows: chunks.reduce((n, c) => n + (c.rows ?? 0), 0),
		bytes: chunks.reduce((n, c) => n + (c.bytes ?? 0), 0),
		estimates,
		rowsEstimate,
	};
}

export function addSums(a: PrefixSums, b: PrefixSums): PrefixSums {
	return {
		tables: a.tables + b.tables,
		chunks: a.chunks + b.chunks,
		rows: a.rows + b.rows,
		bytes: a.bytes + b.bytes,
		estimates: a.estimates + b.estimates,
		rowsEstimate: a.rowsEstimate + b.rowsEstimate,
	};
}

/** Chunks done so far: the prefix's and the window's. */
export function chunksDone(window: JobWindow): number {
	return window.cursor.done.chunks + window.chunks.filter((c) => c.state === "done").length;
}

/** Rows of the chunks done so far (copied, or checked). */
export function rowsDone(window: JobWindow): number {
	return window.chunks.reduce((n, c) => n + (c.state === "done" ? (c.rows ?? 0) : 0), window.cursor.done.rows);
}

/** The job's chunk count: known once planned, else what was read (the whole job, then). */
export function chunksTotal(window: JobWindow): number {
	return window.cursor.planned?.chunks ?? window.cursor.done.chunks + window.chunks.length;
}

/** Every chunk of a fully planned job is done. */
export function windowDone(window: JobWindow): boolean {
	return window.cursor.planned !== undefined && window.complete && window.chunks.every((c) => c.state === "done");
}

/**
 * Saves the cursor when the tick planned the job's last table or tables joined the prefix
 * (`joining`, whose sums are `sums`): the window's chunks after them are the next tick's start.
 */
export async function moveWindow(
	ctx: HasStore,
	job: WindowedJob,
	window: JobWindow,
	joining: readonly Stored<ChunkItem>[][],
	sums: PrefixSums,
): Promise<void> {
	const last = joining.at(-1)?.at(-1);
	if (!last && !window.plannedNow) return;
	const next: WindowCursor = {
		...window.cursor,
		doneThrough: last ? last.sk : window.cursor.doneThrough,
		done: last ? addSums(window.cursor.done, sums) : window.cursor.done,
	};
	await saveWindowCursor(ctx, job.windowKey, window, next);
}
