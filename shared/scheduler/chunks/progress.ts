import { qualifiedName } from "../../db/sql.ts";
import { metrics } from "../../observability.ts";
import type { ChunkItem } from "../../state/chunks.ts";
import type { FullProgress, WindowCursor } from "../../state/progress.ts";
import type { TableItem } from "../../state/tables.ts";
import { chunkWait } from "./lease.ts";
import { MAX_ATTEMPTS } from "./lifecycle.ts";

/**
 * Publishes a chunk job's progress, the share of its chunks done, with the project's dimension:
 * in AWS the metrics history reads it back (metrics/cloudwatch-history.ts). The scheduler calls
 * this on its tick (each minute in AWS), which is the metric's resolution.
 */
export function publishProgress(
	projectId: string,
	metric: "CopyProgressPercent" | "VerificationProgressPercent",
	done: number,
	total: number,
): void {
	const m = metrics.singleMetric();
	m.addDimension("project", projectId);
	m.addMetric(metric, "Percent", total === 0 ? 0 : Math.floor((done / total) * 100));
}

export interface TableProgress {
	source: string;
	destination: string;
	rowsCopied: number;
	bytesCopied: number;
	rowsEstimate: number;
	chunksDone: number;
	chunksTotal: number;
	planned: boolean;
	errors: string[];
	/** What its chunks that are not done wait for, beyond their turn (scheduler/chunks/lease.ts `chunkWait`); the first few. */
	waiting: string[];
}

const MAX_WAITING_SHOWN = 5;

/** Each table's copy progress from its chunks (any subset of the tables, with at least their chunks). */
export function tablesProgress(
	tables: readonly TableItem[],
	chunks: readonly (ChunkItem & { sk: string })[],
): TableProgress[] {
	const byTable = new Map<number, TableProgress>(
		tables.map((t) => [
			t.index,
			{
				source: qualifiedName(t.mapping.source),
				destination: qualifiedName(t.mapping.destination),
				rowsCopied: 0,
				bytesCopied: 0,
				rowsEstimate: t.rowsEstimate,
				chunksDone: 0,
				chunksTotal: t.chunks,
				planned: t.planned,
				errors: [],
				waiting: [],
			},
		]),
	);
	for (const c of chunks) {
		const t = byTable.get(c.tableIndex);
		if (!t) continue;
		if (c.state === "done") {
			t.chunksDone += 1;
			t.rowsCopied += c.rows ?? 0;
			t.bytesCopied += c.bytes ?? 0;
		} else {
			if (c.lastError) t.errors.push(`chunk ${c.sk} (attempt ${c.attempts}/${MAX_ATTEMPTS}): ${c.lastError}`);
			const wait = chunkWait(c);
			if (wait && t.waiting.length < MAX_WAITING_SHOWN) t.waiting.push(`chunk ${c.sk}: ${wait}`);
		}
	}
	return [...byTable.values()];
}

const tableDone = (t: TableProgress) => t.planned && t.chunksDone === t.chunksTotal;

/** The whole copy's totals from every table's progress: what the scheduler keeps in one item (state/progress.ts). */
export function fullProgress(tables: readonly TableProgress[]): FullProgress {
	return {
		rowsCopied: tables.reduce((n, t) => n + t.rowsCopied, 0),
		bytesCopied: tables.reduce((n, t) => n + t.bytesCopied, 0),
		rowsEstimate: tables.reduce((n, t) => n + Math.max(t.rowsEstimate, t.rowsCopied), 0),
		tablesDone: tables.filter(tableDone).length,
		tablesTotal: tables.length,
		allDone: tables.every(tableDone),
	};
}

/**
 * The copy's totals from a tick's window (window.ts): the done prefix's sums, the progress of the
 * tables the window holds, and the job's size for the tables past it, which are untouched (no
 * row copied, so each counts its estimate). Before the job is fully planned the window is
 * every chunk read, with no prefix: its tables are the totals.
 */
export function copyTotals(cursor: WindowCursor, window: readonly TableProgress[]): FullProgress {
	const w = fullProgress(window);
	const planned = cursor.planned;
	if (!planned) return w;
	const { done } = cursor;
	const untouched = planned.estimates - done.estimates - window.reduce((n, t) => n + t.rowsEstimate, 0);
	const tablesDone = done.tables + w.tablesDone;
	return {
		rowsCopied: done.rows + w.rowsCopied,
		bytesCopied: done.bytes + w.bytesCopied,
		rowsEstimate: done.rowsEstimate + w.rowsEstimate + Math.max(0, untouched),
		tablesDone,
		tablesTotal: planned.tables,
		allDone: tablesDone === planned.tables,
	};
}
