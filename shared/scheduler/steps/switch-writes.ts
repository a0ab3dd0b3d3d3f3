import { currentPosition } from "../../binlog/position.ts";
import { withConnection } from "../../state/datasources.ts";
import { updateProject } from "../../state/projects.ts";
import type { Step } from "../step.ts";
import { block, losesChanges } from "../switchover.ts";

/**
 * Waits for the user to say the application stopped writing to the source. At that moment the
 * destination's position is where reverse replay will start: what the application writes to
 * the destination from then on goes back to the source, and what forward replay still writes
 * there carries its marker and is not sent back.
 */
export const switchWrites: Step = {
	name: "switch-writes",
	appliesTo: (types) => types.includes("switchover"),
	alarm: "SwitchoverBlocked",
	cannotSkip: losesChanges,
	async run(ctx, project) {
		if (!project.switchover?.writesStoppedAt) {
			return block(ctx, project, "waiting for the user to stop writes to the source and confirm it");
		}
		if (project.types.includes("reverse") && !project.reverse?.startPosition) {
			const startPosition = await withConnection(ctx, project.destinationId, currentPosition);
			await updateProject(ctx, project.id, (p) => ({ ...p, reverse: { ...p.reverse, startPosition } }));
		}
		return "done";
	},
};
