import { applySchemaPhases } from "../schema-phases.ts";
import type { Step } from "../step.ts";

/** Creates the tables (columns, primary and unique keys, CHECKs) at the destination, and keeps the schema report. */
export const schema: Step = {
	name: "schema",
	appliesTo: (types) => types.includes("schema"),
	run: (ctx, project) => applySchemaPhases(ctx, project, ["tables"]),
};
