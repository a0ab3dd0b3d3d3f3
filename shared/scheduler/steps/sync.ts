import { caughtUp } from "../../replication/liveness.ts";
import { replicationStatus } from "../../state/streams.ts";
import type { Step } from "../step.ts";

/**
 * Synchronization: from this step on the scheduler keeps the project's replication task running
 * (supervise.ts), which sends the snapshot and then the binlog to the broker
 * (shared/sinks/sink-target.ts). The step is done once the snapshot is sent and the stream has
 * caught up; a project with incremental synchronization goes on streaming after that, one with
 * "full" only is then complete.
 */
export const sync: Step = {
	name: "sync",
	appliesTo: () => true,
	replication: "forward",
	async run(ctx, project) {
		const status = await replicationStatus(ctx, project.id);
		return caughtUp(project, "forward", status) ? "done" : "waiting";
	},
};
