import { createHash } from "node:crypto";
import type { RowDataPacket } from "mysql2";
import type { ChunkSpec } from "../chunking/plan.ts";
import type { Connection } from "../db/connect.ts";
import { CopyError, type SideErrors, serverError } from "./errors.ts";

/**
 * The destination's named lock for a chunk: the destination table and the chunk's bounds,
 * hashed to fit the 64 characters servers allow.
 */
export function chunkLockName(chunk: ChunkSpec): string {
	const what = JSON.stringify([
		chunk.destination.database,
		chunk.destination.table,
		chunk.kind,
		chunk.kind === "range" ? [chunk.lower, chunk.upper] : null,
	]);
	return `ferry-copy-${createHash("sha256").update(what).digest("hex").slice(0, 40)}`;
}

/**
 * Takes the chunk's named lock at the destination, waiting up to `waitSeconds`; returns its name,
 * or null on a server without named locks. One attempt at a time per chunk: batches commit as
 * they go (a transaction per chunk was measured 25% slower: its binlog spills and is written at
 * commit while others wait), so two attempts running at once could interleave: B deletes what A
 * committed, B dies, A finishes and the range misses rows. A named lock held by the destination
 * session that writes rules that out, and goes with the session when its worker dies.
 */
export async function lockChunk(
	dst: Connection,
	chunk: ChunkSpec,
	waitSeconds: number,
	what: string,
	fail: SideErrors["fail"],
): Promise<string | null> {
	const lockName = chunkLockName(chunk);
	let lock: number | null;
	try {
		const [[row]] = await dst.query<RowDataPacket[]>("SELECT GET_LOCK(?, ?) AS ok", [lockName, waitSeconds]);
		lock = Number(row?.ok);
	} catch (err) {
		// A server without named locks (ER_SP_DOES_NOT_EXIST, ER_NOT_SUPPORTED_YET) goes without.
		const errno = serverError(err).errno;
		if (errno !== 1305 && errno !== 1235) throw fail("destination", err);
		lock = null;
	}
	if (lock === 0) {
		throw new CopyError(
			`${what}: another attempt at this chunk is still running (destination lock ${lockName} is held)`,
			"CHUNK_BUSY",
		);
	}
	return lock === null ? null : lockName;
}

export async function releaseChunkLock(
	dst: Connection,
	lockName: string | null,
	onDestination: SideErrors["onDestination"],
): Promise<void> {
	if (lockName !== null) {
		await onDestination(dst.query("DO RELEASE_LOCK(?)", [lockName]));
	}
}
