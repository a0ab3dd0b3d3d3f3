import { randomUUID } from "node:crypto";
import { ConflictError } from "../aws/state-store.ts";
import type { Project, StepName } from "../model/project.ts";
import { logger, metrics } from "../observability.ts";
import type { Context } from "./context.ts";
import { getProject, listProjects, markStep, updateProject } from "./projects.ts";
import { STEPS } from "./steps.ts";
import { forwardReplicating, replicationStep, superviseReplication } from "./supervise.ts";
import { advanceVerification } from "./verification.ts";

function openTicket(p: Project, step: StepName, message: string): Project {
	return markStep(
		{
			...p,
			state: "failed",
			ticket: { id: `tk-${randomUUID().slice(0, 8)}`, step, message, openedAt: new Date().toISOString() },
		},
		step,
		{ state: "failed", error: message },
	);
}

/**
 * Advances one project's state machine as far as it can go now: runs its steps in order, each
 * idempotent, and returns when a step waits (for chunks, say) or the project stops. Safe to run
 * from two schedulers at once: every change is a conditional write, every step re-checks.
 */
export async function advanceProject(ctx: Context, id: string): Promise<Project> {
	let project = await getProject(ctx, id);
	const fatal = await superviseReplication(ctx, project);
	if (fatal && project.state === "running") {
		logger.error("replication stopped", { projectId: id, direction: fatal.direction, error: fatal.message });
		metrics.addMetric("ReplicationStopped", "Count", 1);
		const step = replicationStep(project, fatal.direction);
		return updateProject(ctx, id, (p) =>
			p.state === "running" ? openTicket(p, step, `replication stopped: ${fatal.message}`) : p,
		);
	}
	// (with another ticket open, the stop waits in the replication status until that one is resolved)
	project = await advanceVerification(ctx, project);
	while (project.state === "running") {
		const step = project.steps.find((s) => s.state === "pending" || s.state === "running");
		if (!step) {
			// replication keeps a finished project running: it is complete only when nothing runs
			if (forwardReplicating(project) || project.reverse?.active) return project;
			return updateProject(ctx, id, (p) => (p.state === "running" ? { ...p, state: "completed" } : p));
		}
		if (step.state === "pending") {
			project = await updateProject(ctx, id, (p) =>
				markStep(p, step.name, {
					state: "running",
					startedAt: new Date().toISOString(),
					begun: !STEPS[step.name].begin,
				}),
			);
		}
		let outcome: "done" | "waiting";
		try {
			// `begin` runs until it has completed once (a scheduler killed in it runs it again)
			if (project.steps.find((s) => s.name === step.name)?.begun === false) {
				await STEPS[step.name].begin?.(ctx, project);
				project = await updateProject(ctx, id, (p) => markStep(p, step.name, { begun: true }));
			}
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
			// the application is waiting on a switchover: its own alarm
			if (step.name.startsWith("switch-")) metrics.addMetric("SwitchoverBlocked", "Count", 1);
			return updateProject(ctx, id, (p) => openTicket(p, step.name, message));
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

/**
 * The scheduler's tick: every project that has something running gets a turn (its steps, its
 * replication tasks, its verification); one project's trouble never stops the others.
 */
export async function advanceAll(ctx: Context): Promise<number> {
	const projects = await listProjects(ctx);
	const running = projects.filter((p) => p.state === "running");
	const others = projects.filter(
		(p) => p.state !== "running" && p.state !== "new" && (p.types.includes("incremental") || p.verification),
	);
	await Promise.all(
		[...running, ...others].map((p) =>
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
