import { hostname } from "node:os";
import type { Stored } from "../aws/state-store.ts";
import type { WorkQueue } from "../aws/work-queue.ts";
import type { SourcePosition } from "../binlog/position.ts";
import type { ChunkSpec } from "../copy/plan.ts";
import type { Project } from "../model/project.ts";
import type { TableMapping } from "../model/rules.ts";
import type { RowDiff } from "../verify/diff.ts";
import type { Context } from "./context.ts";

/**
 * What travels through the copy and verify queues: just enough to find the chunk's state item.
 * A verify chunk names its verification run; a copy chunk does not.
 */
export interface ChunkMessage {
	projectId: string;
	sk: string;
	verifyRun?: number;
}

/**
 * pending -> queued (a message is on its way) -> leased (a worker copies or verifies it) -> done.
 * A queued or leased chunk whose deadline passed goes back to the queue, which covers lost
 * messages and workers killed mid-chunk; copying or verifying a chunk twice is harmless (see
 * copy/chunk.ts). A verify chunk that found differences while replay runs waits in "recheck"
 * until replay has passed the source position of that check, then goes back to pending.
 */
export type ChunkState = "pending" | "queued" | "leased" | "recheck" | "done";

/** What a verify chunk found (its latest check); absent on copy chunks. */
export interface ChunkVerification {
	missing: number;
	extra: number;
	different: number;
	/** The first differences (all of them unless `truncated`). */
	differences: RowDiff[];
	truncated: boolean;
	/** Checks so far that found differences. */
	rechecks: number;
	/** A recheck waits until forward replay has reached this source position ... */
	recheckAfter?: SourcePosition;
	/** ... and reverse replay (if it runs) this destination position. */
	recheckAfterReverse?: SourcePosition;
}

/** One connection of a chunk on one server (see chunk-sessions.ts). */
export interface ServerSession {
	/** CONNECTION_ID() on that server. */
	threadId: number;
	/** When that server started (epoch seconds, from its Uptime): thread ids are unique only until a restart. */
	serverStart: number;
}

/** The connections a leased chunk works on, so that another process can kill them. */
export interface ChunkSessions {
	source: ServerSession;
	destination: ServerSession;
}

export interface ChunkItem {
	tableIndex: number;
	spec: ChunkSpec;
	state: ChunkState;
	/** Epoch ms after which a queued or leased chunk counts as abandoned, or a failed one may be retried. */
	deadline?: number;
	attempts: number;
	/** The worker holding the lease (`workerId`): a worker known to have died has its leases released at once. */
	owner?: string;
	rows?: number;
	bytes?: number;
	lastError?: string;
	verification?: ChunkVerification;
	/** While leased: the worker's connections (absent before it opened them and once it is done). */
	sessions?: ChunkSessions;
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
export const verifyChunksPk = (projectId: string, run: number) => `VERIFY#${projectId}#${run}`;
/** Marks each table of a verification run as planned (all its chunk items exist), so planning resumes. */
export const verifyPlanPk = (projectId: string, run: number) => `VPLAN#${projectId}#${run}`;
/** The state item a queue message names. */
export const messageKey = (m: ChunkMessage) => ({
	pk: m.verifyRun === undefined ? chunksPk(m.projectId) : verifyChunksPk(m.projectId, m.verifyRun),
	sk: m.sk,
});
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
/** This process as the holder of chunk leases: `<host>:<pid>`, which a parent process can name for its child. */
export function workerId(pid = process.pid): string {
	return `${hostname()}:${pid}`;
}

/** Attempts after which a chunk stops the project with a ticket instead of being retried. */
export const MAX_ATTEMPTS = 5;

export async function listTables(ctx: Context, projectId: string): Promise<Stored<TableItem>[]> {
	return ctx.store.list<TableItem>(tablesPk(projectId));
}

export async function listChunks(ctx: Context, projectId: string): Promise<Stored<ChunkItem>[]> {
	return ctx.store.list<ChunkItem>(chunksPk(projectId));
}

export async function listVerifyChunks(ctx: Context, projectId: string, run: number): Promise<Stored<ChunkItem>[]> {
	return ctx.store.list<ChunkItem>(verifyChunksPk(projectId, run));
}

/** A set of chunks fed through one queue: a project's copy, or one of its verification runs. */
export interface ChunkJob {
	pk: string;
	queue: WorkQueue<ChunkMessage>;
	message(sk: string): ChunkMessage;
	/** Whether its chunks may run now (not paused, not stopped). */
	active(project: Project): boolean;
}

export const copyJob = (ctx: Context, projectId: string): ChunkJob => ({
	pk: chunksPk(projectId),
	queue: ctx.copyQueue,
	message: (sk) => ({ projectId, sk }),
	active: (p) => p.state === "running",
});

export const verifyJob = (ctx: Context, projectId: string, run: number): ChunkJob => ({
	pk: verifyChunksPk(projectId, run),
	queue: ctx.verifyQueue,
	message: (sk) => ({ projectId, sk, verifyRun: run }),
	// a verification goes on while a ticket waits (it may be what the ticket is about)
	active: (p) =>
		["running", "completed", "failed"].includes(p.state) &&
		p.verification?.run === run &&
		p.verification.state === "running",
});

/** The job a queue message belongs to. */
export function jobOf(ctx: Context, m: ChunkMessage): ChunkJob {
	return m.verifyRun === undefined ? copyJob(ctx, m.projectId) : verifyJob(ctx, m.projectId, m.verifyRun);
}

/**
 * Keeps up to `parallelism` chunks of a job queued or leased: the project's own concurrency
 * limit, whatever the number of workers. Called by the scheduler on its tick and by each worker
 * when it finishes a chunk, so the pipeline never waits for the next tick.
 */
export async function topUpQueue(ctx: Context, project: Project, job: ChunkJob, now = Date.now()): Promise<number> {
	if (!job.active(project)) return 0;
	const chunks = await ctx.store.list<ChunkItem>(job.pk);
	const active = chunks.filter(
		(c) => (c.state === "queued" || c.state === "leased") && (c.deadline ?? 0) > now && c.attempts < MAX_ATTEMPTS,
	).length;
	const candidates = chunks.filter(
		(c) => c.attempts < MAX_ATTEMPTS && c.state !== "done" && c.state !== "recheck" && (c.deadline ?? 0) <= now,
	);
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
			sent.push(job.message(c.sk));
		} catch {
			// another scheduler or worker queued it first: nothing to do
		}
	}
	await job.queue.send(sent);
	return sent.length;
}

export function stripKey<T extends object>(item: Stored<T>): T {
	const { pk: _pk, sk: _sk, version: _v, ...rest } = item;
	return rest as unknown as T;
}
