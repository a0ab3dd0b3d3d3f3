import type { Direction, Project, StepName } from "../model/project.ts";
import { replicationId } from "../replication/ids.ts";
import type { Context } from "./context.ts";
import { HEARTBEAT_TIMEOUT_MS, replicationStatus } from "./replication.ts";

/** Steps whose ticket comes from a replication task itself: the task has stopped. */
const REPLICATION_STEPS: readonly StepName[] = ["incremental", "reverse"];

/** Whether forward replay has started and no switchover has stopped it. */
export function forwardReplicating(project: Project): boolean {
	const step = project.steps.find((s) => s.name === "incremental");
	return (step?.state === "running" || step?.state === "done") && !project.switchover?.forwardStopped;
}

/**
 * Whether a replication task should run for this project and direction now. Replay keeps
 * going while a later step waits for the user (a verification or switchover ticket), so the
 * destination never falls behind while a person decides; it stops when the project is paused
 * or released, or when the task itself failed.
 */
export function replicationWanted(project: Project, direction: Direction): boolean {
	const live =
		project.state === "running" ||
		(project.state === "failed" && !!project.ticket && !REPLICATION_STEPS.includes(project.ticket.step));
	if (!live) return false;
	return direction === "forward" ? forwardReplicating(project) : project.reverse?.active === true;
}

/** The step a replication task's fatal stop opens its ticket on. */
export function replicationStep(project: Project, direction: Direction): StepName {
	return direction === "forward" || !project.steps.some((s) => s.name === "reverse") ? "incremental" : "reverse";
}

/**
 * Keeps each wanted replication task running (a task that exited, or whose heartbeat stopped,
 * is started again; starting is harmless when one still holds the lease) and stops unwanted
 * ones. Returns the first fatal stop a task reported (an unsupported DDL), for a ticket.
 */
export async function superviseReplication(
	ctx: Context,
	project: Project,
): Promise<{ direction: Direction; message: string } | null> {
	let fatal: { direction: Direction; message: string } | null = null;
	for (const direction of ["forward", "reverse"] as const) {
		const id = replicationId(project.id, direction);
		if (!replicationWanted(project, direction)) {
			if (await ctx.tasks.running(id).catch(() => false)) await ctx.tasks.stop(id).catch(() => {});
			continue;
		}
		const status = await replicationStatus(ctx, id);
		if (status?.fatal) {
			// the other direction is still looked after
			fatal ??= { direction, message: status.fatal.message };
			continue;
		}
		const alive = status !== undefined && Date.now() - status.heartbeatAt < HEARTBEAT_TIMEOUT_MS;
		if (!alive || !(await ctx.tasks.running(id))) await ctx.tasks.start(id);
	}
	return fatal;
}
