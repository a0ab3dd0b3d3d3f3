import type { SourcePosition } from "../capture/change.ts";
import type { Context } from "./context.ts";

/**
 * What the replication task reports about itself, one item per project, written every few
 * seconds: the scheduler reads it to know the task is alive, the status API to show latency
 * and throughput. The task also holds its lease here, so two tasks never replay one project.
 */
export interface ReplicationStatus {
	owner: string;
	leaseUntil: number;
	heartbeatAt: number;
	phase: "starting" | "safe" | "exact";
	position?: SourcePosition;
	/** Source commit time of the last applied transaction, epoch ms. */
	lastCommitTime?: number;
	latencySeconds?: number;
	transactions: number;
	rows: number;
	bytes: number;
	rowsPerSecond: number;
	bytesPerSecond: number;
	inconsistencies: number;
	lastError?: string;
	/** Set when the task stopped on something only a person can decide (an unsupported DDL). */
	fatal?: { message: string; gtid?: string; statement?: string };
}

export const replicationKey = (projectId: string) => ({ pk: "REPLICATION", sk: projectId });

/** How long without a heartbeat before the scheduler considers the task dead and starts another. */
export const HEARTBEAT_TIMEOUT_MS = Number(process.env.FERRY_REPLICATION_HEARTBEAT_TIMEOUT_MS ?? 30_000);

export async function replicationStatus(ctx: Context, projectId: string): Promise<ReplicationStatus | undefined> {
	const item = await ctx.store.get<ReplicationStatus>(replicationKey(projectId));
	if (!item) return undefined;
	const { pk: _pk, sk: _sk, version: _v, ...status } = item;
	return status;
}
