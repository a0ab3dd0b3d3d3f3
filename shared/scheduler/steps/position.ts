import { sourcePositionNow } from "../../binlog/tso.ts";
import { withConnection } from "../../state/datasources.ts";
import { updateProject } from "../../state/projects.ts";
import { never, type Step } from "../step.ts";

/**
 * Records where capture will start, before the first chunk is read: every change made during
 * the copy is then replayed at least once (decisions/2026-11-24-replay-checkpoint.md).
 */
export const position: Step = {
	name: "position",
	appliesTo: (types) => types.includes("incremental"),
	cannotSkip: never("incremental replay would have no start position; fix the cause and retry"),
	async run(ctx, project) {
		if (project.incremental?.startPosition) return "done";
		const startPosition = await withConnection(ctx, project.sourceId, (c) => sourcePositionNow(c, project));
		await updateProject(ctx, project.id, (p) => ({ ...p, incremental: { ...p.incremental, startPosition } }));
		return "done";
	},
};
