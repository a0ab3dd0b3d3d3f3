import type { SourcePosition } from "../binlog/position.ts";
import type { ChunkSpec } from "../chunking/plan.ts";
import type { RowDiff } from "../verify/diff.ts";
import { chunkSk } from "./keys.ts";
import { type HasStore, ignoreConflict, type Stored } from "./store.ts";

/**
 * pending -> queued (a message is on its way) -> leased (a worker copies or verifies it) -> done.
 * A verify chunk that found differences while replay runs waits in "recheck" until replay has
 * passed the source position of that check, then goes back to pending. The transitions are
 * written in one place: scheduler/chunks/lifecycle.ts.
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

/** One connection of a chunk on one server (see scheduler/chunks/sessions.ts). */
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

/** A copy chunk (`CHUNKS#<project>`) or a verification chunk (`VERIFY#<project>#<run>`). */
export interface ChunkItem {
	tableIndex: number;
	spec: ChunkSpec;
	state: ChunkState;
	/** Epoch ms after which a queued or leased chunk counts as abandoned (queued again). */
	deadline?: number;
	/** A failed (pending) chunk's next attempt waits until then, epoch ms (format 2; format 1 kept it in `deadline`). */
	retryAt?: number;
	attempts: number;
	/** The worker holding the lease (`workerId`): a worker known to have died has its leases released at once. */
	owner?: string;
	rows?: number;
	bytes?: number;
	lastError?: string;
	/** When its attempts began to fail on the network alone (such attempts are not counted for a while: lifecycle.ts `failed`). */
	networkSince?: number;
	verification?: ChunkVerification;
	/** While leased: the worker's connections (absent before it opened them and once it is done). */
	sessions?: ChunkSessions;
}

/** The chunks of one partition (a project's copy, or one verification run). */
export async function listChunks(ctx: HasStore, pk: string): Promise<Stored<ChunkItem>[]> {
	return ctx.store.list<ChunkItem>(pk);
}

/** Records a planned chunk, pending; planning again after a crash finds it there and leaves it. */
export async function createChunk(ctx: HasStore, pk: string, index: number, item: ChunkItem): Promise<void> {
	await ctx.store.create({ pk, sk: chunkSk(item.tableIndex, index) }, item).catch(ignoreConflict);
}

export async function getChunk(ctx: HasStore, pk: string, sk: string): Promise<Stored<ChunkItem> | undefined> {
	return ctx.store.get<ChunkItem>({ pk, sk });
}

/** Writes a chunk's new state on the version it was read at; throws ConflictError when it changed since. */
export async function saveChunk(ctx: HasStore, chunk: Stored<ChunkItem>, next: ChunkItem): Promise<Stored<ChunkItem>> {
	return ctx.store.replace<ChunkItem>(chunk, next, chunk.version);
}
