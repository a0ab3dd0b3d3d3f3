import { currentPosition } from "../../binlog/position.ts";
import { sourcePositionNow } from "../../binlog/tso.ts";
import type { Context } from "../../context.ts";
import { metrics } from "../../observability.ts";
import { forwardReplicating } from "../../replication/wanted.ts";
import { chunkWindowKey, verifyChunksPk } from "../../state/keys.ts";
import { verifyChunk } from "../../verify/chunk.ts";
import type { ChunkJob, ChunkWork } from "./lifecycle.ts";

/** Checks of one chunk before its remaining differences count as real (under replay). */
export const MAX_RECHECKS = 5;

/** A verification run as a chunk job: it goes on while a ticket waits (it may be what the ticket is about). */
export const verifyJob = (ctx: Pick<Context, "verifyQueue">, projectId: string, run: number): ChunkJob => ({
	pk: verifyChunksPk(projectId, run),
	windowKey: chunkWindowKey(projectId, `verify#${run}`),
	queue: ctx.verifyQueue,
	message: (sk) => ({ projectId, sk, verifyRun: run }),
	active: (p) =>
		["running", "completed", "failed"].includes(p.state) &&
		p.verification?.run === run &&
		p.verification.state === "running",
	concurrency: (p) => p.options.verifyConcurrency ?? p.options.parallelism,
});

/**
 * Verifies a chunk. While replay runs (forward, or reverse too), differences may be rows in
 * flight: the chunk waits in "recheck" until replay has passed the positions read after this
 * check, and only what persists after MAX_RECHECKS checks (or once replay stops) is reported.
 */
export const verify: ChunkWork = async ({ source, destination, mapping, chunk, project }) => {
	const earlier = chunk.verification;
	const v = await verifyChunk(source, destination, mapping, chunk.spec, earlier);
	const differs = v.missing + v.extra + v.different > 0;
	const rechecks = (earlier?.rechecks ?? 0) + (differs ? 1 : 0);
	// rows in flight either way: wait for each running replay to pass what this check saw
	const recheck = differs && rechecks < MAX_RECHECKS;
	const [recheckAfter, recheckAfterReverse] = await Promise.all([
		recheck && forwardReplicating(project) ? sourcePositionNow(source, project) : undefined,
		recheck && project.reverse?.active ? currentPosition(destination) : undefined,
	]);
	metrics.addMetric("RowsVerified", "Count", v.rows);
	return (c) => ({
		...c,
		state: recheckAfter || recheckAfterReverse ? "recheck" : "done",
		deadline: undefined,
		rows: v.rows,
		verification: {
			missing: v.missing,
			extra: v.extra,
			different: v.different,
			differences: v.differences,
			truncated: v.truncated,
			rechecks,
			recheckAfter,
			recheckAfterReverse,
		},
	});
};
