import type { Stored } from "../aws/state-store.ts";
import type { ChunkSpec } from "../copy/plan.ts";
import type { Project } from "../model/project.ts";
import type { TableMapping } from "../model/rules.ts";
import type { Context } from "./context.ts";

/** What travels through the copy queue: just enough to find the chunk's state item. */
export interface ChunkMessage {
	projectId: string;
	sk: string;
}

/**
 * pending -> queued (a message is on its way) -> leased (a worker copies it) -> done.
 * A queued or leased chunk whose deadline passed goes back to the queue, which covers lost
 * messages and workers killed mid-chunk; copying a chunk twice is harmless (see copy/chunk.ts).
 */
export type ChunkState = "pending" | "queued" | "leased" | "done";

export interface ChunkItem {
	tableIndex: number;
	spec: ChunkSpec;
	state: ChunkState;
	/** Epoch ms after which a queued or leased chunk counts as abandoned, or a failed one may be retried. */
	deadline?: number;
	attempts: number;
	rows?: number;
	bytes?: number;
	lastError?: string;
}

/** One table of the project as resolved at precheck, with its planning state. */
export interface TableItem {
	index: number;
	mapping: TableMapping;
	/** Source row estimate (information_schema), for progress only. */
	rowsEstimate: number;
	planned: boolean;
	chunks: number;
}

export const tablesPk = (projectId: string) => `TABLES#${projectId}`;
export const chunksPk = (projectId: string) => `CHUNKS#${projectId}`;
export const tableSk = (index: number) => String(index).padStart(6, "0");
export const chunkSk = (tableIndex: number, chunkIndex: number) =>
	`${tableSk(tableIndex)}#${String(chunkIndex).padStart(9, "0")}`;

/**
 * How long a chunk's lease lasts without a heartbeat (a killed worker's chunk goes to another
 * worker after at most this long; workers renew it every third of it while they copy), and how
 * long a queued chunk may wait for a worker before it is queued again (a message lost with a
 * killed worker). A duplicate message is harmless: the lease lets one worker copy the chunk.
 * Read at each use so a test can shorten them.
 */
export function chunkTimings(): { leaseMs: number; queuedMs: number } {
	return {
		leaseMs: Number(process.env.FERRY_CHUNK_LEASE_MS ?? 60_000),
		queuedMs: Number(process.env.FERRY_CHUNK_QUEUED_MS ?? 120_000),
	};
}
/** Attempts after which a chunk stops the project with a ticket instead of being retried. */
export const MAX_ATTEMPTS = 5;

export async function listTables(ctx: Context, projectId: string): Promise<Stored<TableItem>[]> {
	return ctx.store.list<TableItem>(tablesPk(projectId));
}

export async function listChunks(ctx: Context, projectId: string): Promise<Stored<ChunkItem>[]> {
	return ctx.store.list<ChunkItem>(chunksPk(projectId));
}

/**
 * Keeps up to `parallelism` chunks of a project queued or leased: the project's own
 * concurrency limit, whatever the number of workers. Called by the scheduler on its tick and
 * by each worker when it finishes a chunk, so the pipeline never waits for the next tick.
 */
export async function topUpQueue(ctx: Context, project: Project, now = Date.now()): Promise<number> {
	if (project.state !== "running") return 0;
	const chunks = await listChunks(ctx, project.id);
	const active = chunks.filter(
		(c) => (c.state === "queued" || c.state === "leased") && (c.deadline ?? 0) > now && c.attempts < MAX_ATTEMPTS,
	).length;
	const candidates = chunks.filter((c) => c.attempts < MAX_ATTEMPTS && c.state !== "done" && (c.deadline ?? 0) <= now);
	const room = project.options.parallelism - active;
	const sent: ChunkMessage[] = [];
	for (const c of candidates.slice(0, Math.max(0, room))) {
		try {
			await ctx.store.replace<ChunkItem>(
				{ pk: c.pk, sk: c.sk },
				{
					...stripKey(c),
					state: "queued",
					deadline: now + chunkTimings().queuedMs,
				},
				c.version,
			);
			sent.push({ projectId: project.id, sk: c.sk });
		} catch {
			// another scheduler or worker queued it first: nothing to do
		}
	}
	await ctx.copyQueue.send(sent);
	return sent.length;
}

export function stripKey<T extends object>(item: Stored<T>): T {
	const { pk: _pk, sk: _sk, version: _v, ...rest } = item;
	return rest as unknown as T;
}
