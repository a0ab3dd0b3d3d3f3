import { z } from "zod";
import type { Context } from "../context.ts";
import { conflict, invalid } from "../errors.ts";
import { type Actor, SYSTEM } from "../model/actor.ts";
import { type Project, ProjectOptions } from "../model/project.ts";
import { recordEvent } from "../state/events.ts";
import { getProject, updateProject } from "../state/projects.ts";
import { throttledChunkError } from "./projects.ts";

/*
 * A project's runtime parameters (OMS lets its users update a running component's parameters):
 * viewed and changed while it runs, picked up by the workers and the replication task without a
 * restart, each change recorded in the project's timeline with its old and new values.
 */

const o = ProjectOptions.shape;

/** PATCH /projects/{id}/parameters: the parameters to change; null removes a throttle or goes back to the default. */
export const ParametersPatch = z
	.object({
		parallelism: o.parallelism.unwrap().optional(),
		maxRowsPerSecond: o.maxRowsPerSecond.unwrap().nullable().optional(),
		maxBytesPerSecond: o.maxBytesPerSecond.unwrap().nullable().optional(),
		verifyConcurrency: o.verifyConcurrency.unwrap().nullable().optional(),
		replayBatchSize: o.replayBatchSize.unwrap().nullable().optional(),
		parallelApply: o.parallelApply.unwrap().nullable().optional(),
	})
	.strict()
	.refine((p) => Object.keys(p).length > 0, "name at least one parameter");
export type ParametersPatch = z.infer<typeof ParametersPatch>;
type Name = keyof ParametersPatch;

/** When a change takes effect, as the API tells the user. */
const TAKES_EFFECT: Record<Name, string> = {
	parallelism: "copy chunks kept queued at once: from the scheduler's next tick (chunks under way finish first)",
	maxRowsPerSecond: "the copy's throttle: for each chunk that starts after the change (chunks under way keep theirs)",
	maxBytesPerSecond: "the copy's throttle: for each chunk that starts after the change (chunks under way keep theirs)",
	verifyConcurrency: "verification chunks kept queued at once (absent: parallelism): from the scheduler's next tick",
	replayBatchSize:
		"source transactions per destination commit: the replication task applies it from its next group, within a second",
	parallelApply:
		"destination connections of forward one-way replay: the replication task starts a new session itself within a second, resuming from its checkpoint",
};
const NAMES = Object.keys(TAKES_EFFECT) as Name[];

export interface ProjectParameters {
	projectId: string;
	state: Project["state"];
	/** Each parameter's value; null where unset (no throttle, or the default). */
	parameters: Record<Name, number | null>;
	takesEffect: Record<Name, string>;
}

function view(p: Project): ProjectParameters {
	return {
		projectId: p.id,
		state: p.state,
		parameters: Object.fromEntries(NAMES.map((n) => [n, p.options[n] ?? null])) as Record<Name, number | null>,
		takesEffect: TAKES_EFFECT,
	};
}

export async function projectParameters(ctx: Context, id: string): Promise<ProjectParameters> {
	return view(await getProject(ctx, id));
}

/** The states in which a project's parameters may change (OMS: not started, running, paused, failed). */
const CHANGEABLE = new Set<Project["state"]>(["new", "running", "paused", "failed"]);

export async function changeParameters(
	ctx: Context,
	id: string,
	patch: ParametersPatch,
	actor: Actor = SYSTEM,
): Promise<ProjectParameters> {
	let changes: Record<string, { old: number | null; new: number | null }> = {};
	const project = await updateProject(ctx, id, (p) => {
		if (!CHANGEABLE.has(p.state)) {
			throw conflict("BAD_STATE", `the parameters of project '${p.name}' cannot change while it is ${p.state}`);
		}
		const options = { ...p.options };
		changes = {};
		for (const name of NAMES) {
			const next = patch[name];
			if (next === undefined || (options[name] ?? null) === next) continue;
			changes[name] = { old: options[name] ?? null, new: next };
			if (next === null) delete options[name];
			else options[name] = next;
		}
		const slow = throttledChunkError(options);
		if (slow) throw invalid("QUERY_TIMEOUT", slow);
		return { ...p, options };
	});
	if (Object.keys(changes).length > 0) {
		const said = Object.entries(changes).map(([n, c]) => `${n} ${c.old ?? "unset"} -> ${c.new ?? "unset"}`);
		await recordEvent(ctx, id, {
			kind: "settings-changed",
			message: `parameters changed: ${said.join(", ")}`,
			actor,
			subject: "parameters",
			details: { changes },
		});
	}
	return view(project);
}
