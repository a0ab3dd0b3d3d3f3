import { hostname } from "node:os";
import { ConflictError } from "../../shared/aws/state-store.ts";
import type { SourcePosition } from "../../shared/capture/change.ts";
import { currentPosition } from "../../shared/capture/reader.ts";
import type { Context } from "../../shared/control/context.ts";
import { getProject } from "../../shared/control/projects.ts";
import {
	parseReplicationId,
	type ReplicationStatus,
	type ReplicationTotals,
	replicationKey,
} from "../../shared/control/replication.ts";
import { replicationWanted } from "../../shared/control/supervise.ts";
import type { Connection } from "../../shared/db/connect.ts";
import { logger, metrics } from "../../shared/observability.ts";
import type { ApplyStats } from "../../shared/replay/applier-options.ts";

const STATUS_EVERY_MS = 1000;
/** How long a task's lease lasts without renewal: a killed task's stream is taken over after this. */
export const LEASE_MS = 20_000;

/** What a session has done so far (the applier's totals and capture's echoes). */
export type SessionProgress = ApplyStats & { echoes: number };

/**
 * Writes the task's status every second (heartbeat, lease, latency, throughput), and stops the
 * session when the stream is no longer wanted or another task took the lease. The counters it
 * writes are the stream's totals: what earlier sessions and tasks wrote (`base`, read when the
 * session started) plus this session's, so a restart does not reset them.
 */
export class StatusReporter {
	private timer?: NodeJS.Timeout;
	private last = { at: Date.now(), rows: 0, bytes: 0 };
	private busy: Promise<void> | null = null;
	private started = false;
	lostLease = false;

	constructor(
		private readonly ctx: Context,
		private readonly replicationId: string,
		private readonly owner: string,
		/** The server capture reads: how far its binlog is (latency). */
		private readonly source: Connection,
		private readonly progress: () => SessionProgress,
		private readonly abort: AbortController,
		private readonly base: ReplicationTotals & { lastCommitTime?: number },
	) {}

	start(): void {
		this.started = true;
		this.timer = setInterval(() => {
			if (this.busy) return;
			this.busy = this.report()
				.catch((err) => logger.warn("could not write replication status", { error: (err as Error).message }))
				.finally(() => {
					this.busy = null;
				});
		}, STATUS_EVERY_MS);
	}

	/**
	 * Stops reporting, once a report under way is written (a fatal stop written after it must not
	 * meet it), and writes the session's final totals, so the next session counts on from them.
	 */
	async stop(): Promise<void> {
		clearInterval(this.timer);
		await this.busy;
		if (!this.started || this.lostLease) return;
		const p = this.progress();
		await renewLease(this.ctx, this.replicationId, this.owner, {
			...this.totals(p),
			...(p.position ? { position: p.position } : {}),
		}).catch((err) => logger.warn("could not write the final replication totals", { error: (err as Error).message }));
	}

	private totals(p: SessionProgress): ReplicationTotals {
		return {
			transactions: this.base.transactions + p.transactions,
			rows: this.base.rows + p.rows,
			bytes: this.base.bytes + p.bytes,
			inconsistencies: this.base.inconsistencies + p.inconsistencies,
			echoes: (this.base.echoes ?? 0) + p.echoes,
		};
	}

	private async report(): Promise<void> {
		const p = this.progress();
		const now = Date.now();
		const seconds = Math.max(0.001, (now - this.last.at) / 1000);
		const rowsPerSecond = Math.round((p.rows - this.last.rows) / seconds);
		const bytesPerSecond = Math.round((p.bytes - this.last.bytes) / seconds);
		this.last = { at: now, rows: p.rows, bytes: p.bytes };
		const sourceNow = await currentPosition(this.source);
		const caughtUp = p.position !== null && samePosition(p.position, sourceNow);
		// before this session's first commit, the last one of an earlier session
		const lastCommitTime = p.lastCommitTime ?? this.base.lastCommitTime ?? null;
		const latencySeconds = caughtUp
			? 0
			: lastCommitTime === null
				? undefined
				: Math.max(0, Math.round((now - lastCommitTime) / 1000));
		if (latencySeconds !== undefined) metrics.addMetric("ReplicationLatencySeconds", "Seconds", latencySeconds);
		metrics.addMetric("ReplicatedRows", "Count", rowsPerSecond);
		metrics.publishStoredMetrics();
		const kept = await renewLease(this.ctx, this.replicationId, this.owner, {
			session: "running",
			phase: p.mode === "safe" ? "safe" : "exact",
			position: p.position ?? undefined,
			lastCommitTime: lastCommitTime ?? undefined,
			latencySeconds,
			...this.totals(p),
			rowsPerSecond,
			bytesPerSecond,
			lastError: undefined,
		});
		const { projectId, direction } = parseReplicationId(this.replicationId);
		const wanted = replicationWanted(await getProject(this.ctx, projectId), direction);
		if (!kept || !wanted) {
			this.lostLease = !kept;
			this.abort.abort();
		}
	}
}

function samePosition(a: SourcePosition, b: SourcePosition): boolean {
	if (a.gtid || b.gtid) return normaliseGtid(a.gtid) === normaliseGtid(b.gtid);
	return a.file === b.file && a.pos === b.pos;
}

function normaliseGtid(gtid: string): string {
	return gtid
		.split(",")
		.map((s) => s.trim())
		.filter(Boolean)
		.sort()
		.join(",");
}

/**
 * Takes or renews the stream's replication lease and writes the status fields given. Returns
 * false when another live task holds it.
 */
/**
 * Whether a lease owner (`host:pid:…`) was a process of this host that no longer exists (a
 * killed `ferry local up` and its tasks): its lease need not be waited out. A process of another
 * host (another ECS task) is never judged from here; a reused pid only makes us wait.
 */
function diedOnThisHost(owner: string): boolean {
	const [host, pid] = owner.split(":");
	if (host !== hostname() || !pid || !/^\d+$/.test(pid)) return false;
	try {
		process.kill(Number(pid), 0);
		return false;
	} catch (err) {
		return (err as NodeJS.ErrnoException).code === "ESRCH";
	}
}

export async function renewLease(
	ctx: Context,
	replicationId: string,
	owner: string,
	fields: Partial<ReplicationStatus>,
): Promise<boolean> {
	const now = Date.now();
	const k = replicationKey(replicationId);
	const current = await ctx.store.get<ReplicationStatus>(k);
	if (!current) {
		const fresh: ReplicationStatus = {
			owner,
			leaseUntil: now + LEASE_MS,
			heartbeatAt: now,
			phase: "starting",
			transactions: 0,
			rows: 0,
			bytes: 0,
			rowsPerSecond: 0,
			bytesPerSecond: 0,
			inconsistencies: 0,
			...fields,
		};
		try {
			await ctx.store.create(k, fresh);
			return true;
		} catch (err) {
			if (err instanceof ConflictError) return false; // another task was faster
			throw err;
		}
	}
	if (current.owner !== owner && current.leaseUntil > now && !diedOnThisHost(current.owner)) return false;
	const { pk: _pk, sk: _sk, version, ...status } = current;
	try {
		await ctx.store.replace<ReplicationStatus>(
			k,
			{ ...status, owner, leaseUntil: now + LEASE_MS, heartbeatAt: now, ...fields },
			version,
		);
		return true;
	} catch (err) {
		if (err instanceof ConflictError) return false;
		throw err;
	}
}
