import { applySchemaPhases } from "../schema-phases.ts";
import type { Step } from "../step.ts";

/** Creates the secondary indexes held back for the load (faster than keeping them up row by row). */
export const indexes: Step = {
	name: "indexes",
	appliesTo: (types) => types.includes("schema"),
	run: (ctx, project) => applySchemaPhases(ctx, project, ["indexes"]),
};
