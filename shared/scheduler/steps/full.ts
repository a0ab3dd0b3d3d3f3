import type { SourcePosition } from "../../binlog/position.ts";
import { copySnapshotTso, isTidb, sourcePositionNow } from "../../binlog/tso.ts";
import { planChunks } from "../../chunking/plan.ts";
import type { Context } from "../../context.ts";
import { connect } from "../../db/connect.ts";
import type { Project } from "../../model/project.ts";
import { type ChunkItem, listChunks } from "../../state/chunks.ts";
import { credentialsFor, withConnection } from "../../state/datasources.ts";
import { type PlannedJob, type PrefixSums, saveFullProgress } from "../../state/progress.ts";
import { updateProject } from "../../state/projects.ts";
import { listTables, type TableItem, tablesBetween } from "../../state/tables.ts";
import { boundStatements } from "../chunks/bound.ts";
import { copyJob } from "../chunks/copy.ts";
import { type ChunkJob, planCopyTable, resetExhausted, stuck, topUp } from "../chunks/lifecycle.ts";
import { copyTotals, publishProgress, tablesProgress } from "../chunks/progress.ts";
import { queryTimeout } from "../chunks/sessions.ts";
import {
	chunksDone,
	chunksTotal,
	doneTables,
	moveWindow,
	openWindow,
	readWindow,
	setPlanned,
	sumsOf,
	windowDone,
} from "../chunks/window.ts";
import type { Step } from "../step.ts";

/**
 * The full copy: plans every table into chunks (resumably), keeps the copy queue topped up, and
 * waits for the last chunk. With incremental migration it then records `safeUntil`, the source
 * position after which replay can be exact.
 */
export const full: Step = {
	name: "full",
	appliesTo: (types) => types.includes("full"),
	async cannotSkip(ctx, p) {
		if ((await listChunks(ctx, copyJob(ctx, p.id).pk)).some((c) => c.state === "done")) return undefined;
		return "no chunk has been copied yet, so skipping it would leave nothing migrated; fix the cause and retry";
	},
	// after a ticket's retry, chunks that ran out of attempts get a fresh set
	begin: (ctx, project) => resetExhausted(ctx, copyJob(ctx, project.id)),
	async run(ctx, project) {
		const job = copyJob(ctx, project.id);
		const start = await openWindow(ctx, job);
		if (!start.cursor.planned) setPlanned(start, await planAll(ctx, project, job));
		const window = await readWindow(ctx, job, start, project.options.parallelism);
		const chunks = window.chunks;
		const first = chunks[0];
		const last = chunks.at(-1);
		const tables = first && last ? await tablesBetween(ctx, project.id, first.tableIndex, last.tableIndex) : [];
		const progress = tablesProgress(tables, chunks);
		publishProgress(project.id, "CopyProgressPercent", chunksDone(window), chunksTotal(window));
		// the totals a status page gives without reading every item (control/status.ts)
		await saveFullProgress(ctx, project.id, copyTotals(window.cursor, progress));
		const joining = doneTables(window);
		await moveWindow(ctx, job, window, joining, joiningSums(tables, joining));
		const failing = stuck(chunks);
		if (failing) {
			const t = tables.find((x) => x.index === failing.tableIndex);
			const name = t ? `${t.mapping.source.database}.${t.mapping.source.table}` : `table #${failing.tableIndex}`;
			const why =
				failing.lastError ?? "no error recorded: the worker stopped while copying (see the copy worker's log)";
			throw new Error(`copying ${name} failed ${failing.attempts} times, last with: ${why}`);
		}
		if (windowDone(window)) {
			if (project.types.includes("incremental") && !project.incremental?.safeUntil) {
				// every chunk's snapshot was read before this position: after it, replay can be exact
				const safeUntil = await withConnection(ctx, project.sourceId, async (c) =>
					// chunks read as of the start TSO (TiDB fed by TiCDC): exact from the start
					copySnapshotTso(project) && (await isTidb(c))
						? (project.incremental?.startPosition as SourcePosition)
						: sourcePositionNow(c, project),
				);
				await updateProject(ctx, project.id, (p) => ({ ...p, incremental: { ...p.incremental, safeUntil } }));
			}
			return "done";
		}
		await topUp(ctx, project, job, Date.now(), chunks);
		return "waiting";
	},
};

/** Plans the tables not planned yet (a crash half-way plans a table again); returns the copy's size. */
async function planAll(ctx: Context, project: Project, job: ChunkJob): Promise<PlannedJob> {
	const tables = await listTables(ctx, project.id);
	const chunks = new Map(tables.map((t) => [t.index, t.chunks]));
	const unplanned = tables.filter((t) => !t.planned);
	if (unplanned.length > 0) {
		const source = await connect(await credentialsFor(ctx, project.sourceId));
		try {
			await boundStatements(source, queryTimeout(project));
			for (const t of unplanned) {
				const specs = planChunks(source, t.mapping, { chunkRows: project.options.chunkRows });
				chunks.set(t.index, await planCopyTable(ctx, job, t, specs));
			}
		} finally {
			await source.end();
		}
	}
	return {
		tables: tables.length,
		chunks: [...chunks.values()].reduce((n, c) => n + c, 0),
		estimates: tables.reduce((n, t) => n + t.rowsEstimate, 0),
	};
}

/** What the tables joining the done prefix add to it, with their row estimates. */
function joiningSums(tables: readonly TableItem[], joining: readonly (readonly ChunkItem[])[]): PrefixSums {
	const estimate = (group: readonly ChunkItem[]) =>
		tables.find((t) => t.index === group[0]?.tableIndex)?.rowsEstimate ?? 0;
	const rows = (group: readonly ChunkItem[]) => group.reduce((n, c) => n + (c.rows ?? 0), 0);
	return sumsOf(
		joining,
		joining.reduce((n, g) => n + estimate(g), 0),
		joining.reduce((n, g) => n + Math.max(estimate(g), rows(g)), 0),
	);
}
