import { randomUUID } from "node:crypto";
import { ConflictError } from "../aws/state-store.ts";
import type { Project } from "../model/project.ts";
import { logger, metrics } from "../observability.ts";
import type { Context } from "./context.ts";
import { getProject, listProjects, markStep, updateProject } from "./projects.ts";
import { STEPS } from "./steps.ts";

/**
 * Advances one project's state machine as far as it can go now: runs its steps in order, each
 * idempotent, and returns when a step waits (for chunks, say) or the project stops. Safe to run
 * from two schedulers at once: every change is a conditional write, every step re-checks.
 */
export async function advanceProject(ctx: Context, id: string): Promise<Project> {
	let project = await getProject(ctx, id);
	while (project.state === "running") {
		const step = project.steps.find((s) => s.state === "pending" || s.state === "running");
		if (!step) {
			return updateProject(ctx, id, (p) => (p.state === "running" ? { ...p, state: "completed" } : p));
		}
		if (step.state === "pending") {
			project = await updateProject(ctx, id, (p) =>
				markStep(p, step.name, {
					state: "running",
					startedAt: new Date().toISOString(),
				}),
			);
			await STEPS[step.name].begin?.(ctx, project);
		}
		let outcome: "done" | "waiting";
		try {
			outcome = await STEPS[step.name].run(ctx, project);
		} catch (err) {
			// another scheduler changed the same item first: it is on it, try again next tick
			if (err instanceof ConflictError) {
				logger.info("step met a concurrent change; retrying next tick", {
					projectId: id,
					step: step.name,
					error: err.message,
				});
				return project;
			}
			const message = (err as Error).message;
			logger.error("step failed", {
				projectId: id,
				step: step.name,
				error: message,
			});
			metrics.addMetric("MigrationFailed", "Count", 1);
			return updateProject(ctx, id, (p) =>
				markStep(
					{
						...p,
						state: "failed",
						ticket: {
							id: `tk-${randomUUID().slice(0, 8)}`,
							step: step.name,
							message,
							openedAt: new Date().toISOString(),
						},
					},
					step.name,
					{ state: "failed", error: message },
				),
			);
		}
		if (outcome === "waiting") return project;
		project = await updateProject(ctx, id, (p) =>
			markStep(p, step.name, {
				state: "done",
				finishedAt: new Date().toISOString(),
			}),
		);
	}
	return project;
}

/** The scheduler's tick: every running project gets a turn; one project's trouble never stops the others. */
export async function advanceAll(ctx: Context): Promise<number> {
	const projects = await listProjects(ctx);
	const running = projects.filter((p) => p.state === "running");
	// a paused, failed or released project keeps no replication task (the task also notices by itself)
	for (const p of projects.filter((x) => x.state !== "running" && x.types.includes("incremental"))) {
		if (await ctx.tasks.running(p.id).catch(() => false)) await ctx.tasks.stop(p.id).catch(() => {});
	}
	await Promise.all(
		running.map((p) =>
			advanceProject(ctx, p.id).catch((err) =>
				logger.error("scheduler could not advance project", {
					projectId: p.id,
					error: (err as Error).message,
				}),
			),
		),
	);
	return running.length;
}
