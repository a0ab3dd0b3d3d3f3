import type { Context } from "../context.ts";
import type { Direction, Project } from "../model/project.ts";
import { metrics } from "../observability.ts";
import { replicationId } from "../replication/ids.ts";
import { replicationWanted } from "../replication/wanted.ts";
import { HEARTBEAT_TIMEOUT_MS, replicationStatus } from "../state/streams.ts";

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
		if (!alive || !(await ctx.tasks.running(id))) await ctx.tasks.start(id);
	}
	return fatal;
}
