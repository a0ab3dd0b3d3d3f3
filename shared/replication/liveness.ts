import type { Direction, Project } from "../model/project.ts";
import { HEARTBEAT_TIMEOUT_MS, type ReplicationStatus } from "../state/streams.ts";
import { replicationWanted } from "./wanted.ts";

/**
 * Whether a replication stream is applying changes now, and how far behind it can be:
 * - running: its task reports (every second) and its session runs;
 * - starting / restarting: its task holds the lease and opens a session (the first one, or
 *   another after a session ended with an error);
 * - dead: the stream is wanted but its task stopped reporting (killed, hung, or a new task
 *   waiting for the dead one's lease to lapse);
 * - stopped: the stream is not wanted now (the project is paused or released, replay stopped
 *   on something a person must decide, forward replay ended at the switchover).
 */
export type StreamState = "starting" | "running" | "restarting" | "dead" | "stopped";

export interface StreamLiveness {
	state: StreamState;
	/** Why it is not running. */
	reason?: string;
	/** Seconds since the task last reported. */
	heartbeatAgeSeconds?: number;
	/**
	 * The task's last measured latency while it runs. Otherwise that latency plus the heartbeat's
	 * age: nothing is applied meanwhile, so replay falls behind by that much if the source takes
	 * writes (an upper bound when it does not). Absent while unknown.
	 */
	latencySeconds?: number;
}

/**
 * A running session that has not reported for this long is not running (it reports every
 * second). A task opening a session does not report: it counts as dead once its lease lapsed.
 */
export const STALE_HEARTBEAT_MS = Number(process.env.FERRY_REPLICATION_STALE_MS ?? 5_000);

export function streamLiveness(
	project: Project,
	direction: Direction,
	r: ReplicationStatus | undefined,
	now = Date.now(),
): StreamLiveness {
	const ageMs = r ? Math.max(0, now - r.heartbeatAt) : undefined;
	const heartbeatAgeSeconds = ageMs === undefined ? undefined : Math.round(ageMs / 1000);
	const behind = (state: StreamState, reason: string): StreamLiveness => ({
		state,
		reason,
		heartbeatAgeSeconds,
		latencySeconds:
			r?.latencySeconds === undefined || ageMs === undefined ? undefined : r.latencySeconds + Math.round(ageMs / 1000),
	});
	if (!replicationWanted(project, direction)) return behind("stopped", whyNotWanted(project, direction));
	if (r?.fatal) return behind("stopped", `replay stopped on something a person must decide: ${r.fatal.message}`);
	if (!r || ageMs === undefined) return { state: "starting", reason: "the replication task has not reported yet" };
	if (r.session === "ended") {
		return ageMs < STALE_HEARTBEAT_MS
			? behind("restarting", "the replication task has exited; the scheduler starts another")
			: behind("dead", `the replication task exited ${heartbeatAgeSeconds} s ago and no other has taken over`);
	}
	const opening = r.session === "starting" || r.session === "retrying";
	if (opening ? now > r.leaseUntil : ageMs >= STALE_HEARTBEAT_MS) {
		const restart =
			ageMs >= HEARTBEAT_TIMEOUT_MS
				? "the scheduler starts another task"
				: `the scheduler starts another task once it has exited, or after ${Math.round(HEARTBEAT_TIMEOUT_MS / 1000)} s without a heartbeat`;
		return behind(
			"dead",
			`no heartbeat for ${heartbeatAgeSeconds} s: the replication task was killed or hangs; ${restart}${r.lastError ? `; last error: ${r.lastError}` : ""}`,
		);
	}
	if (r.session === "retrying") {
		return behind(
			"restarting",
			`its session ended (${r.lastError ?? "no error recorded"}): resuming from the checkpoint`,
		);
	}
	if (r.session === "starting") {
		return r.phase === "starting"
			? behind("starting", "the replication task is opening its session")
			: behind("restarting", "a new replication task is opening its session, from the checkpoint");
	}
	return { state: "running", heartbeatAgeSeconds, latencySeconds: r.latencySeconds };
}

function whyNotWanted(project: Project, direction: Direction): string {
	if (direction === "forward" && project.switchover?.forwardStopped) return "forward replay ended at the switchover";
	if (project.state === "paused") return "the project is paused";
	if (project.state === "failed" && project.ticket) {
		return `ticket ${project.ticket.id} on step ${project.ticket.step} stopped replay: ${project.ticket.message}`;
	}
	if (project.state !== "running" && project.state !== "failed") return `the project is ${project.state}`;
	return direction === "forward" ? "incremental migration has not started" : "reverse replay is not active";
}

/** Replay latency under which a stream counts as caught up (the incremental and reverse steps are then done). */
export const CAUGHT_UP_SECONDS = 5;

/** The stream runs, in exact mode, within `seconds` of its source: replay has caught up. */
export function caughtUp(
	project: Project,
	direction: Direction,
	r: ReplicationStatus | undefined,
	seconds = CAUGHT_UP_SECONDS,
): boolean {
	const live = streamLiveness(project, direction, r);
	return (
		live.state === "running" &&
		r?.phase === "exact" &&
		live.latencySeconds !== undefined &&
		live.latencySeconds <= seconds
	);
}
