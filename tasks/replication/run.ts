import { createHash, randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { SourcePosition } from "../../shared/binlog/position.ts";
import { openBinlogReader } from "../../shared/capture/reader.ts";
import { listTables } from "../../shared/control/chunks.ts";
import type { Context } from "../../shared/control/context.ts";
import { credentialsFor, getDataSource } from "../../shared/control/datasources.ts";
import { getProject } from "../../shared/control/projects.ts";
import { parseReplicationId, peerReplicationId, replicationStatus } from "../../shared/control/replication.ts";
import { replicationWanted } from "../../shared/control/supervise.ts";
import { type Connection, connect, createPool } from "../../shared/db/connect.ts";
import type { Credentials } from "../../shared/model/datasource.ts";
import type { Project } from "../../shared/model/project.ts";
import { logger, metrics } from "../../shared/observability.ts";
import { Applier } from "../../shared/replay/applier.ts";
import { echoMarks, META_DATABASE } from "../../shared/replay/checkpoint.ts";
import { asFatal, FatalReplicationError } from "../../shared/replay/fatal.ts";
import { describeServer } from "../../shared/schema/read.ts";
import { LEASE_MS, renewLease, StatusReporter } from "./reporter.ts";
import { Tables } from "./tables.ts";

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
	while (!(await renewLease(ctx, replicationId, owner, { session: "starting" }))) {
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
		await renewLease(ctx, replicationId, owner, { leaseUntil: 0, session: "ended" }).catch(() => {});
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
			const kept = await renewLease(ctx, replicationId, owner, { lastError: message, session: "retrying" }).catch(
				() => true,
			);
			if (!kept || !(await waitHoldingLease(ctx, replicationId, owner, backoffMs, signal))) return "stopped";
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
	// the stream's totals so far: this session counts on from them
	const before = await replicationStatus(ctx, replicationId);
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
		{
			transactions: before?.transactions ?? 0,
			rows: before?.rows ?? 0,
			bytes: before?.bytes ?? 0,
			inconsistencies: before?.inconsistencies ?? 0,
			echoes: before?.echoes ?? 0,
			lastCommitTime: before?.lastCommitTime,
		},
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
		applier.startAt(from);
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
 * Waits `ms` between sessions, renewing the lease and the heartbeat every few seconds (a backoff
 * longer than the lease must not hand the stream to another task, nor look like a dead task).
 * False when the lease was lost.
 */
async function waitHoldingLease(
	ctx: Context,
	replicationId: string,
	owner: string,
	ms: number,
	signal: AbortSignal,
): Promise<boolean> {
	const until = Date.now() + ms;
	while (!signal.aborted && Date.now() < until) {
		await sleep(Math.min(5_000, until - Date.now()), signal);
		if (!(await renewLease(ctx, replicationId, owner, {}).catch(() => true))) return false;
	}
	return true;
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
