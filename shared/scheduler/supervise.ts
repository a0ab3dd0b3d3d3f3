import type { Context } from "../context.ts";
import { SYSTEM } from "../model/actor.ts";
import type { Direction, Project } from "../model/project.ts";
import { metrics } from "../observability.ts";
import { replicationId } from "../replication/ids.ts";
import { replicationWanted } from "../replication/wanted.ts";
import { recordEvent } from "../state/events.ts";
import { HEARTBEAT_TIMEOUT_MS, type ReplicationStatus, replicationStatus } from "../state/streams.ts";

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
			if (await ctx.tasks.running(id).catch(() => false)) {
				// a task that runs though its project stopped it: the sync status inconsistent alarm counts these
				metrics.addMetric("ReplicationTaskUnwanted", "Count", 1);
				await ctx.tasks.stop(id).catch(() => {});
			}
			continue;
		}
		const status = await replicationStatus(ctx, id);
		if (status?.fatal) {
			// the other direction is still looked after
			fatal ??= { direction, message: status.fatal.message };
			continue;
		}
		const alive = status !== undefined && Date.now() - status.heartbeatAt < HEARTBEAT_TIMEOUT_MS;
		const running = await ctx.tasks.running(id);
		if (alive && running) continue;
		await ctx.tasks.start(id);
		// recorded when no task ran, so once per start: a task still starting (or hung) is
		// started again on every tick, and the timeline need not say so each time
		if (!running) await taskStarted(ctx, project.id, direction, status);
	}
	return fatal;
}

/** The timeline's account of a start: the first, after a stop (pause, ticket), or after the last task died. */
async function taskStarted(
	ctx: Context,
	projectId: string,
	direction: Direction,
	before: ReplicationStatus | undefined,
) {
	const subject = replicationId(projectId, direction);
	const died = before !== undefined && before.session !== "ended";
	if (died) {
		const silent = Math.round((Date.now() - before.heartbeatAt) / 1000);
		await recordEvent(ctx, projectId, {
			kind: "task-died",
			message: `${direction} replication task died (no heartbeat for ${silent} s${before.lastError ? `; last error: ${before.lastError}` : ""})`,
			actor: SYSTEM,
			subject,
		});
	}
	await recordEvent(ctx, projectId, {
		kind: "task-started",
		message: `${direction} replication task ${before === undefined ? "started" : "restarted"}`,
		actor: SYSTEM,
		subject,
	});
}
