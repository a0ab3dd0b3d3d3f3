import { ConflictError, type Stored } from "../aws/state-store.ts";
import { copyChunk } from "../copy/chunk.ts";
import { type Pool, createPool } from "../db/connect.ts";
import { logger, metrics } from "../observability.ts";
import { type ChunkItem, type ChunkMessage, LEASE_MS, type TableItem, chunksPk, stripKey, tableSk, tablesPk, topUpQueue } from "./chunks.ts";
import type { Context } from "./context.ts";
import { credentialsFor } from "./datasources.ts";
import { getProject } from "./projects.ts";

const RETRY_PAUSE_MS = 2_000;

/** A chunk another worker holds right now: the message comes back later. */
export class ChunkBusyError extends Error {
	constructor(sk: string) {
		super(`chunk ${sk} is being copied by another worker`);
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

/**
 * Copies one chunk: lease it, copy it, mark it done, queue the next one. Every step is safe to
 * repeat, so a message delivered twice, or a worker killed at any point, costs time, not data.
 */
export async function runChunk(
	ctx: Context,
	message: ChunkMessage,
	now = () => Date.now(),
): Promise<"done" | "skipped" | "failed"> {
	const key = { pk: chunksPk(message.projectId), sk: message.sk };
	const chunk = await ctx.store.get<ChunkItem>(key);
	if (!chunk || chunk.state === "done") return "skipped";
	const project = await getProject(ctx, message.projectId);
	if (project.state !== "running") {
		// paused or released: the scheduler queues it again on resume
		await ctx.store.replace<ChunkItem>(key, { ...stripKey(chunk), state: "pending", deadline: undefined }, chunk.version).catch(() => {});
		return "skipped";
	}
	if (chunk.state === "leased" && (chunk.deadline ?? 0) > now()) throw new ChunkBusyError(message.sk);
	let leased: Stored<ChunkItem>;
	try {
		leased = await ctx.store.replace<ChunkItem>(
			key,
			{ ...stripKey(chunk), state: "leased", deadline: now() + LEASE_MS, attempts: chunk.attempts + 1 },
			chunk.version,
		);
	} catch (err) {
		if (err instanceof ConflictError) throw new ChunkBusyError(message.sk);
		throw err;
	}

	const table = await ctx.store.get<TableItem>({ pk: tablesPk(project.id), sk: tableSk(chunk.tableIndex) });
	if (!table) throw new Error(`table ${chunk.tableIndex} of project ${project.id} has no plan`);
	const parallelism = project.options.parallelism;
	try {
		const [source, destination] = await Promise.all([poolFor(ctx, project.sourceId), poolFor(ctx, project.destinationId)]);
		const result = await copyChunk(source, destination, table.mapping, chunk.spec, {
			maxRowsPerSecond: project.options.maxRowsPerSecond && project.options.maxRowsPerSecond / parallelism,
			maxBytesPerSecond: project.options.maxBytesPerSecond && project.options.maxBytesPerSecond / parallelism,
		});
		await ctx.store.replace<ChunkItem>(
			key,
			{ ...stripKey(leased), state: "done", deadline: undefined, rows: result.rows, bytes: result.bytes, lastError: undefined },
			leased.version,
		);
		metrics.addMetric("RowsCopied", "Count", result.rows);
		metrics.addMetric("BytesCopied", "Bytes", result.bytes);
	} catch (err) {
		const message_ = (err as Error).message;
		logger.warn("chunk failed", { projectId: project.id, chunk: message.sk, error: message_ });
		// Back to pending with a growing pause, so a later top-up retries it; after MAX_ATTEMPTS the
		// scheduler opens a ticket naming the table and this error. The message itself is done.
		await ctx.store
			.replace<ChunkItem>(
				key,
				{ ...stripKey(leased), state: "pending", deadline: now() + leased.attempts * RETRY_PAUSE_MS, lastError: message_ },
				leased.version,
			)
			.catch(() => {});
		return "failed";
	}
	await topUpQueue(ctx, await getProject(ctx, project.id));
	return "done";
}
