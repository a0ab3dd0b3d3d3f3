import { replicationId } from "../../replication/ids.ts";
import { caughtUp } from "../../replication/liveness.ts";
import { updateProject } from "../../state/projects.ts";
import { replicationStatus } from "../../state/streams.ts";
import type { Step } from "../step.ts";

/** Reverse replay (destination -> source) from the destination's position at the switch; done once it has caught up. */
export const reverse: Step = {
	name: "reverse",
	appliesTo: (types) => types.includes("reverse"),
	replication: "reverse",
	async begin(ctx, project) {
		if (!project.reverse?.startPosition) {
			throw new Error("reverse replay has no start position: the switchover did not record it; retry the switchover");
		}
		await updateProject(ctx, project.id, (p) => ({ ...p, reverse: { ...p.reverse, active: true } }));
	},
	async run(ctx, project) {
		const r = await replicationStatus(ctx, replicationId(project.id, "reverse"));
		return caughtUp(project, "reverse", r) ? "done" : "waiting";
	},
};
