import type { Context } from "../../context.ts";
import { createPool, isNetworkError, type Pool } from "../../db/connect.ts";
import type { ChunkMessage } from "../../model/chunk-message.ts";
import type { Credentials } from "../../model/datasource.ts";
import { logger } from "../../observability.ts";
import { databaseProbe, probeServers } from "../../replication/probe.ts";
import { getChunk } from "../../state/chunks.ts";
import { credentialsFor } from "../../state/datasources.ts";
import { getProject } from "../../state/projects.ts";
import { getTable } from "../../state/tables.ts";
import { copy, copyJob } from "./copy.ts";
import { Lease } from "./lease.ts";
import { abandoned, type ChunkJob, type ChunkWork, failed, putBack, take, topUpAfter } from "./lifecycle.ts";
import { type ChunkConnections, killChunkSessions, openChunkConnections, queryTimeout } from "./sessions.ts";
import { verify, verifyJob } from "./verify.ts";

/** A data source's pool and where it points (for the probe): one per data source, as long as the process lives. */
interface Server {
	pool: Pool;
	creds: Credentials;
}
const servers = new Map<string, Promise<Server>>();

function serverFor(ctx: Context, dataSourceId: string): Promise<Server> {
	let server = servers.get(dataSourceId);
	if (!server) {
		server = credentialsFor(ctx, dataSourceId).then((creds) => ({ pool: createPool(creds, 2), creds }));
		server.catch(() => servers.delete(dataSourceId));
		servers.set(dataSourceId, server);
	}
	return server;
}

export async function closePools(): Promise<void> {
	const all = [...servers.values()];
	servers.clear();
	await Promise.allSettled(all.map(async (s) => (await s).pool.end()));
}

/** The job and the work of a queue message: a copy chunk, or a chunk of verification run `verifyRun`. */
function kindOf(ctx: Context, m: ChunkMessage): { job: ChunkJob; work: ChunkWork } {
	return m.verifyRun === undefined
		? { job: copyJob(ctx, m.projectId), work: copy }
		: { job: verifyJob(ctx, m.projectId, m.verifyRun), work: verify };
}

/**
 * The chunk worker's path for one message, copy or verify alike: lease the chunk, do the work
 * on connections of its own, record the outcome, queue the next one. Every step is safe to
 * repeat, so a message delivered twice, or a worker killed at any point, costs time, not data.
 */
export async function runChunk(
	ctx: Context,
	message: ChunkMessage,
	now = () => Date.now(),
): Promise<"done" | "skipped" | "failed"> {
	const { job, work } = kindOf(ctx, message);
	const chunk = await getChunk(ctx, job.pk, message.sk);
	if (!chunk || chunk.state === "done" || chunk.state === "recheck") return "skipped";
	const project = await getProject(ctx, message.projectId);
	if (!job.active(project)) {
		await putBack(ctx, chunk);
		return "skipped";
	}
	const leased = await take(ctx, chunk, now());
	const table = await getTable(ctx, project.id, chunk.tableIndex);
	if (!table) throw new Error(`table ${chunk.tableIndex} of project ${project.id} has no plan`);
	const stillActive = async () => job.active(await getProject(ctx, project.id));
	const lease = new Lease(ctx, leased, now, stillActive);
	let connections: ChunkConnections | null = null;
	let ended = false;
	let probe: { dead: Promise<never>; stop(): void } | undefined;
	try {
		const [sourceServer, destinationServer] = await Promise.all([
			serverFor(ctx, project.sourceId),
			serverFor(ctx, project.destinationId),
		]);
		// a black-holed server leaves whatever waits on it waiting with nothing to end it (no RST;
		// the lease's heartbeat goes to the state table, which still answers): the probe ends the
		// attempt, from the first connection on
		probe = probeServers([
			databaseProbe("the source", sourceServer.creds),
			databaseProbe("the destination", destinationServer.creds),
		]);
		const attempt = async () => {
			// a worker that had this chunk before (killed, or its lease ran out) may still run statements
			if (chunk.sessions) await killChunkSessions(ctx, project, [chunk.sessions]);
			const opened = await openChunkConnections(sourceServer.pool, destinationServer.pool, queryTimeout(project));
			if (ended) {
				// the probe gave up while they opened: nobody will close them but here
				opened.close();
				throw new Error("the attempt ended while its connections opened");
			}
			connections = opened;
			const { sessions } = opened;
			await lease.record(sessions);
			// paused or released under the worker: what it runs on the servers is killed
			lease.signal.addEventListener("abort", () => void killChunkSessions(ctx, project, [sessions]));
			// a pause between the lease and recording the sessions found nothing to kill: look again
			if (!(await stillActive())) throw new Error("the project stopped");
			const { source, destination } = opened;
			return work({ ctx, source, destination, table, mapping: table.mapping, chunk, project, signal: lease.signal });
		};
		const outcome = await Promise.race([attempt(), probe.dead]);
		await lease.finish((c) => ({
			...outcome(c),
			owner: undefined,
			lastError: undefined,
			networkSince: undefined,
			sessions: undefined,
		}));
	} catch (err) {
		if (!(await stillActive().catch(() => true))) {
			// stopped by a pause or release, not failed: the attempt does not count
			await lease.finish(abandoned).catch(() => {});
			return "skipped";
		}
		const reason = (err as Error).message;
		logger.warn("chunk failed", { projectId: project.id, chunk: message.sk, error: reason });
		// after MAX_ATTEMPTS the scheduler opens a ticket naming the table and this error; the message itself is done
		const network = isNetworkError(err) || isNetworkError((err as { cause?: unknown }).cause);
		await lease.finish((c) => failed(c, reason, now(), network)).catch(() => {});
		return "failed";
	} finally {
		ended = true;
		probe?.stop();
		// never reused: their ids may still be recorded somewhere, and a kill must not hit another chunk
		(connections as ChunkConnections | null)?.close();
	}
	await topUpAfter(ctx, await getProject(ctx, project.id), job, message.sk);
	return "done";
}
