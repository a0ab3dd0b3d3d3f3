import { logger } from "../../observability.ts";
import { withConnection } from "../../state/datasources.ts";
import { listTables } from "../../state/tables.ts";
import { enableEvents } from "../../switchover/events.ts";
import { createTriggers } from "../../switchover/triggers.ts";
import type { Step } from "../step.ts";
import { sourceEvents, sourceTriggers } from "../switchover.ts";

/**
 * The destination becomes a primary: its triggers are created (held back during replay), and the
 * events enabled at the source are enabled there (created disabled by the schema migration).
 * Foreign keys and CHECK constraints are already in place and enforced for every session but
 * replay's, which ran with foreign_key_checks=0.
 */
export const switchDestination: Step = {
	name: "switch-destination",
	appliesTo: (types) => types.includes("switchover"),
	alarm: "SwitchoverBlocked",
	async run(ctx, project) {
		const triggers = await sourceTriggers(ctx, project);
		const events = await sourceEvents(ctx, project);
		const mappings = (await listTables(ctx, project.id)).map((t) => t.mapping);
		await withConnection(ctx, project.destinationId, async (c) => {
			const created = await createTriggers(c, triggers, mappings);
			if (created.length) logger.info("triggers created at the destination", { projectId: project.id, created });
			const enabled = await enableEvents(c, events);
			if (enabled.length) logger.info("events enabled at the destination", { projectId: project.id, enabled });
		});
		return "done";
	},
};
