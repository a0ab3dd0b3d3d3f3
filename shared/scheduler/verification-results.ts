import type { ChunkSpec } from "../chunking/plan.ts";
import type { Context } from "../context.ts";
import type { Connection } from "../db/connect.ts";
import { qualifiedName } from "../db/sql.ts";
import type { Project, VerificationRun, VerificationTotals } from "../model/project.ts";
import { listChunks } from "../state/chunks.ts";
import { verifyChunksPk } from "../state/keys.ts";
import type { Stored } from "../state/store.ts";
import { listTables, type TableItem } from "../state/tables.ts";
import { plannedTables, unreplicatedOf } from "../state/verification.ts";
import { correctionStatements, mirrored } from "../verify/correct.ts";
import { type RowDiff, recheckDifferences } from "../verify/diff.ts";
import { prepareTable } from "../verify/normalise.ts";

/**
 * A verification run's results, read from its chunk and plan items: per table, counted from the
 * run's truth side; and the correction statements for one table's differences.
 */

/** One table's verification result in a run. */
export interface TableResult {
	table: string;
	destination: string;
	rowsChecked: number;
	/** Rows the run's truth side has (`VerificationRun.truth`, the source unless switched over) and the other side lacks. */
	missing: number;
	/** Rows the other side has and the truth side lacks. */
	extra: number;
	different: number;
	/** Differences in the table itself: the table or a column at one end only. */
	schema: string[];
	/** Source names of the columns that differ in at least one row. */
	columns: string[];
	chunksDone: number;
	chunksTotal: number;
	/** Chunks waiting for replay to pass them before their differences are checked again. */
	chunksRechecking: number;
	/** Not every difference is listed (the counts are complete). */
	truncated: boolean;
}

export interface VerificationResults {
	run: VerificationRun;
	tables: TableResult[];
}

/** The tables a run covers, as resolved at precheck. */
export async function runTables(ctx: Context, project: Project, run: VerificationRun): Promise<Stored<TableItem>[]> {
	const tables = await listTables(ctx, project.id);
	return run.tables ? tables.filter((t) => run.tables?.includes(qualifiedName(t.mapping.source))) : tables;
}

export function tableDiffers(r: TableResult): boolean {
	return r.missing + r.extra + r.different + r.schema.length > 0;
}

export function totalsOf(tables: TableResult[]): VerificationTotals {
	const t = { rowsChecked: 0, missing: 0, extra: 0, different: 0, schema: 0, tablesDiffering: 0 };
	for (const r of tables) {
		t.rowsChecked += r.rowsChecked;
		t.missing += r.missing;
		t.extra += r.extra;
		t.different += r.different;
		t.schema += r.schema.length;
		if (tableDiffers(r)) t.tablesDiffering += 1;
	}
	return t;
}

export interface TableDiffs {
	table: Stored<TableItem>;
	result: TableResult;
	differences: RowDiff[];
	/** The chunk key (for corrections), or null for a table without one. */
	key: (ChunkSpec & { kind: "range" })["key"]["columns"] | null;
}

export async function tableDiffs(ctx: Context, project: Project, run: VerificationRun): Promise<TableDiffs[]> {
	const [tables, chunks, planned] = await Promise.all([
		runTables(ctx, project, run),
		listChunks(ctx, verifyChunksPk(project.id, run.run)),
		plannedTables(ctx, project.id, run.run),
	]);
	// counted from the truth side: with the destination as the truth, a row missing at the source is "missing"
	const fromDestination = run.truth === "destination";
	// grouped once: filtering every chunk for every table grew with tables x chunks
	const byTable = Map.groupBy(chunks, (c) => c.tableIndex);
	return tables.map((table) => {
		const mine = byTable.get(table.index) ?? [];
		const plan = planned.get(table.index);
		const result: TableResult = {
			table: qualifiedName(table.mapping.source),
			destination: qualifiedName(table.mapping.destination),
			rowsChecked: 0,
			missing: 0,
			extra: 0,
			different: 0,
			schema: plan?.schema ?? [],
			columns: [],
			chunksDone: 0,
			chunksTotal: plan?.chunks ?? mine.length,
			chunksRechecking: 0,
			truncated: false,
		};
		const differences: RowDiff[] = [];
		const columns = new Set<string>();
		let key: TableDiffs["key"] = null;
		for (const c of mine) {
			if (c.spec.kind === "range") key = c.spec.key.columns;
			if (c.state === "recheck") result.chunksRechecking += 1;
			if (c.state !== "done") continue;
			result.chunksDone += 1;
			result.rowsChecked += c.rows ?? 0;
			const v = c.verification;
			if (!v) continue;
			result.missing += fromDestination ? v.extra : v.missing;
			result.extra += fromDestination ? v.missing : v.extra;
			result.different += v.different;
			result.truncated ||= v.truncated;
			differences.push(...v.differences);
			for (const d of v.differences) for (const col of d.columns ?? []) columns.add(col);
		}
		result.columns = [...columns];
		return { table, result, differences, key };
	});
}

export async function results(ctx: Context, project: Project, run: VerificationRun): Promise<TableResult[]> {
	const [tables, unreplicated] = await Promise.all([
		tableDiffs(ctx, project, run),
		unreplicatedOf(ctx, project.id, run.run),
	]);
	const none = { rowsChecked: 0, missing: 0, extra: 0, different: 0, columns: [], chunksDone: 0, chunksTotal: 0 };
	return [
		...tables.map((t) => t.result),
		...(unreplicated ?? []).map((t) => ({ ...none, ...t, chunksRechecking: 0, truncated: false })),
	];
}

/** A difference as the run counts it: from its truth side (see TableResult). */
export function fromTruth(run: VerificationRun, d: RowDiff): RowDiff {
	if (run.truth !== "destination" || d.kind === "different") return d;
	return { ...d, kind: d.kind === "missing" ? "extra" : "missing" };
}

/**
 * Correction statements for one table's differences, from the truth side's data as it is now,
 * for the other side (`VerificationRun.truth`). The differences are checked again first, so
 * statements for a row that has become equal are not written, and running a correction twice
 * (after a crash) finds nothing left the second time.
 */
export async function tableCorrection(
	run: VerificationRun,
	source: Connection,
	destination: Connection,
	t: TableDiffs,
): Promise<string[]> {
	const prepared = await prepareTable(source, destination, t.table.mapping);
	const persisting = await recheckDifferences(source, destination, prepared, t.key, t.differences);
	if (run.truth !== "destination") return correctionStatements(source, destination, prepared, t.key, persisting);
	// the source's own columns outside the comparison keep their values: updated, never replaced
	const back = mirrored(prepared, t.key, persisting);
	return correctionStatements(destination, source, back.table, back.key, back.diffs, "update");
}

/** Where a run's corrections are applied: the side that is not its truth. */
export const corrected = <T>(run: VerificationRun, source: T, destination: T): T =>
	run.truth === "destination" ? source : destination;
