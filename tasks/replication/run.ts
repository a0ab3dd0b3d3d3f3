import { createHash, randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { ConflictError } from "../../shared/aws/state-store.ts";
import type { SourcePosition } from "../../shared/capture/change.ts";
import { currentPosition, openBinlogReader } from "../../shared/capture/reader.ts";
import { listTables } from "../../shared/control/chunks.ts";
import type { Context } from "../../shared/control/context.ts";
import { credentialsFor, getDataSource } from "../../shared/control/datasources.ts";
import { getProject } from "../../shared/control/projects.ts";
import {
	parseReplicationId,
	peerReplicationId,
	type ReplicationStatus,
	replicationKey,
} from "../../shared/control/replication.ts";
import { replicationWanted } from "../../shared/control/supervise.ts";
import { type Connection, connect, createPool } from "../../shared/db/connect.ts";
import type { Credentials } from "../../shared/model/datasource.ts";
import type { Project } from "../../shared/model/project.ts";
import { logger, metrics } from "../../shared/observability.ts";
import { Applier, type ApplyStats } from "../../shared/replay/applier.ts";
import { echoMarks, META_DATABASE } from "../../shared/replay/checkpoint.ts";
import { asFatal, FatalReplicationError } from "../../shared/replay/fatal.ts";
import { describeServer } from "../../shared/schema/read.ts";
import { Tables } from "./tables.ts";

const STATUS_EVERY_MS = 1000;
const LEASE_MS = 20_000;

/** A replica server id of our own per replication stream: a server refuses two readers with one id. */
function serverIdFor(replicationId: string): number {
	return 100_000 + (createHash("sha256").update(replicationId).digest().readUInt32BE(0) % 4_000_000_000);
}

/**
 * A replication task's loop for one stream (shared/control/replication.ts `replicationId`).
 * Forward: binlog capture from the project's source, replay into its destination. Reverse: the
 * way back, from the destination's binlog into the source, with the table mappings inverted, in
 * exact mode from `project.reverse.startPosition`. Either direction skips what the other one's
 * replay wrote (two-way sync, docs/decisions/2026-11-24-two-way-loop-prevention.md).
 *
 * It runs while the stream is wanted (shared/control/supervise.ts `replicationWanted`: not
 * when the project is paused or released, nor for reverse once `reverse.active` is off). A
 * failure (a restarted server, a cut network) ends the session; the next session resumes from
 * the checkpoint the stream's target holds, so nothing is lost or applied twice. Only one task
 * per stream runs: it holds the stream's lease.
 */
export async function runReplication(
	ctx: Context,
	replicationId: string,
	signal: AbortSignal,
): Promise<"stopped" | "fatal"> {
	const owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
	// A task killed without releasing its lease holds it until it lapses: wait that long, so the
	// scheduler sees one task starting rather than starting another each tick.
	const deadline = Date.now() + LEASE_MS + 5_000;
	while (!(await renewLease(ctx, replicationId, owner, {}))) {
		if (signal.aborted || Date.now() > deadline) {
			logger.info("another replication task holds this stream's lease", { replicationId });
			return "stopped";
		}
		await sleep(1000, signal);
	}
	try {
		return await replicateUntilStopped(ctx, replicationId, owner, signal);
	} finally {
		// the next task (after a resume or a ticket) need not wait for the lease to lapse
		await renewLease(ctx, replicationId, owner, { leaseUntil: 0 }).catch(() => {});
	}
}

async function replicateUntilStopped(
	ctx: Context,
	replicationId: string,
	owner: string,
	signal: AbortSignal,
): Promise<"stopped" | "fatal"> {
	let backoffMs = 1000;
	while (!signal.aborted) {
		try {
			const outcome = await session(ctx, replicationId, owner, signal);
			if (outcome === "stopped") return "stopped";
		} catch (caught) {
			const err = asFatal(caught);
			if (err instanceof FatalReplicationError) {
				logger.error("replication stopped: a person must decide", { replicationId, error: err.message });
				await renewLease(ctx, replicationId, owner, {
					fatal: { message: err.message, gtid: err.gtid, statement: err.statement },
				});
				return "fatal";
			}
			const message = (err as Error).message;
			logger.warn("replication session ended; resuming from the checkpoint", {
				replicationId,
				error: message,
				retryInMs: backoffMs,
			});
			metrics.addMetric("ReplicationErrors", "Count", 1);
			if (!(await renewLease(ctx, replicationId, owner, { lastError: message }).catch(() => true))) return "stopped";
			await sleep(backoffMs, signal);
			backoffMs = Math.min(backoffMs * 2, 30_000);
		}
	}
	return "stopped";
}

async function session(
	ctx: Context,
	replicationId: string,
	owner: string,
	signal: AbortSignal,
): Promise<"stopped" | "ended"> {
	const { projectId, direction } = parseReplicationId(replicationId);
	const project = await getProject(ctx, projectId);
	if (!replicationWanted(project, direction)) return "stopped";
	const reverse = direction === "reverse";
	// capture reads one side's binlog, replay writes into the other
	const [captureId, targetId] = reverse
		? [project.destinationId, project.sourceId]
		: [project.sourceId, project.destinationId];
	const [captureCreds, targetCreds, target] = await Promise.all([
		credentialsFor(ctx, captureId),
		credentialsFor(ctx, targetId),
		getDataSource(ctx, targetId),
	]);
	const capturePool = createPool(captureCreds, 2);
	const control = await connect(captureCreds);
	let applier: Applier | undefined;
	try {
		const captureServer = await describeServer(control);
		const targetServer = await connect(targetCreds).then(async (c) => {
			try {
				return await describeServer(c);
			} finally {
				await c.end();
			}
		});
		const tables = new Tables({
			ctx,
			project,
			direction,
			forward: (await listTables(ctx, projectId)).map((t) => t.mapping),
			servers: {
				destinationEngine: target.engine,
				destinationVersion: targetServer.version,
				source: { flavor: captureServer.flavor, version: captureServer.version },
			},
			capture: capturePool,
			target: targetCreds,
		});
		const skipGtid = reverse ? project.reverse?.skipGtid : project.incremental?.skipGtid;
		applier = new Applier({
			destination: targetCreds,
			stream: replicationId,
			mapping: (t) => tables.mapping(t),
			columnRule: (t, column) => tables.columnRule(t, column),
			onMappingChanged: (m) => tables.mappingChanged(m),
			source: capturePool,
			// reverse replay starts where the destination took no more writes from forward replay: exact from the start
			safeUntil: reverse ? null : (project.incremental?.safeUntil ?? null),
			// one connection: each transaction's checkpoint row comes first, which two-way sync needs (applier.ts)
			parallel: 1,
			onDdl: async (change, { connection, part }) => {
				if (part.gtid && part.gtid === skipGtid) await tables.skipDdl(change, part);
				else await tables.applyDdl(change, part, connection);
			},
		});
		return await replicate(ctx, project, replicationId, owner, signal, { applier, tables, control, captureCreds });
	} finally {
		await applier?.close().catch(() => {});
		await Promise.allSettled([capturePool.end(), control.end()]);
	}
}

async function replicate(
	ctx: Context,
	project: Project,
	replicationId: string,
	owner: string,
	signal: AbortSignal,
	s: { applier: Applier; tables: Tables; control: Connection; captureCreds: Credentials },
): Promise<"stopped" | "ended"> {
	const { projectId, direction } = parseReplicationId(replicationId);
	const { applier, tables } = s;
	const stop = new AbortController();
	const onAbort = () => stop.abort();
	signal.addEventListener("abort", onAbort);
	let echoes = () => 0;
	// before the first transaction is applied, replay stands at its start: an idle source is caught up
	let startedAt: SourcePosition | null = null;
	const reporter = new StatusReporter(
		ctx,
		replicationId,
		owner,
		s.control,
		() => {
			const progress = applier.progress;
			return { ...progress, position: progress.position ?? startedAt, echoes: echoes() };
		},
		stop,
	);
	try {
		const checkpoint = await applier.open();
		let from: SourcePosition | undefined = checkpoint?.position;
		if (!from && direction === "reverse") {
			from = project.reverse?.startPosition;
			if (!from) {
				throw new FatalReplicationError(
					`reverse replication of project ${projectId} has no start position (reverse.startPosition is not recorded): it cannot know from where in the destination's binlog to replicate back`,
				);
			}
		}
		from ??= project.incremental?.startPosition;
		if (!from) throw new Error(`project ${projectId} has no capture start position: its position step did not run`);
		startedAt = from;
		const reader = await openBinlogReader(s.captureCreds, {
			from,
			serverId: serverIdFor(replicationId),
			include: (t) => t.database !== META_DATABASE && tables.captures(t),
			// what the other direction's replay wrote is not sent back (its checkpoint row marks it)
			skipEchoes: echoMarks(peerReplicationId(replicationId)),
		});
		echoes = () => reader.stats.echoes;
		reporter.start();
		// a stop must not wait for the next binlog event
		stop.signal.addEventListener("abort", () => void reader.close().catch(() => {}));
		try {
			await applier.run(reader, stop.signal);
		} finally {
			await reader.close();
		}
		return reporter.lostLease || !replicationWanted(await getProject(ctx, projectId), direction) ? "stopped" : "ended";
	} finally {
		await reporter.stop();
		signal.removeEventListener("abort", onAbort);
	}
}

/**
 * Writes the task's status every second (heartbeat, lease, latency, throughput), and stops the
 * session when the stream is no longer wanted or another task took the lease.
 */
class StatusReporter {
	private timer?: NodeJS.Timeout;
	private last = { at: Date.now(), rows: 0, bytes: 0 };
	private busy: Promise<void> | null = null;
	lostLease = false;

	constructor(
		private readonly ctx: Context,
		private readonly replicationId: string,
		private readonly owner: string,
		/** The server capture reads: how far its binlog is (latency). */
		private readonly source: Connection,
		private readonly progress: () => ApplyStats & { echoes: number },
		private readonly abort: AbortController,
	) {}

	start(): void {
		this.timer = setInterval(() => {
			if (this.busy) return;
			this.busy = this.report()
				.catch((err) => logger.warn("could not write replication status", { error: (err as Error).message }))
				.finally(() => {
					this.busy = null;
				});
		}, STATUS_EVERY_MS);
	}

	/** Stops reporting, once a report under way is written (a fatal stop written after it must not meet it). */
	async stop(): Promise<void> {
		clearInterval(this.timer);
		await this.busy;
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
		const latencySeconds =
			caughtUp || p.lastCommitTime === null
				? caughtUp
					? 0
					: undefined
				: Math.max(0, Math.round((now - p.lastCommitTime) / 1000));
		if (latencySeconds !== undefined) metrics.addMetric("ReplicationLatencySeconds", "Seconds", latencySeconds);
		metrics.addMetric("ReplicatedRows", "Count", rowsPerSecond);
		metrics.publishStoredMetrics();
		const kept = await renewLease(this.ctx, this.replicationId, this.owner, {
			phase: p.mode === "safe" ? "safe" : "exact",
			position: p.position ?? undefined,
			lastCommitTime: p.lastCommitTime ?? undefined,
			latencySeconds,
			transactions: p.transactions,
			rows: p.rows,
			bytes: p.bytes,
			rowsPerSecond,
			bytesPerSecond,
			inconsistencies: p.inconsistencies,
			echoes: p.echoes,
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
async function renewLease(
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
	if (current.owner !== owner && current.leaseUntil > now) return false;
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

function sleep(ms: number, signal: AbortSignal): Promise<void> {
	return new Promise((resolve) => {
		const t = setTimeout(resolve, ms);
		signal.addEventListener("abort", () => {
			clearTimeout(t);
			resolve();
		});
	});
}
