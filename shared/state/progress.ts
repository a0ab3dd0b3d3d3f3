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
