import { currentPosition } from "../../binlog/position.ts";
import { caughtUp } from "../../replication/liveness.ts";
import { withConnection } from "../../state/datasources.ts";
import { updateProject } from "../../state/projects.ts";
import { replicationStatus } from "../../state/streams.ts";
import type { Step } from "../step.ts";

/**
 * Incremental migration: from this step on the scheduler keeps the replication task running
 * (supervise.ts); the step itself is done once replay has caught up in exact mode, and replay
 * goes on until switchover stops it. In two-way mode it also records where reverse capture
 * starts (the destination's position now: the copy is over, and every later transaction there
 * is either the application's or marked as forward replay's) and turns reverse replication on.
 */
export const incremental: Step = {
	name: "incremental",
	appliesTo: (types) => types.includes("incremental"),
	replication: "forward",
	async begin(ctx, project) {
		if (!project.options.twoWay || project.reverse?.startPosition) return;
		const startPosition = await withConnection(ctx, project.destinationId, currentPosition);
		await updateProject(ctx, project.id, (p) => ({ ...p, reverse: { startPosition, active: true } }));
	},
	async run(ctx, project) {
		// a ticket retried after the switch: forward replay is over, there is nothing to catch up
		if (project.switchover?.forwardStopped) return "done";
		const status = await replicationStatus(ctx, project.id);
		return caughtUp(project, "forward", status) ? "done" : "waiting";
	},
};
