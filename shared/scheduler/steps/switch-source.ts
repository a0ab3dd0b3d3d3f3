import { withConnection } from "../../state/datasources.ts";
import { disableEvents, handedOver } from "../../switchover/events.ts";
import { dropTriggers } from "../../switchover/triggers.ts";
import type { Step } from "../step.ts";
import { sourceEvents, sourceTriggers } from "../switchover.ts";

/**
 * With reverse replay to come, the source must not fire its triggers on rows that reverse replay
 * writes (the destination's triggers already produced their effects): they are dropped, their
 * definitions kept in the state table (the status lists them for a switch back). Its events that
 * the destination now runs are disabled. Foreign key checks are off in replay's own sessions.
 */
export const switchSource: Step = {
	name: "switch-source",
	appliesTo: (types) => types.includes("switchover"),
	alarm: "SwitchoverBlocked",
	async run(ctx, project) {
		if (!project.types.includes("reverse")) return "done";
		const triggers = await sourceTriggers(ctx, project);
		// an event the destination lacks (not migrated) keeps running where it is: the report says so
		const events = await withConnection(ctx, project.destinationId, async (c) =>
			handedOver(c, await sourceEvents(ctx, project)),
		);
		await withConnection(ctx, project.sourceId, async (c) => {
			await dropTriggers(c, triggers);
			await disableEvents(c, events);
		});
		return "done";
	},
};
