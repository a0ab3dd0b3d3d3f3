import type { Context } from "../../context.ts";
import type { Connection } from "../../db/connect.ts";
import { qualifiedName } from "../../db/sql.ts";
import type { Project } from "../../model/project.ts";
import { logger } from "../../observability.ts";
import { applySchemaPhase } from "../../schema/apply.ts";
import { planSchema } from "../../schema/plan.ts";
import { describeServer, readSchema } from "../../schema/read.ts";
import type { ChunkItem } from "../../state/chunks.ts";
import { getDatabaseSource } from "../../state/datasources.ts";
import { chunksPk, tableSk } from "../../state/keys.ts";
import type { TableItem } from "../../state/tables.ts";
import { boundStatements } from "./bound.ts";

/**
 * A build here must end well inside a chunk worker's time (5 minutes as a Lambda function, with
 * the copy before it): the server stops it after this long, rolling it back, and tables larger
 * than this builds in that time on a slow destination are left to the indexes step outright.
 */
const AHEAD_SECONDS = 120;
const AHEAD_MAX_ROWS = 20_000_000;

/**
 * A table's deferred secondary indexes, built by the worker that copied the table's last chunk
 * while the other workers go on copying: the destination builds one table's indexes beside the
 * load of the next, as a DBA's script loading table by table does, instead of building them all
 * in the indexes step after the last chunk, when nothing else runs beside them
 * (decisions/2026-12-06-speed.md, section 7).
 *
 * Best effort: a build that fails, is killed (a pause), runs out of time, or is never tried (the
 * last chunk to finish was not among the table's last ones, a table of one chunk or a very large
 * one) leaves the indexes to the indexes step, which skips what exists. Only one worker builds:
 * it holds the lease of a chunk and saw every other chunk of the table done, which no other
 * holder of a chunk of it can see while this one is not marked done; a worker that takes the
 * chunk over kills the sessions of the one before (worker.ts), an ALTER in flight among them.
 */
export async function buildIndexesAhead(
	ctx: Context,
	w: { project: Project; table: TableItem; chunkSk: string; source: Connection; destination: Connection },
): Promise<void> {
	const { project, table } = w;
	if (!project.types.includes("schema") || project.options.deferSecondaryIndexes === false) return;
	// a table of one chunk builds its indexes in moments in the indexes step: no per-table plan here
	if (!table.planned || table.chunks < 2 || table.rowsEstimate > AHEAD_MAX_ROWS) return;
	// chunks are queued in order, at most `parallelism` at once: the last to finish is one of the last few
	if (chunkIndexOf(w.chunkSk) < table.chunks - project.options.parallelism) return;
	if (!(await othersDone(ctx, project.id, table.index, w.chunkSk))) return;
	const name = qualifiedName(table.mapping.destination);
	try {
		const engine = (await getDatabaseSource(ctx, project.destinationId)).engine;
		const snapshot = await readSchema(w.source, [table.mapping.source]);
		const server = await describeServer(w.destination);
		const plan = planSchema(snapshot, [table.mapping], engine, {
			deferSecondaryIndexes: true,
			destinationVersion: server.version,
		});
		if (plan.indexes.length === 0) return;
		await boundStatements(w.destination, AHEAD_SECONDS);
		const started = Date.now();
		const result = await applySchemaPhase(w.destination, plan, "indexes");
		logger.info("built a table's indexes beside the copy", {
			projectId: project.id,
			table: name,
			created: result.created.length,
			seconds: (Date.now() - started) / 1000,
		});
	} catch (err) {
		logger.warn("could not build a table's indexes beside the copy; the indexes step builds them", {
			projectId: project.id,
			table: name,
			error: (err as Error).message,
		});
	}
}

const chunkIndexOf = (sk: string) => Number(sk.slice(sk.indexOf("#") + 1));

async function othersDone(ctx: Context, projectId: string, tableIndex: number, own: string): Promise<boolean> {
	for await (const c of ctx.store.query<ChunkItem>(chunksPk(projectId), `${tableSk(tableIndex)}#`, { pageSize: 32 })) {
		if (c.sk !== own && c.state !== "done") return false;
	}
	return true;
}
