import { progressKey } from "./keys.ts";
import { type HasStore, ignoreConflict } from "./store.ts";

/**
 * A project's copy progress in one item, summed by the scheduler from every chunk on its tick
 * (it reads them all then anyway), so that a status call of one page of tables need not read
 * every table and chunk item to give the totals (decisions/2026-12-06-many-tables.md).
 */
export interface FullProgress {
	rowsCopied: number;
	bytesCopied: number;
	/** The tables' row estimates, each at least the rows copied of it. */
	rowsEstimate: number;
	tablesDone: number;
	tablesTotal: number;
	/** Every table planned and every chunk done. */
	allDone: boolean;
}

export async function getFullProgress(ctx: HasStore, projectId: string): Promise<FullProgress | undefined> {
	return ctx.store.get<FullProgress>(progressKey(projectId));
}

/** Writes the summary when it changed (a tick that copied nothing writes nothing). */
export async function saveFullProgress(ctx: HasStore, projectId: string, next: FullProgress): Promise<void> {
	const key = progressKey(projectId);
	const current = await ctx.store.get<FullProgress>(key);
	if (!current) {
		await ctx.store.create(key, next).catch(ignoreConflict);
		return;
	}
	const same = (Object.keys(next) as (keyof FullProgress)[]).every((k) => current[k] === next[k]);
	if (!same) await ctx.store.replace(key, next, current.version).catch(ignoreConflict);
}

/** What a chunk job's done prefix holds, summed once as it grows (scheduler/chunks/window.ts). */
export interface PrefixSums {
	tables: number;
	chunks: number;
	rows: number;
	bytes: number;
	/** Copy only: the sum over its tables of their row estimates, and of max(estimate, rows copied). */
	estimates: number;
	rowsEstimate: number;
}

/**
 * Where a chunk job's window starts: every chunk up to `doneThrough` is done, and what those
 * chunks hold is in `done`, so that a scheduler tick never reads them again.
 */
export interface WindowCursor {
	/** The sort key of the done prefix's last chunk; "" before any. */
	doneThrough: string;
	done: PrefixSums;
	/** Set once every table of the job is planned: the job's size, so its untouched rest need not be read. */
	planned?: PlannedJob;
}

/** A job's size once every table is planned (estimates: the sum of the tables' row estimates, copy only). */
export interface PlannedJob {
	tables: number;
	chunks: number;
	estimates: number;
}

export const EMPTY_PREFIX: PrefixSums = { tables: 0, chunks: 0, rows: 0, bytes: 0, estimates: 0, rowsEstimate: 0 };

/** A job's cursor as stored (with its version), or a fresh one. */
export async function getWindowCursor(
	ctx: HasStore,
	key: { pk: string; sk: string },
): Promise<{ cursor: WindowCursor; version?: number }> {
	const stored = await ctx.store.get<WindowCursor>(key);
	if (!stored) return { cursor: { doneThrough: "", done: EMPTY_PREFIX } };
	const { pk: _pk, sk: _sk, version, ...cursor } = stored;
	return { cursor, version };
}

/** Writes the cursor on the version read; another scheduler that moved it first wins (the next tick reads theirs). */
export async function saveWindowCursor(
	ctx: HasStore,
	key: { pk: string; sk: string },
	read: { version?: number },
	next: WindowCursor,
): Promise<void> {
	const write = read.version === undefined ? ctx.store.create(key, next) : ctx.store.replace(key, next, read.version);
	await write.catch(ignoreConflict);
}
