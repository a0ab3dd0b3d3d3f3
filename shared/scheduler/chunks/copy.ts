import { copySnapshotTso } from "../../binlog/tso.ts";
import type { Context } from "../../context.ts";
import { copyChunk } from "../../copy/chunk.ts";
import { metrics } from "../../observability.ts";
import { chunksPk, chunkWindowKey } from "../../state/keys.ts";
import { buildIndexesAhead } from "./indexes-ahead.ts";
import type { ChunkJob, ChunkWork } from "./lifecycle.ts";

/** A project's full copy as a chunk job: its chunks run while the project runs. */
export const copyJob = (ctx: Pick<Context, "copyQueue">, projectId: string): ChunkJob => ({
	pk: chunksPk(projectId),
	windowKey: chunkWindowKey(projectId, "copy"),
	queue: ctx.copyQueue,
	message: (sk) => ({ projectId, sk }),
	active: (p) => p.state === "running",
	concurrency: (p) => p.options.parallelism,
});

/**
 * Copies one chunk (copy/chunk.ts: idempotent, it deletes its own range first), within the
 * project's throttle share; the table's last chunk then builds its deferred indexes (indexes-ahead.ts).
 */
export const copy: ChunkWork = async ({ ctx, source, destination, table, mapping, chunk, project, signal }) => {
	const parallelism = project.options.parallelism;
	const result = await copyChunk(source, destination, mapping, chunk.spec, {
		maxRowsPerSecond: project.options.maxRowsPerSecond && project.options.maxRowsPerSecond / parallelism,
		maxBytesPerSecond: project.options.maxBytesPerSecond && project.options.maxBytesPerSecond / parallelism,
		signal,
		asOfTso: copySnapshotTso(project),
	});
	// published at once with the project's dimension (a worker's batch mixes projects)
	const perProject = metrics.singleMetric();
	perProject.addDimension("project", project.id);
	perProject.addMetric("RowsCopied", "Count", result.rows);
	perProject.addMetric("BytesCopied", "Bytes", result.bytes);
	await buildIndexesAhead(ctx, { project, table, chunkSk: chunk.sk, source, destination });
	return (c) => ({ ...c, state: "done", deadline: undefined, rows: result.rows, bytes: result.bytes });
};
