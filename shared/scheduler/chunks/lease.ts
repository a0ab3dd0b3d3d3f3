import { logger } from "../../observability.ts";
import { type ChunkItem, type ChunkSessions, listChunks, saveChunk } from "../../state/chunks.ts";
import { chunksPk, verifyChunksPk } from "../../state/keys.ts";
import { listProjects } from "../../state/projects.ts";
import { ConflictError, type HasStore, type Stored, update, withoutKey } from "../../state/store.ts";
import { chunkTimings, MAX_ATTEMPTS, workerId } from "./lifecycle.ts";

/**
 * Keeps a chunk's lease alive while it is worked on (a write every third of the lease), so a
 * long chunk is never handed to a second worker while a killed worker's chunk is freed soon.
 * `signal` aborts when the lease is lost or, checked at each renewal, the chunk's job stopped.
 */
export class Lease {
	private current: Stored<ChunkItem>;
	private beat: Promise<void> = Promise.resolve();
	private readonly timer: NodeJS.Timeout;
	private readonly stop = new AbortController();
	readonly signal = this.stop.signal;

	constructor(
		private readonly ctx: HasStore,
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
			this.current = await update<ChunkItem>(this.ctx.store, this.current, {
				deadline: this.now() + chunkTimings().leaseMs,
			});
		} catch (err) {
			if (err instanceof ConflictError) this.stop.abort(new Error("the chunk's lease was lost"));
			throw err;
		}
		if (!(await this.active())) this.stop.abort(new Error("the project stopped"));
	}

	/** Records the chunk's server connections on its item. */
	async record(sessions: ChunkSessions): Promise<void> {
		const written = this.beat.then(async () => {
			this.current = await update<ChunkItem>(this.ctx.store, this.current, { sessions });
		});
		this.beat = written.catch(() => {});
		await written;
	}

	/** Stops the heartbeat and writes the chunk's outcome; a ConflictError means the lease was lost. */
	async finish(change: (c: ChunkItem) => ChunkItem): Promise<void> {
		clearInterval(this.timer);
		await this.beat;
		await saveChunk(this.ctx, this.current, change(withoutKey(this.current)));
	}
}

/**
 * A worker that dies leaves its chunk leased until the lease ends (60 s by default), since
 * nobody else knows it died. Where Ferry does know (local mode starts the worker processes and
 * sees them exit), the chunks the dead worker (its `workerId`) held go back to pending at once,
 * with `reason` as their last error. Returns how many it released.
 */
export async function releaseLeasesOf(ctx: HasStore, pid: number, reason: string): Promise<number> {
	const owner = workerId(pid);
	let released = 0;
	for (const project of await listProjects(ctx)) {
		if (project.state === "released" || project.state === "new") continue;
		const pks = [chunksPk(project.id)];
		if (project.verification) pks.push(verifyChunksPk(project.id, project.verification.run));
		for (const pk of pks) {
			for (const c of await listChunks(ctx, pk)) {
				if (c.state !== "leased" || c.owner !== owner) continue;
				try {
					await update<ChunkItem>(ctx.store, c, {
						state: "pending",
						deadline: undefined,
						owner: undefined,
						lastError: reason,
					});
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
	const retryAt = c.retryAt ?? 0;
	if (c.state === "pending" && retryAt > now) {
		return `waiting ${secs(retryAt - now)} before attempt ${c.attempts + 1}/${MAX_ATTEMPTS}${c.lastError ? ` (last: ${c.lastError})` : ""}`;
	}
	return undefined;
}
