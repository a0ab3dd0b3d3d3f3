import { createHash, randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { currentPosition, type SourcePosition } from "../binlog/position.ts";
import { openBinlogReader } from "../capture/reader.ts";
import type { Context } from "../context.ts";
import { type Connection, connect, createPool, type Pool, sever, severPool } from "../db/connect.ts";
import { type ChangeReader, FeedReader } from "../feed/reader.ts";
import { SYSTEM } from "../model/actor.ts";
import type { Credentials } from "../model/datasource.ts";
import { isBroker } from "../model/datasource.ts";
import type { Project } from "../model/project.ts";
import { logger, metrics } from "../observability.ts";
import { asFatal, FatalReplicationError } from "../replay/fatal.ts";
import { describeServer } from "../schema/read.ts";
import { brokerProbe, openSinkTarget } from "../sinks/open.ts";
import { brokerCredentialsFor, credentialsFor, getDataSource } from "../state/datasources.ts";
import { recordEvent } from "../state/events.ts";
import { FormatTooNewError } from "../state/format.ts";
import { getProject } from "../state/projects.ts";
import { replicationStatus } from "../state/streams.ts";
import { captureFilter } from "./echoes.ts";
import { parseReplicationId } from "./ids.ts";
import { renewLease, takeLease, waitHoldingLease } from "./lease.ts";
import { mysqlTarget } from "./mysql-target.ts";
import { databaseProbe, type Probe, probeServers, probeTimings } from "./probe.ts";
import { StatusReporter } from "./status.ts";
import type { ReplicationTarget } from "./target.ts";
import { replicationWanted } from "./wanted.ts";

/** A replica server id of our own per replication stream: a server refuses two readers with one id. */
function serverIdFor(replicationId: string): number {
	return 100_000 + (createHash("sha256").update(replicationId).digest().readUInt32BE(0) % 4_000_000_000);
}

/**
 * A replication task's loop for one stream (ids.ts `replicationId`).
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
	if (!(await takeLease(ctx, replicationId, owner, signal))) return "stopped";
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
		const ran = { running: false };
		try {
			const outcome = await session(ctx, replicationId, owner, signal, ran);
			if (outcome === "stopped") return "stopped";
		} catch (caught) {
			// a newer Ferry wrote what this task reads (an upgrade under way): retrying cannot help; the
			// task ends, and the scheduler starts its replacement from the new version (format.ts)
			if (caught instanceof FormatTooNewError) throw caught;
			// the backoff grows over failures in a row: a session that ran (say for days, until a
			// network cut) is a fresh start, not the next failure of a series
			if (ran.running) backoffMs = 1000;
			const err = asFatal(caught);
			if (err instanceof FatalReplicationError) {
				logger.error("replication stopped: a person must decide", { replicationId, error: err.message });
				// a stop on a statement is DDL refused (recorded before the stop the ticket follows); the
				// other stops are told by the ticket
				if (err.statement) {
					await recordEvent(ctx, parseReplicationId(replicationId).projectId, {
						kind: "ddl-refused",
						message: err.message,
						actor: SYSTEM,
						subject: replicationId,
						details: { gtid: err.gtid, statement: err.statement },
					});
				}
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
	ran: { running: boolean },
): Promise<"stopped" | "ended"> {
	const { projectId, direction } = parseReplicationId(replicationId);
	const project = await getProject(ctx, projectId);
	if (!replicationWanted(project, direction)) return "stopped";
	// capture reads one side's binlog, replay writes into the other
	const [captureId, targetId] =
		direction === "reverse" ? [project.destinationId, project.sourceId] : [project.sourceId, project.destinationId];
	const captureCreds = await credentialsFor(ctx, captureId);
	const targetSource = await getDataSource(ctx, targetId);
	const broker = isBroker(targetSource) ? await brokerCredentialsFor(ctx, targetId) : undefined;
	const targetCreds = broker ? undefined : await credentialsFor(ctx, targetId);
	const capturePool = createPool(captureCreds, 2);
	const control = await connect(captureCreds);
	let target: ReplicationTarget | undefined;
	// both servers (a broker too) asked all along: one that stops answering ends the session (probe.ts)
	const [captureRole, targetRole] =
		direction === "reverse" ? ["the destination", "the source"] : ["the source", "the destination"];
	const timings = probeTimings();
	const probes: Probe[] = [databaseProbe(captureRole, captureCreds)];
	const targetProbe = targetCreds
		? databaseProbe(targetRole, targetCreds)
		: broker && brokerProbe(broker, timings.timeoutMs);
	if (targetProbe) probes.push(targetProbe);
	const probe = probeServers(probes, timings);
	// ends the session's work (its reader, its status reports) when a server stops answering
	const gaveUp = new AbortController();
	const unreachable = probe.dead.catch((err: Error) => {
		gaveUp.abort();
		// every statement in flight on the session's connections fails now, rather than never
		target?.sever?.(err.message);
		sever(control, err.message);
		severPool(capturePool, err.message);
		throw err;
	});
	unreachable.catch(() => {});
	let work: Promise<unknown> = Promise.resolve();
	try {
		const captureServer = await describeServer(control);
		// the stream's target: a message queue (a synchronization project), or a database
		target = broker
			? await openSinkTarget({
					ctx,
					project,
					stream: replicationId,
					broker,
					capture: capturePool,
					captureCreds,
					control,
				})
			: await mysqlTarget({
					ctx,
					project,
					direction,
					stream: replicationId,
					targetId,
					capture: capturePool,
					captureServer,
				});
		const replicating = replicate(ctx, project, replicationId, owner, AbortSignal.any([signal, gaveUp.signal]), ran, {
			target,
			control,
			captureCreds,
			capturePool,
		});
		work = replicating.catch(() => {});
		// a server that stopped answering ends the session with the probe's word for it, whatever
		// replay was waiting for (severed and aborted, it unwinds on its own)
		return await Promise.race([replicating, unreachable]);
	} finally {
		probe.stop();
		// bounded: on a dead network a polite end waits forever
		const bound = new Promise((resolve) => setTimeout(resolve, 2_000).unref());
		await Promise.race([work, bound]);
		await Promise.race([Promise.allSettled([target?.close(), capturePool.end(), control.end()]), bound]);
		control.destroy();
	}
}

async function replicate(
	ctx: Context,
	project: Project,
	replicationId: string,
	owner: string,
	signal: AbortSignal,
	ran: { running: boolean },
	s: { target: ReplicationTarget; control: Connection; captureCreds: Credentials; capturePool: Pool },
): Promise<"stopped" | "ended"> {
	const { projectId, direction } = parseReplicationId(replicationId);
	const { target } = s;
	const stop = new AbortController();
	const onAbort = () => stop.abort();
	signal.addEventListener("abort", onAbort);
	let echoes = () => 0;
	let restart = false;
	// where the source stands: its binlog's position, or what the change feed has shown so far
	let sourceNow = (): Promise<SourcePosition | null> => currentPosition(s.control);
	// before the first transaction is applied, replay stands at its start: an idle source is caught up
	let startedAt: SourcePosition | null = null;
	// the stream's totals so far: this session counts on from them
	const before = await replicationStatus(ctx, replicationId);
	const reporter = new StatusReporter(
		ctx,
		replicationId,
		owner,
		() => sourceNow(),
		() => {
			const progress = target.progress;
			return { ...progress, position: progress.position ?? startedAt, echoes: echoes() };
		},
		stop,
		{
			transactions: before?.transactions ?? 0,
			rows: before?.rows ?? 0,
			bytes: before?.bytes ?? 0,
			inconsistencies: before?.inconsistencies ?? 0,
			echoes: before?.echoes ?? 0,
			tables: before?.tables,
			lastCommitTime: before?.lastCommitTime,
		},
		(p) => {
			const retuned = target.retune?.(p);
			if (retuned === "applied") logger.info("replay parameters changed: applied", { replicationId });
			if (retuned === "restart" && !restart) {
				// e.g. another number of apply connections: a new session resumes from the checkpoint
				logger.info("replay parameters changed: restarting the session", { replicationId });
				restart = true;
				stop.abort();
			}
		},
	);
	try {
		let from: SourcePosition | undefined = (await target.open()) ?? undefined;
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
		target.startAt(from);
		reporter.start();
		ran.running = true;
		// a synchronization project's snapshot goes before the first change (shared/sinks/snapshot.ts)
		await target.snapshot?.(stop.signal);
		const filter = captureFilter(replicationId, (t) => target.captures(t));
		let reader: ChangeReader;
		if (project.feed && direction === "forward") {
			// the source's changes come from a change feed in Kafka (TiCDC, or a Ferry synchronization)
			const broker = await brokerCredentialsFor(ctx, project.feed.dataSourceId);
			if (broker.engine !== "kafka")
				throw new FatalReplicationError(`the change feed of project ${projectId} must be a Kafka data source`);
			const feed = await FeedReader.open({
				feed: project.feed,
				creds: broker.creds,
				from,
				source: s.capturePool,
				include: filter.include,
			});
			sourceNow = async () => feed.head();
			reader = feed;
		} else {
			reader = await openBinlogReader(s.captureCreds, { from, serverId: serverIdFor(replicationId), ...filter });
		}
		echoes = () => reader.stats.echoes;
		// a stop must not wait for the next binlog event
		stop.signal.addEventListener("abort", () => void reader.close().catch(() => {}));
		try {
			await target.run(reader, stop.signal);
		} finally {
			await reader.close();
		}
		return reporter.lostLease || !replicationWanted(await getProject(ctx, projectId), direction) ? "stopped" : "ended";
	} finally {
		await reporter.stop();
		signal.removeEventListener("abort", onAbort);
	}
}
