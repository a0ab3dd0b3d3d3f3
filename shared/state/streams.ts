import type { SourcePosition } from "../binlog/position.ts";
import type { TableCounts } from "../replay/table-counts.ts";
import { parseReplicationId } from "../replication/ids.ts";
import type { ReplayTuning } from "../replication/target.ts";
import type { SinkCheckpoint } from "../sinks/producer.ts";
import { STREAMS_PK, sinkCheckpointPk, streamKey } from "./keys.ts";
import { ConflictError, type HasStore, update, withoutKey } from "./store.ts";

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
	/** Per source table: inserts, updates, deletes and DDL replayed (at most MAX_COUNTED_TABLES entries). */
	tables?: TableCounts;
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
	/** As the task measured it at its last report (stream liveness makes it grow while the task is not running). */
	latencySeconds?: number;
	rowsPerSecond: number;
	bytesPerSecond: number;
	lastError?: string;
	/** The runtime parameters replay applies with now (the project's, once the task picked them up). */
	tuning?: ReplayTuning;
	/** The task's process: resident memory as a share of its limit, CPU time as a share of one core (alerts watch them). */
	host?: { memoryPercent: number; cpuPercent: number };
	/** Set when the task stopped on something only a person can decide (an unsupported DDL). */
	fatal?: { message: string; gtid?: string; statement?: string };
}

/** How long without a heartbeat before the scheduler considers the task dead and starts another. */
export const HEARTBEAT_TIMEOUT_MS = Number(process.env.FERRY_REPLICATION_HEARTBEAT_TIMEOUT_MS ?? 30_000);

export async function replicationStatus(ctx: HasStore, replicationId: string): Promise<ReplicationStatus | undefined> {
	const item = await ctx.store.get<ReplicationStatus>(streamKey(replicationId));
	return item && withoutKey(item);
}

/** Every stream's status, by replication id (the components list). */
export async function listReplicationStatuses(ctx: HasStore): Promise<Map<string, ReplicationStatus>> {
	const items = await ctx.store.list<ReplicationStatus>(STREAMS_PK);
	return new Map(items.map((i) => [i.sk, withoutKey(i)]));
}

/** Clears a stream's fatal stop (the ticket about it was resolved): replay may resume. */
export async function clearFatalStop(ctx: HasStore, replicationId: string): Promise<void> {
	await ctx.store.modify<ReplicationStatus>(streamKey(replicationId), (s) => ({ ...withoutKey(s), fatal: undefined }));
}

/**
 * Takes or renews a stream's lease as `owner` and writes `fields` into its status: when no task
 * holds it, this owner does, its lease lapsed, or `holderGone` says its holder no longer exists.
 * False when another task holds it (or won the race).
 */
export async function renewStreamLease(
	ctx: HasStore,
	replicationId: string,
	owner: string,
	fields: Partial<ReplicationStatus>,
	leaseMs: number,
	holderGone: (holder: string) => boolean,
): Promise<boolean> {
	const now = Date.now();
	const key = streamKey(replicationId);
	const current = await ctx.store.get<ReplicationStatus>(key);
	try {
		if (!current) {
			await ctx.store.create<ReplicationStatus>(key, {
				owner,
				leaseUntil: now + leaseMs,
				heartbeatAt: now,
				phase: "starting",
				transactions: 0,
				rows: 0,
				bytes: 0,
				rowsPerSecond: 0,
				bytesPerSecond: 0,
				inconsistencies: 0,
				...fields,
			});
			return true;
		}
		if (current.owner !== owner && current.leaseUntil > now && !holderGone(current.owner)) return false;
		await update<ReplicationStatus>(ctx.store, current, {
			owner,
			leaseUntil: now + leaseMs,
			heartbeatAt: now,
			...fields,
		});
		return true;
	} catch (err) {
		// another task was faster
		if (err instanceof ConflictError) return false;
		throw err;
	}
}

/** A RocketMQ synchronization stream's checkpoint (Kafka's is in Kafka, written with the messages). */
export async function loadSinkCheckpoint(ctx: HasStore, replicationId: string): Promise<SinkCheckpoint | null> {
	const { projectId } = parseReplicationId(replicationId);
	const item = await ctx.store.get<{ checkpoint: SinkCheckpoint }>({
		pk: sinkCheckpointPk(projectId),
		sk: replicationId,
	});
	return item?.checkpoint ?? null;
}

/** Written by the stream's lease holder after the broker acknowledged every message up to it. */
export async function saveSinkCheckpoint(
	ctx: HasStore,
	replicationId: string,
	checkpoint: SinkCheckpoint,
): Promise<void> {
	const { projectId } = parseReplicationId(replicationId);
	const key = { pk: sinkCheckpointPk(projectId), sk: replicationId };
	if (await ctx.store.modify<{ checkpoint: SinkCheckpoint }>(key, () => ({ checkpoint }))) return;
	try {
		await ctx.store.create(key, { checkpoint });
	} catch (err) {
		if (!(err instanceof ConflictError)) throw err;
		await ctx.store.modify<{ checkpoint: SinkCheckpoint }>(key, () => ({ checkpoint }));
	}
}
