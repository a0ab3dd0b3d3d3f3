import { applySchemaPhases } from "../schema-phases.ts";
import type { Step } from "../step.ts";

/**
 * Foreign keys (unchecked when replay follows: the copy and replay overlap), stored procedures
 * and functions before the views that call them, views in dependency order, then events,
 * created disabled.
 */
export const finalize: Step = {
	name: "finalize",
	appliesTo: (types) => types.includes("schema"),
	run: (ctx, project) => applySchemaPhases(ctx, project, ["foreignKeys", "routines", "views", "events"]),
};
