import type { RowDataPacket } from "mysql2";
import type { Context } from "../../context.ts";
import { type Connection, connect, type Pool } from "../../db/connect.ts";
import type { Project } from "../../model/project.ts";
import { logger } from "../../observability.ts";
import { type ChunkSessions, listChunks, type ServerSession } from "../../state/chunks.ts";
import { credentialsFor } from "../../state/datasources.ts";
import { boundStatements } from "./bound.ts";
import { copyJob } from "./copy.ts";
import { verifyJob } from "./verify.ts";

/**
 * The server connections of a chunk, and how they are stopped when the chunk is abandoned.
 *
 * A chunk query does not always end with its worker. Measured on MariaDB 10.11 with the client
 * killed by SIGKILL: a streaming SELECT stops at once (its next write to the socket fails) and
 * SLEEP() within 5 s, but a statement that writes nothing to the client until it is done (a
 * verification checksum, a range DELETE waiting for a lock, INSERT ... SELECT, a filtered scan
 * that finds nothing) runs on to its end: still running 40 s later. So:
 * - every statement of a chunk is bounded by the server (`boundStatements`);
 * - each chunk works on connections of its own, whose ids are recorded on the chunk's item
 *   (`sessions`) and which are closed, never reused, after the chunk;
 * - whoever abandons or takes over a chunk kills its recorded connections from another one: the
 *   worker itself when the project is paused or released under it, the pause and release
 *   actions for every leased chunk, and the next worker to lease a chunk whose lease ran out.
 */

/** How long a chunk statement may run when the project does not say (`options.queryTimeoutSeconds`). */
export const DEFAULT_QUERY_TIMEOUT_SECONDS = 3600;

export function queryTimeout(project: Project): number {
	return project.options.queryTimeoutSeconds ?? DEFAULT_QUERY_TIMEOUT_SECONDS;
}

async function identify(conn: Connection): Promise<ServerSession> {
	const [[row]] = await conn.query<RowDataPacket[]>("SELECT CONNECTION_ID() AS id, UNIX_TIMESTAMP() AS now");
	const [[uptime]] = await conn.query<RowDataPacket[]>("SHOW GLOBAL STATUS LIKE 'Uptime'");
	return { threadId: Number(row?.id), serverStart: Number(row?.now) - Number(uptime?.Value) };
}

/** The two connections a chunk works on, bounded and identified; `close` destroys them. */
export interface ChunkConnections {
	source: Connection;
	destination: Connection;
	sessions: ChunkSessions;
	close(): void;
}

export async function openChunkConnections(
	sourcePool: Pool,
	destinationPool: Pool,
	seconds: number,
): Promise<ChunkConnections> {
	const held: Connection[] = [];
	const close = () => {
		for (const c of held) c.destroy();
	};
	try {
		const open = async (pool: Pool): Promise<[Connection, ServerSession]> => {
			const conn = await pool.getConnection();
			held.push(conn);
			await boundStatements(conn, seconds);
			return [conn, await identify(conn)];
		};
		const [[source, s], [destination, d]] = await Promise.all([open(sourcePool), open(destinationPool)]);
		return { source, destination, sessions: { source: s, destination: d }, close };
	} catch (err) {
		close();
		throw err;
	}
}

/**
 * Kills one recorded connection from `admin` (another connection to the same server), unless
 * the server restarted since (its thread ids start again). True if a connection was killed.
 */
export async function killSession(admin: Connection, session: ServerSession): Promise<boolean> {
	const now = await identify(admin);
	if (Math.abs(now.serverStart - session.serverStart) > 2) return false;
	try {
		await admin.query(`KILL CONNECTION ${Number(session.threadId)}`);
		return true;
	} catch (err) {
		if ((err as { errno?: number }).errno === 1094) return false; // ER_NO_SUCH_THREAD: already gone
		throw err;
	}
}

/**
 * Kills the recorded connections of chunks on both servers of a project, one short-lived
 * connection per server. Failures are logged, not thrown: a pause must not fail because a
 * server is unreachable (its statements then end at their time bound).
 */
export async function killChunkSessions(ctx: Context, project: Project, sessions: ChunkSessions[]): Promise<number> {
	let killed = 0;
	for (const side of ["source", "destination"] as const) {
		const wanted = sessions.map((s) => s[side]);
		if (wanted.length === 0) continue;
		let admin: Connection | null = null;
		try {
			admin = await connect(await credentialsFor(ctx, side === "source" ? project.sourceId : project.destinationId));
			for (const s of wanted) if (await killSession(admin, s)) killed += 1;
		} catch (err) {
			logger.warn("could not kill abandoned chunk queries", {
				projectId: project.id,
				side,
				error: (err as Error).message,
			});
		} finally {
			await admin?.end().catch(() => {});
		}
	}
	return killed;
}

/**
 * Kills what the leased chunks of a job (a project's copy, or a verification run) run on the
 * servers: called when the job stops (pause, release, verification paused). A worker still alive
 * sees its statement fail and puts the chunk back without counting the attempt.
 */
export async function cancelChunks(ctx: Context, project: Project, pk: string): Promise<number> {
	const leased = (await listChunks(ctx, pk)).filter((c) => c.state === "leased" && c.sessions);
	if (leased.length === 0) return 0;
	return killChunkSessions(
		ctx,
		project,
		leased.map((c) => c.sessions as ChunkSessions),
	);
}

/** After a pause or release: kills the statements of every chunk whose job (copy, verification run) stopped with it. */
export async function cancelStoppedChunks(ctx: Context, project: Project): Promise<number> {
	const jobs = [copyJob(ctx, project.id)];
	if (project.verification) jobs.push(verifyJob(ctx, project.id, project.verification.run));
	let killed = 0;
	for (const job of jobs) if (!job.active(project)) killed += await cancelChunks(ctx, project, job.pk);
	return killed;
}
