import { randomUUID } from "node:crypto";
import { evaluateStackAlerts } from "../alerts/stack.ts";
import { evaluateProjectAlerts } from "../alerts/tick.ts";
import type { Context } from "../context.ts";
import { isNetworkError, networkRetryMs } from "../db/connect.ts";
import { SYSTEM } from "../model/actor.ts";
import type { Direction, Project } from "../model/project.ts";
import { logger, metrics } from "../observability.ts";
import { forwardReplicating } from "../replication/wanted.ts";
import { type EventKind, recordEvent } from "../state/events.ts";
import { getProject, listProjects, updateProject } from "../state/projects.ts";
import { ConflictError } from "../state/store.ts";
import type { Step } from "./step.ts";
import { stepListFor, stepNamed } from "./steps/index.ts";
import { superviseReplication } from "./supervise.ts";
import { advanceVerification } from "./verification.ts";

export function markStep(p: Project, name: string, change: Partial<Project["steps"][number]>): Project {
	return { ...p, steps: p.steps.map((s) => (s.name === name ? { ...s, ...change } : s)) };
}

function openTicket(p: Project, step: Step, message: string, stopsReplication = !!step.replication): Project {
	const ticket = { id: `tk-${randomUUID().slice(0, 8)}`, step: step.name, message, openedAt: new Date().toISOString() };
	return markStep(
		{ ...p, state: "failed", ticket: stopsReplication ? { ...ticket, stopsReplication } : ticket },
		step.name,
		{ state: "failed", error: message },
	);
}

/** A step's moment in the project's timeline, by Ferry itself: once per change of its state, never per tick. */
function stepEvent(
	ctx: Context,
	projectId: string,
	kind: EventKind,
	step: string,
	message: string,
	details?: Record<string, unknown>,
) {
	return recordEvent(ctx, projectId, { kind, message, actor: SYSTEM, subject: step, ...(details ? { details } : {}) });
}

/** Records the ticket `updated` holds when the update opened it (another scheduler may have been first). */
async function ticketOpened(ctx: Context, before: Project, updated: Project): Promise<Project> {
	const t = updated.ticket;
	if (t && t.id !== before.ticket?.id) {
		await stepEvent(ctx, updated.id, "ticket-opened", t.step, `ticket ${t.id} on step ${t.step}: ${t.message}`, {
			ticket: t.id,
		});
	}
	return updated;
}

/** The step a replication task's fatal stop opens its ticket on: the one that runs that stream. */
function replicationStepOf(project: Project, direction: Direction, steps: readonly Step[]): Step {
	const mine = steps.find((s) => s.replication === direction && project.steps.some((p) => p.name === s.name));
	return mine ?? (steps.find((s) => s.replication === "forward") as Step);
}

/**
 * Advances one project as far as it can go now, and returns when a step waits (for chunks, for
 * replay, for the user) or the project stops. The whole migration path, in the order of
 * steps/index.ts, each step only if the project's migration types include it:
 *
 *   precheck -> schema -> position -> full -> indexes -> finalize        the copy
 *   incremental                                                          replay catches up
 *   verify                                                               compare, correct
 *   switch-check -> -writes -> -drain -> -stop-forward -> -destination -> -source
 *   reverse                                                              the way back
 *
 * A synchronization project (to Kafka or RocketMQ) runs its own short list (steps/index.ts
 * SYNC_STEPS): precheck -> position -> sync, where one replication stream sends the snapshot and
 * then the binlog (shared/sinks/sink-target.ts).
 *
 * Before the steps, two things that run beside them on every tick: the replication streams are
 * kept running (supervise.ts; a task's fatal stop becomes a ticket on the step that runs its
 * stream) and a verification run is driven (verification.ts). Each step is re-derived from the
 * stored project on every call, and every change is a conditional write, so two schedulers at
 * once, or one killed anywhere, leave nothing half done: the next call carries on.
 */
export async function advanceProject(ctx: Context, id: string, given?: readonly Step[]): Promise<Project> {
	let project = await getProject(ctx, id);
	const steps = given ?? stepListFor(project);
	const fatal = await superviseReplication(ctx, project);
	if (fatal && project.state === "running") {
		logger.error("replication stopped", { projectId: id, direction: fatal.direction, error: fatal.message });
		metrics.addMetric("ReplicationStopped", "Count", 1);
		const step = replicationStepOf(project, fatal.direction, steps);
		const stopped = await updateProject(ctx, id, (p) =>
			p.state === "running" ? openTicket(p, step, `replication stopped: ${fatal.message}`, true) : p,
		);
		return ticketOpened(ctx, project, stopped);
	}
	// (with another ticket open, the stop waits in the replication status until that one is resolved)
	project = await advanceVerification(ctx, project);
	while (project.state === "running") {
		const current = project.steps.find((s) => s.state === "pending" || s.state === "running");
		if (!current) {
			// replication keeps a finished project running: it is complete only when nothing runs
			if (forwardReplicating(project) || project.reverse?.active) return project;
			return updateProject(ctx, id, (p) => (p.state === "running" ? { ...p, state: "completed" } : p));
		}
		const step = stepNamed(current.name, steps);
		if (current.state === "pending") {
			project = await updateProject(ctx, id, (p) =>
				markStep(p, step.name, { state: "running", startedAt: new Date().toISOString(), begun: !step.begin }),
			);
			await stepEvent(ctx, id, "step-started", step.name, `step ${step.name} started`);
		}
		let outcome: "done" | "waiting";
		try {
			// `begin` runs until it has completed once (a scheduler killed in it runs it again)
			if (project.steps.find((s) => s.name === step.name)?.begun === false) {
				await step.begin?.(ctx, project);
				project = await updateProject(ctx, id, (p) => markStep(p, step.name, { begun: true }));
			}
			outcome = await step.run(ctx, project);
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
			const since = project.steps.find((s) => s.name === step.name)?.retryingSince ?? new Date().toISOString();
			if (isNetworkError(err) && Date.now() - Date.parse(since) < networkRetryMs()) {
				// a cut or a server out of reach for a moment is not a person's business: the step
				// says so and runs again next tick; a ticket only once it lasts
				logger.warn("step waits for the network", { projectId: id, step: step.name, error: message });
				return updateProject(ctx, id, (p) =>
					markStep(p, step.name, { error: `retrying: ${message}`, retryingSince: since }),
				);
			}
			logger.error("step failed", { projectId: id, step: step.name, error: message });
			metrics.addMetric(project.sync ? "SyncFailed" : "MigrationFailed", "Count", 1);
			if (step.alarm) metrics.addMetric(step.alarm, "Count", 1);
			await stepEvent(ctx, id, "step-failed", step.name, `step ${step.name} failed: ${message}`);
			return ticketOpened(ctx, project, await updateProject(ctx, id, (p) => openTicket(p, step, message)));
		}
		if (project.steps.find((s) => s.name === step.name)?.retryingSince) {
			// the network is back
			project = await updateProject(ctx, id, (p) =>
				markStep(p, step.name, { error: undefined, retryingSince: undefined }),
			);
		}
		if (outcome === "waiting") return project;
		project = await updateProject(ctx, id, (p) =>
			markStep(p, step.name, { state: "done", finishedAt: new Date().toISOString() }),
		);
		await stepEvent(ctx, id, "step-done", step.name, `step ${step.name} done`);
	}
	return project;
}

/**
 * The scheduler's tick: every project that has something running gets a turn (its steps, its
 * replication tasks, its verification), then its alerts are evaluated (when due: alerts/tick.ts);
 * one project's trouble never stops the others.
 */
export async function advanceAll(ctx: Context): Promise<number> {
	const projects = await listProjects(ctx);
	const running = projects.filter((p) => p.state === "running");
	const advanced = (p: Project) =>
		p.state === "running" || (p.state !== "new" && (p.types.includes("incremental") || !!p.verification));
	await Promise.all(
		projects.map(async (p) => {
			const current = advanced(p)
				? await advanceProject(ctx, p.id).catch((err) => {
						logger.error("scheduler could not advance project", {
							projectId: p.id,
							error: (err as Error).message,
						});
						return p;
					})
				: p;
			await evaluateProjectAlerts(ctx, current);
		}),
	);
	await evaluateStackAlerts(ctx);
	return running.length;
}
