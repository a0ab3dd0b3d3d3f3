import { replicationId } from "../../replication/ids.ts";
import type { Step } from "../step.ts";
import { losesChanges, setSwitchover } from "../switchover.ts";

/** Forward replay stops for good; the step waits until its task has exited. */
export const switchStopForward: Step = {
	name: "switch-stop-forward",
	appliesTo: (types) => types.includes("switchover"),
	alarm: "SwitchoverBlocked",
	cannotSkip: losesChanges,
	async run(ctx, project) {
		if (!project.switchover?.forwardStopped) await setSwitchover(ctx, project, { forwardStopped: true });
		const id = replicationId(project.id, "forward");
		if (await ctx.tasks.running(id)) {
			await ctx.tasks.stop(id);
			return "waiting";
		}
		return "done";
	},
};
