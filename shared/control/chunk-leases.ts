import { ConflictError } from "../aws/state-store.ts";
import { logger } from "../observability.ts";
import { type ChunkItem, chunksPk, chunkTimings, MAX_ATTEMPTS, stripKey, verifyChunksPk, workerId } from "./chunks.ts";
import type { Context } from "./context.ts";
import { listProjects } from "./projects.ts";

/**
 * Leases of dead workers, and what a chunk that is not done waits for.
 *
 * A worker renews its chunk's lease while it works (chunk-runner.ts); one that dies leaves the
 * chunk leased until the lease ends (60 s by default), since nobody else knows it died. Where
 * Ferry does know (local mode starts the worker processes and sees them exit), the chunks the
 * dead worker held are released at once.
 */

/**
 * Puts the chunks a dead worker (its `workerId`) held back to pending, with `reason` as their
 * last error, so the next top-up queues them again. Returns how many it released.
 */
export async function releaseLeasesOf(ctx: Context, pid: number, reason: string): Promise<number> {
	const owner = workerId(pid);
	let released = 0;
	for (const project of await listProjects(ctx)) {
		if (project.state === "released" || project.state === "new") continue;
		const pks = [chunksPk(project.id)];
		if (project.verification) pks.push(verifyChunksPk(project.id, project.verification.run));
		for (const pk of pks) {
			for (const c of await ctx.store.list<ChunkItem>(pk)) {
				if (c.state !== "leased" || c.owner !== owner) continue;
				try {
					await ctx.store.replace<ChunkItem>(
						c,
						{ ...stripKey(c), state: "pending", deadline: undefined, owner: undefined, lastError: reason },
						c.version,
					);
					released += 1;
				} catch (err) {
					// the worker wrote its outcome after all, or another process released it
					if (!(err instanceof ConflictError)) throw err;
				}
			}
		}
	}
	if (released > 0) logger.info("released the chunk leases of a dead worker", { owner, released });
	return released;
}

/**
 * What a chunk that is not done waits for, for the status; undefined for a pending chunk that
 * simply waits for its turn (the project copies `parallelism` chunks at a time).
 */
export function chunkWait(c: ChunkItem, now = Date.now()): string | undefined {
	const { leaseMs, queuedMs } = chunkTimings();
	const secs = (ms: number) => `${Math.max(0, Math.round(ms / 1000))} s`;
	const attempt = `attempt ${c.attempts}/${MAX_ATTEMPTS}`;
	const deadline = c.deadline ?? 0;
	if (c.state === "leased") {
		const by = c.owner ? `worker ${c.owner}` : "a worker";
		if (deadline <= now) return `the lease of ${by} ended ${secs(now - deadline)} ago: queued again at the next top-up`;
		// a live worker renews the lease every third of it
		const silent = now - (deadline - leaseMs);
		if (silent > leaseMs / 3 + 5_000) {
			return `leased by ${by} (${attempt}), which has not renewed its lease for ${secs(silent)}: if it died, the chunk is queued again when the lease ends in ${secs(deadline - now)}`;
		}
		return `being worked on by ${by} (${attempt})`;
	}
	if (c.state === "queued") {
		const waited = now - (deadline - queuedMs);
		return deadline > now
			? `queued ${secs(waited)} ago, waiting for a free worker (queued again in ${secs(deadline - now)} if none takes it)`
			: `queued ${secs(waited)} ago and not taken: queued again at the next top-up`;
	}
	if (c.state === "pending" && deadline > now) {
		return `waiting ${secs(deadline - now)} before attempt ${c.attempts + 1}/${MAX_ATTEMPTS}${c.lastError ? ` (last: ${c.lastError})` : ""}`;
	}
	return undefined;
}
