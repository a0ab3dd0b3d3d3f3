import { replicationId } from "../../replication/ids.ts";
import { streamLiveness } from "../../replication/liveness.ts";
import { updateProject } from "../../state/projects.ts";
import { replicationStatus } from "../../state/streams.ts";
import type { Step } from "../step.ts";
import { block, setSwitchover } from "../switchover.ts";
import { verifiedClean } from "../verification.ts";

/** How long the switchover waits for forward replay to run (a task restarting) before its ticket; read at use, tests shorten it. */
function replayWaitMs(): number {
	return Number(process.env.FERRY_SWITCHOVER_REPLAY_WAIT_MS ?? 60_000);
}

/**
 * Waits for the user's "start switchover", then checks that forward replay runs, its latency is
 * under the user's threshold, and verification is clean or waived.
 */
export const switchCheck: Step = {
	name: "switch-check",
	appliesTo: (types) => types.includes("switchover"),
	alarm: "SwitchoverBlocked",
	async run(ctx, project) {
		const s = project.switchover;
		if (!s?.requestedAt) return block(ctx, project, "waiting for the user to start the switchover");
		const r = await replicationStatus(ctx, replicationId(project.id, "forward"));
		// A stream that is not running may be any distance behind, whatever it last reported; and
		// live means reporting since the request (a report from before it may be a killed task's
		// last). A restart is waited for, for a while; then the ticket says what is wrong.
		const live = streamLiveness(project, "forward", r);
		if (live.state !== "running" || (r?.heartbeatAt ?? 0) <= Date.parse(s.requestedAt)) {
			const what =
				live.state === "running"
					? "forward replay has not reported since the switchover was requested"
					: `forward replay is ${live.state}`;
			const step = project.steps.find((x) => x.name === "switch-check");
			// the window runs from the stream's last sign of life: Ferry itself restarting (a killed
			// `ferry local up`, a redeployed scheduler) must not turn into a ticket
			const waitingSince = Math.max(
				Date.parse(s.requestedAt),
				Date.parse(step?.startedAt ?? s.requestedAt),
				r?.heartbeatAt ?? 0,
			);
			if (Date.now() - waitingSince < replayWaitMs()) {
				return block(ctx, project, `${what}: the switchover waits for it to run (the status says why)`);
			}
			throw new Error(
				`${what}${live.reason ? ` (${live.reason})` : ""}: the switchover needs it running within ${s.maxLatencySeconds} s of the source; once it runs again, retry`,
			);
		}
		if (live.latencySeconds === undefined || live.latencySeconds > s.maxLatencySeconds) {
			const what = `replay latency is ${live.latencySeconds ?? "unknown"} s, above the ${s.maxLatencySeconds} s the switchover allows`;
			// one reading is not enough: a task that just restarted reports its last session's latency
			// until it commits, so the check waits the same window as for a restart before its ticket
			const since = s.lateSince ?? Date.now();
			if (s.lateSince === undefined) {
				await updateProject(ctx, project.id, (p) =>
					p.switchover ? { ...p, switchover: { ...p.switchover, lateSince: since } } : p,
				);
			}
			if (Date.now() - since < replayWaitMs()) return block(ctx, project, `${what}: the switchover waits for it`);
			throw new Error(`${what}: wait for replay to catch up, then retry`);
		}
		if (s.lateSince !== undefined) await setSwitchover(ctx, project, { lateSince: undefined });
		if (!s.waiveVerification && !verifiedClean(project.verification)) {
			const v = project.verification;
			const why = !v
				? "never run"
				: v.state !== "done"
					? `run ${v.run} is ${v.state}`
					: v.fullRun === undefined
						? "no run has covered every table"
						: `differences remain in ${(v.differing ?? []).join(", ")}`;
			throw new Error(
				`verification is not clean (${why}): verify and correct, or start the switchover with waiveVerification`,
			);
		}
		return "done";
	},
};
