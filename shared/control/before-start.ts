import type { Context } from "../context.ts";
import { conflict } from "../errors.ts";
import { type Actor, SYSTEM } from "../model/actor.ts";
import type { Finding, Project } from "../model/project.ts";
import { stepListFor } from "../scheduler/steps/index.ts";
import { recordEvent } from "../state/events.ts";
import { getProject } from "../state/projects.ts";
import { createProject } from "./projects.ts";

/** Before a project starts: its precheck as a dry run, and a copy of it under another name. */

export interface PrecheckDryRun {
	projectId: string;
	/** The findings the precheck step would record (the project's waivers applied). */
	findings: Finding[];
	/** Whether the precheck would pass: no error left. */
	passes: boolean;
}

/**
 * Runs the precheck step's checks on a project that has not started and returns their findings;
 * the project, its steps and its findings stay as they were.
 */
export async function dryRunPrecheck(ctx: Context, id: string): Promise<PrecheckDryRun> {
	const project = await getProject(ctx, id);
	if (project.state !== "new") {
		throw conflict(
			"BAD_STATE",
			`project '${project.name}' has started (${project.state}): its precheck ran as its first step; see its findings`,
		);
	}
	const step = stepListFor(project).find((s) => s.dryRun);
	const findings = (await step?.dryRun?.(ctx, project)) ?? [];
	return { projectId: id, findings, passes: !findings.some((f) => f.level === "error") };
}

/** A new project with the same settings as `id` (data sources, types, objects, options, tags), in state new. */
export async function cloneProject(ctx: Context, id: string, name: string, actor: Actor = SYSTEM): Promise<Project> {
	const p = await getProject(ctx, id);
	const clone = await createProject(ctx, {
		name,
		sourceId: p.sourceId,
		destinationId: p.destinationId,
		types: p.types,
		objects: p.objects,
		options: p.options,
		sync: p.sync,
		feed: p.feed,
		tags: p.tags,
	});
	await recordEvent(ctx, clone.id, {
		kind: "action",
		message: `created as a clone of project '${p.name}' (${p.id})`,
		actor,
		subject: "clone",
		details: { from: p.id },
	});
	return clone;
}
