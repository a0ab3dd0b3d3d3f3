import type { SourcePosition } from "../../binlog/position.ts";
import { copySnapshotTso, isTidb, sourcePositionNow } from "../../binlog/tso.ts";
import { planChunks } from "../../chunking/plan.ts";
import { connect } from "../../db/connect.ts";
import { listChunks } from "../../state/chunks.ts";
import { credentialsFor, withConnection } from "../../state/datasources.ts";
import { saveFullProgress } from "../../state/progress.ts";
import { updateProject } from "../../state/projects.ts";
import { listTables } from "../../state/tables.ts";
import { copyJob } from "../chunks/copy.ts";
import { allDone, planCopyTable, resetExhausted, stuck, topUp } from "../chunks/lifecycle.ts";
import { fullProgress, publishProgress, tablesProgress } from "../chunks/progress.ts";
import { boundStatements, queryTimeout } from "../chunks/sessions.ts";
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
		const tables = await listTables(ctx, project.id);
		const unplanned = tables.filter((t) => !t.planned);
		if (unplanned.length > 0) {
			const source = await connect(await credentialsFor(ctx, project.sourceId));
			try {
				await boundStatements(source, queryTimeout(project));
				for (const t of unplanned) {
					await planCopyTable(ctx, job, t, planChunks(source, t.mapping, { chunkRows: project.options.chunkRows }));
				}
			} finally {
				await source.end();
			}
		}
		const chunks = await listChunks(ctx, job.pk);
		publishProgress(project.id, "CopyProgressPercent", chunks);
		// the totals a status page gives without reading every item (control/status.ts)
		await saveFullProgress(ctx, project.id, fullProgress(tablesProgress(tables, chunks)));
		const failing = stuck(chunks);
		if (failing) {
			const t = tables.find((x) => x.index === failing.tableIndex);
			const name = t ? `${t.mapping.source.database}.${t.mapping.source.table}` : `table #${failing.tableIndex}`;
			const why =
				failing.lastError ?? "no error recorded: the worker stopped while copying (see the copy worker's log)";
			throw new Error(`copying ${name} failed ${failing.attempts} times, last with: ${why}`);
		}
		if (allDone(chunks)) {
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
