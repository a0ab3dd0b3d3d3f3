import type { SourcePosition } from "../binlog/position.ts";
import type { Context } from "./context.ts";

/** A stream's counters since it first started, across sessions and task restarts. */
export interface ReplicationTotals {
	/** Source transactions applied. */
	transactions: number;
	/** Their row changes. */
	rows: number;
	bytes: number;
	/** Inconsistencies exact mode found. */
	inconsistencies: number;
	/** Transactions skipped because the other direction's replay wrote them (two-way sync). */
	echoes?: number;
}

/**
 * What a replication task reports about itself, one item per replication stream (forward, and
 * reverse if any), written every second: the scheduler reads it to know the task is alive, the
 * status API to show latency and throughput. The task also holds its lease here, so two tasks
 * never run one stream.
 */
export interface ReplicationStatus extends ReplicationTotals {
	owner: string;
	leaseUntil: number;
	heartbeatAt: number;
	phase: "starting" | "safe" | "exact";
	/**
	 * Where the task is: "starting" from taking the lease until its session reports, "running"
	 * while it reports, "retrying" after a session ended with an error (until the next one
	 * reports), "ended" once the task has exited. Absent in items written before it existed.
	 */
	session?: "starting" | "running" | "retrying" | "ended";
	position?: SourcePosition;
	/** Source commit time of the last applied transaction, epoch ms. */
	lastCommitTime?: number;
	/** As the task measured it at its last report (status.ts makes it grow while the task is not running). */
	latencySeconds?: number;
	rowsPerSecond: number;
	bytesPerSecond: number;
	lastError?: string;
	/** Set when the task stopped on something only a person can decide (an unsupported DDL). */
	fatal?: { message: string; gtid?: string; statement?: string };
}

/** The stream's lease and status item (sk: the replication id, see `replicationId`). */
export const replicationKey = (replicationId: string) => ({ pk: "REPLICATION", sk: replicationId });

/** How long without a heartbeat before the scheduler considers the task dead and starts another. */
export const HEARTBEAT_TIMEOUT_MS = Number(process.env.FERRY_REPLICATION_HEARTBEAT_TIMEOUT_MS ?? 30_000);

export async function replicationStatus(ctx: Context, replicationId: string): Promise<ReplicationStatus | undefined> {
	const item = await ctx.store.get<ReplicationStatus>(replicationKey(replicationId));
	if (!item) return undefined;
	const { pk: _pk, sk: _sk, version: _v, ...status } = item;
	return status;
}
