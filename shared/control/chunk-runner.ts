import { ConflictError, type Stored } from "../aws/state-store.ts";
import { currentPosition } from "../binlog/position.ts";
import { copyChunk } from "../copy/chunk.ts";
import { type Connection, createPool, type Pool } from "../db/connect.ts";
import type { Project } from "../model/project.ts";
import type { TableMapping } from "../model/rules.ts";
import { logger, metrics } from "../observability.ts";
import { verifyChunk } from "../verify/chunk.ts";
import { type ChunkConnections, killChunkSessions, openChunkConnections, queryTimeout } from "./chunk-sessions.ts";
import {
	type ChunkItem,
	type ChunkMessage,
	type ChunkSessions,
	chunkTimings,
	jobOf,
	messageKey,
	stripKey,
	type TableItem,
	tableSk,
	tablesPk,
	topUpQueue,
	workerId,
} from "./chunks.ts";
import type { Context } from "./context.ts";
import { credentialsFor } from "./datasources.ts";
import { getProject } from "./projects.ts";
import { forwardReplicating } from "./supervise.ts";

const RETRY_PAUSE_MS = 2_000;

/** A chunk another worker holds right now: the message comes back later. */
export class ChunkBusyError extends Error {
	constructor(sk: string) {
		super(`chunk ${sk} is being worked on by another worker`);
		this.name = "ChunkBusyError";
	}
}

/** Pools live as long as the process (a Lambda container or a local worker), one per data source. */
const pools = new Map<string, Promise<Pool>>();
function poolFor(ctx: Context, dataSourceId: string): Promise<Pool> {
	let pool = pools.get(dataSourceId);
	if (!pool) {
		pool = credentialsFor(ctx, dataSourceId).then((creds) => createPool(creds, 2));
		pool.catch(() => pools.delete(dataSourceId));
		pools.set(dataSourceId, pool);
	}
	return pool;
}

export async function closePools(): Promise<void> {
	const all = [...pools.values()];
	pools.clear();
	await Promise.allSettled(all.map(async (p) => (await p).end()));
}

/** Verifications of one chunk before its remaining differences count as real (under replay). */
export const MAX_RECHECKS = 5;

/** What a worker does with a leased chunk, on the chunk's own connections: the outcome to record on it. */
type ChunkWork = (
	source: Connection,
	destination: Connection,
	mapping: TableMapping,
	chunk: ChunkItem,
	project: Project,
	signal: AbortSignal,
) => Promise<(c: ChunkItem) => ChunkItem>;

const copy: ChunkWork = async (source, destination, mapping, chunk, project, signal) => {
	const parallelism = project.options.parallelism;
	const result = await copyChunk(source, destination, mapping, chunk.spec, {
		maxRowsPerSecond: project.options.maxRowsPerSecond && project.options.maxRowsPerSecond / parallelism,
		maxBytesPerSecond: project.options.maxBytesPerSecond && project.options.maxBytesPerSecond / parallelism,
		signal,
	});
	metrics.addMetric("RowsCopied", "Count", result.rows);
	metrics.addMetric("BytesCopied", "Bytes", result.bytes);
	return (c) => ({ ...c, state: "done", deadline: undefined, rows: result.rows, bytes: result.bytes });
};

/**
 * Verifies a chunk. While replay runs (forward, or reverse too), differences may be rows in
 * flight: the chunk waits in "recheck" until replay has passed the positions read after this
 * check, and only what persists after MAX_RECHECKS checks (or once replay stops) is reported.
 */
const verify: ChunkWork = async (source, destination, mapping, chunk, project) => {
	const earlier = chunk.verification;
	const v = await verifyChunk(source, destination, mapping, chunk.spec, earlier);
	const differs = v.missing + v.extra + v.different > 0;
	const rechecks = (earlier?.rechecks ?? 0) + (differs ? 1 : 0);
	// rows in flight either way: wait for each running replay to pass what this check saw
	const recheck = differs && rechecks < MAX_RECHECKS;
	const [recheckAfter, recheckAfterReverse] = await Promise.all([
		recheck && forwardReplicating(project) ? currentPosition(source) : undefined,
		recheck && project.reverse?.active ? currentPosition(destination) : undefined,
	]);
	metrics.addMetric("RowsVerified", "Count", v.rows);
	return (c) => ({
		...c,
		state: recheckAfter || recheckAfterReverse ? "recheck" : "done",
		deadline: undefined,
		rows: v.rows,
		verification: {
			missing: v.missing,
			extra: v.extra,
			different: v.different,
			differences: v.differences,
			truncated: v.truncated,
			rechecks,
			recheckAfter,
			recheckAfterReverse,
		},
	});
};

/**
 * Copies or verifies one chunk: lease it, do the work, record the outcome, queue the next one.
 * Every step is safe to repeat, so a message delivered twice, or a worker killed at any point,
 * costs time, not data.
 */
export async function runChunk(
	ctx: Context,
	message: ChunkMessage,
	now = () => Date.now(),
): Promise<"done" | "skipped" | "failed"> {
	const key = messageKey(message);
	const job = jobOf(ctx, message);
	const chunk = await ctx.store.get<ChunkItem>(key);
	if (!chunk || chunk.state === "done" || chunk.state === "recheck") return "skipped";
	const project = await getProject(ctx, message.projectId);
	if (!job.active(project)) {
		// paused or released: the scheduler queues it again on resume
		await ctx.store
			.replace<ChunkItem>(key, { ...stripKey(chunk), state: "pending", deadline: undefined }, chunk.version)
			.catch(() => {});
		return "skipped";
	}
	if (chunk.state === "leased" && (chunk.deadline ?? 0) > now()) throw new ChunkBusyError(message.sk);
	let leased: Stored<ChunkItem>;
	try {
		leased = await ctx.store.replace<ChunkItem>(
			key,
			{
				...stripKey(chunk),
				state: "leased",
				deadline: now() + chunkTimings().leaseMs,
				attempts: chunk.attempts + 1,
				owner: workerId(),
			},
			chunk.version,
		);
	} catch (err) {
		if (err instanceof ConflictError) throw new ChunkBusyError(message.sk);
		throw err;
	}

	const table = await ctx.store.get<TableItem>({
		pk: tablesPk(project.id),
		sk: tableSk(chunk.tableIndex),
	});
	if (!table) throw new Error(`table ${chunk.tableIndex} of project ${project.id} has no plan`);
	const work = message.verifyRun === undefined ? copy : verify;
	const stillActive = async () => job.active(await getProject(ctx, project.id));
	const lease = new Lease(ctx, leased, now, stillActive);
	let connections: ChunkConnections | null = null;
	try {
		// a worker that had this chunk before (killed, or its lease ran out) may still run statements
		if (chunk.sessions) await killChunkSessions(ctx, project, [chunk.sessions]);
		const [sourcePool, destinationPool] = await Promise.all([
			poolFor(ctx, project.sourceId),
			poolFor(ctx, project.destinationId),
		]);
		connections = await openChunkConnections(sourcePool, destinationPool, queryTimeout(project));
		const { sessions } = connections;
		await lease.record(sessions);
		// paused or released under the worker: what it runs on the servers is killed
		lease.signal.addEventListener("abort", () => void killChunkSessions(ctx, project, [sessions]));
		// a pause between the lease and recording the sessions found nothing to kill: look again
		if (!(await stillActive())) throw new Error("the project stopped");
		const { source, destination } = connections;
		const outcome = await work(source, destination, table.mapping, chunk, project, lease.signal);
		await lease.finish((c) => ({ ...outcome(c), owner: undefined, lastError: undefined, sessions: undefined }));
	} catch (err) {
		if (!(await stillActive().catch(() => true))) {
			// stopped by a pause or release, not failed: the attempt does not count
			await lease
				.finish((c) => ({ ...c, state: "pending", deadline: undefined, attempts: c.attempts - 1, sessions: undefined }))
				.catch(() => {});
			return "skipped";
		}
		const reason = (err as Error).message;
		logger.warn("chunk failed", {
			projectId: project.id,
			chunk: message.sk,
			error: reason,
		});
		// Back to pending with a growing pause, so a later top-up retries it; after MAX_ATTEMPTS the
		// scheduler opens a ticket naming the table and this error. The message itself is done.
		await lease
			.finish((c) => ({
				...c,
				state: "pending",
				deadline: now() + c.attempts * RETRY_PAUSE_MS,
				owner: undefined,
				lastError: reason,
				sessions: undefined,
			}))
			.catch(() => {});
		return "failed";
	} finally {
		// never reused: their ids may still be recorded somewhere, and a kill must not hit another chunk
		connections?.close();
	}
	await topUpQueue(ctx, await getProject(ctx, project.id), job);
	return "done";
}

/**
 * Keeps a chunk's lease alive while it is copied (a write every third of the lease), so a
 * long chunk is never handed to a second worker while a killed worker's chunk is freed soon.
 * `signal` aborts when the lease is lost or, checked at each renewal, the chunk's job stopped.
 */
class Lease {
	private current: Stored<ChunkItem>;
	private beat: Promise<void> = Promise.resolve();
	private readonly timer: NodeJS.Timeout;
	private readonly stop = new AbortController();
	readonly signal = this.stop.signal;

	constructor(
		private readonly ctx: Context,
		leased: Stored<ChunkItem>,
		private readonly now: () => number,
		private readonly active: () => Promise<boolean>,
	) {
		this.current = leased;
		this.timer = setInterval(() => {
			this.beat = this.beat.then(() => this.renew()).catch(() => {});
		}, chunkTimings().leaseMs / 3);
	}

	private async renew(): Promise<void> {
		try {
			await this.write({ deadline: this.now() + chunkTimings().leaseMs });
		} catch (err) {
			if (err instanceof ConflictError) this.stop.abort(new Error("the chunk's lease was lost"));
			throw err;
		}
		if (!(await this.active())) this.stop.abort(new Error("the project stopped"));
	}

	private async write(change: Partial<ChunkItem>): Promise<void> {
		this.current = await this.ctx.store.replace<ChunkItem>(
			this.current,
			{ ...stripKey(this.current), ...change },
			this.current.version,
		);
	}

	/** Records the chunk's server connections on its item. */
	async record(sessions: ChunkSessions): Promise<void> {
		const written = this.beat.then(() => this.write({ sessions }));
		this.beat = written.catch(() => {});
		await written;
	}

	/** Stops the heartbeat and writes the chunk's outcome; a ConflictError means the lease was lost. */
	async finish(change: (c: ChunkItem) => ChunkItem): Promise<void> {
		clearInterval(this.timer);
		await this.beat;
		await this.ctx.store.replace<ChunkItem>(this.current, change(stripKey(this.current)), this.current.version);
	}
}
