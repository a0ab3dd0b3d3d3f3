import { hostname } from "node:os";
import type { Context } from "../context.ts";
import { logger } from "../observability.ts";
import { type ReplicationStatus, renewStreamLease } from "../state/streams.ts";

/*
 * A replication stream's lease: one task per stream runs it. The lease lives in the stream's
 * status item (state/streams.ts), renewed with every status report (status.ts).
 */

/** How long a task's lease lasts without renewal: a killed task's stream is taken over after this. */
export const LEASE_MS = 20_000;

/**
 * Takes the stream's lease for `owner`, waiting while another task holds it. False when it is
 * still held after the wait (or the task is stopping): another task runs the stream.
 */
export async function takeLease(
	ctx: Context,
	replicationId: string,
	owner: string,
	signal: AbortSignal,
): Promise<boolean> {
	// A task killed without releasing its lease holds it until it lapses: wait that long, so the
	// scheduler sees one task starting rather than starting another each tick.
	const deadline = Date.now() + LEASE_MS + 5_000;
	while (!(await renewLease(ctx, replicationId, owner, { session: "starting" }))) {
		if (signal.aborted || Date.now() > deadline) {
			logger.info("another replication task holds this stream's lease", { replicationId });
			return false;
		}
		await sleep(1000, signal);
	}
	return true;
}

/**
 * Whether a lease owner (`host:pid:…`) was a process of this host that no longer exists (a
 * killed `ferry local up` and its tasks): its lease need not be waited out. A process of another
 * host (another ECS task) is never judged from here; a reused pid only makes us wait.
 */
function diedOnThisHost(owner: string): boolean {
	const [host, pid] = owner.split(":");
	if (host !== hostname() || !pid || !/^\d+$/.test(pid)) return false;
	try {
		process.kill(Number(pid), 0);
		return false;
	} catch (err) {
		return (err as NodeJS.ErrnoException).code === "ESRCH";
	}
}

/**
 * Takes or renews the stream's replication lease and writes the status fields given. Returns
 * false when another live task holds it.
 */
export async function renewLease(
	ctx: Context,
	replicationId: string,
	owner: string,
	fields: Partial<ReplicationStatus>,
): Promise<boolean> {
	return renewStreamLease(ctx, replicationId, owner, fields, LEASE_MS, diedOnThisHost);
}

/**
 * Waits `ms` between sessions, renewing the lease and the heartbeat every few seconds (a backoff
 * longer than the lease must not hand the stream to another task, nor look like a dead task).
 * False when the lease was lost.
 */
export async function waitHoldingLease(
	ctx: Context,
	replicationId: string,
	owner: string,
	ms: number,
	signal: AbortSignal,
): Promise<boolean> {
	const until = Date.now() + ms;
	while (!signal.aborted && Date.now() < until) {
		await sleep(Math.min(5_000, until - Date.now()), signal);
		if (!(await renewLease(ctx, replicationId, owner, {}).catch(() => true))) return false;
	}
	return true;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
	return new Promise((resolve) => {
		const t = setTimeout(resolve, ms);
		signal.addEventListener("abort", () => {
			clearTimeout(t);
			resolve();
		});
	});
}
