import { totalmem } from "node:os";
import { type SourcePosition, samePosition } from "../binlog/position.ts";
import type { Context } from "../context.ts";
import type { Project } from "../model/project.ts";
import { logger, metrics } from "../observability.ts";
import { addCounts } from "../replay/table-counts.ts";
import { getProject } from "../state/projects.ts";
import type { ReplicationTotals } from "../state/streams.ts";
import { parseReplicationId } from "./ids.ts";
import { renewLease } from "./lease.ts";
import type { TargetProgress } from "./target.ts";
import { replicationWanted } from "./wanted.ts";

const STATUS_EVERY_MS = 1000;

/** What a session has done so far (the target's totals and capture's echoes). */
export type SessionProgress = TargetProgress & { echoes: number };

/**
 * Writes the task's status every second (heartbeat, lease, latency, throughput), and stops the
 * session when the stream is no longer wanted or another task took the lease. The counters it
 * writes are the stream's totals: what earlier sessions and tasks wrote (`base`, read when the
 * session started) plus this session's, so a restart does not reset them.
 */
export class StatusReporter {
	private timer?: NodeJS.Timeout;
	private last = { at: Date.now(), rows: 0, bytes: 0, cpu: process.cpuUsage() };
	private busy: Promise<void> | null = null;
	private started = false;
	lostLease = false;

	constructor(
		private readonly ctx: Context,
		private readonly replicationId: string,
		private readonly owner: string,
		/**
		 * Where the source stands now (its binlog's position, or the change feed's head; null when
		 * the feed shows the stream behind): a stream standing there is caught up.
		 */
		private readonly sourceNow: () => Promise<SourcePosition | null>,
		private readonly progress: () => SessionProgress,
		private readonly abort: AbortController,
		private readonly base: ReplicationTotals & { lastCommitTime?: number },
		/** Sees the project as read for each report: runtime parameters changed meanwhile apply from there. */
		private readonly onProject: (project: Project) => void = () => {},
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
			...(p.tables ? { tables: addCounts(addCounts({}, this.base.tables), p.tables) } : {}),
		};
	}

	private async report(): Promise<void> {
		const p = this.progress();
		const now = Date.now();
		const seconds = Math.max(0.001, (now - this.last.at) / 1000);
		const rowsPerSecond = Math.round((p.rows - this.last.rows) / seconds);
		const bytesPerSecond = Math.round((p.bytes - this.last.bytes) / seconds);
		const cpu = process.cpuUsage();
		const host = hostUse(cpu, this.last.cpu, seconds);
		this.last = { at: now, rows: p.rows, bytes: p.bytes, cpu };
		const sourceNow = await this.sourceNow();
		const caughtUp = p.position !== null && sourceNow !== null && samePosition(p.position, sourceNow);
		// before this session's first commit, the last one of an earlier session
		const lastCommitTime = p.lastCommitTime ?? this.base.lastCommitTime ?? null;
		const latencySeconds = caughtUp
			? 0
			: lastCommitTime === null
				? undefined
				: Math.max(0, Math.round((now - lastCommitTime) / 1000));
		const { projectId, direction } = parseReplicationId(this.replicationId);
		const project = await getProject(this.ctx, projectId);
		// one name per kind of project, so that the migration delay and sync delay alarms (cdk/alert-alarms.ts) tell them
		// apart; per project and stream, as the metrics history reads them (metrics/cloudwatch-history.ts)
		const latencyMetric = project.sync ? "SyncLatencySeconds" : "ReplicationLatencySeconds";
		metrics.addDimensions({ project: projectId, stream: project.sync ? "sink" : direction });
		if (latencySeconds !== undefined) metrics.addMetric(latencyMetric, "Seconds", latencySeconds);
		metrics.addMetric("ReplicatedRows", "Count", rowsPerSecond);
		metrics.addMetric("ReplicatedBytes", "Bytes", bytesPerSecond);
		metrics.addMetric("TaskMemoryPercent", "Percent", host.memoryPercent);
		metrics.addMetric("TaskCpuPercent", "Percent", host.cpuPercent);
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
			tuning: p.tuning,
			host,
			lastError: undefined,
		});
		this.onProject(project);
		const wanted = replicationWanted(project, direction);
		if (!kept || !wanted) {
			this.lostLease = !kept;
			this.abort.abort();
		}
	}
}

/**
 * The task's own use of its host, for the host threshold alert: resident memory as a share of
 * its limit (the container's where there is one, else the machine's) and CPU time over the last
 * interval as a share of one core.
 */
function hostUse(
	cpu: NodeJS.CpuUsage,
	before: NodeJS.CpuUsage,
	seconds: number,
): { memoryPercent: number; cpuPercent: number } {
	const limit = process.constrainedMemory() || totalmem();
	const cpuMicros = cpu.user - before.user + cpu.system - before.system;
	return {
		memoryPercent: Math.round((process.memoryUsage.rss() / limit) * 1000) / 10,
		cpuPercent: Math.round(cpuMicros / (seconds * 10_000)),
	};
}
