import { type Direction, differs, type Project } from "../model/project.ts";
import { STALE_HEARTBEAT_MS, type StreamLiveness } from "../replication/liveness.ts";
import type { ReplicationStatus } from "../state/streams.ts";
import type { AlertName, EffectiveSettings } from "./catalogue.ts";

/** What one evaluation looks at: read by tick.ts, or made up by a test. */
export interface AlertInputs {
	project: Project;
	/** The project's replication streams (forward, and reverse if any) with their liveness now. */
	streams: Array<{ direction: Direction; status?: ReplicationStatus; liveness: StreamLiveness; wanted: boolean }>;
	/** Copy or verification chunks that ran out of attempts (only counted while a chunk job runs). */
	exhaustedChunks?: { count: number; example: string };
	now: number;
}

/** An alert's condition that holds now. `subject` tells apart two of one name (forward and reverse). */
export interface Condition {
	name: AlertName;
	subject: string;
	message: string;
	value?: number;
	threshold?: number;
}

/** The conditions that hold for a project now, under its settings; pure. */
export function evaluateAlerts(inputs: AlertInputs, settings: EffectiveSettings): Condition[] {
	const { project } = inputs;
	const sync = project.sync !== undefined;
	const out: Condition[] = [];
	const on = (name: AlertName) => settings.alerts[name].enabled;
	const limit = (name: AlertName, key: string) => settings.alerts[name].thresholds[key] as number;

	const failed = sync ? "oms_sync_failed" : "oms_migration_failed";
	if (on(failed) && project.state === "failed" && project.ticket) {
		out.push({
			name: failed,
			subject: project.ticket.step,
			message: `${sync ? "synchronization" : "migration"} ${project.name} stopped on step ${project.ticket.step}: ${project.ticket.message}`,
		});
	}

	const delay = sync ? "oms_sync_delay" : "oms_migration_delay";
	for (const s of inputs.streams) {
		const latency = s.liveness.latencySeconds;
		// a stopped stream's latency grows with the pause: that is the pause, not a delay
		if (on(delay) && s.wanted && latency !== undefined && latency > limit(delay, "delaySeconds")) {
			out.push({
				name: delay,
				subject: s.direction,
				message: `${s.direction} replay of ${project.name} is ${latency} s behind its source`,
				value: latency,
				threshold: limit(delay, "delaySeconds"),
			});
		}
		const age = s.liveness.heartbeatAgeSeconds;
		if (on("oms_host_down") && s.wanted && s.liveness.state === "dead" && age !== undefined) {
			const threshold = limit("oms_host_down", "heartbeatSeconds");
			if (age >= threshold) {
				out.push({
					name: "oms_host_down",
					subject: s.direction,
					message: `the ${s.direction} replication task of ${project.name} is down: ${s.liveness.reason}`,
					value: age,
					threshold,
				});
			}
		}
		const grace = limit("oms_sync_status_inconsistent", "graceSeconds");
		if (on("oms_sync_status_inconsistent") && !s.wanted && s.status && reportsNow(s.status, s.liveness)) {
			const since = stoppedSince(project);
			const seconds = since === undefined ? undefined : Math.round((inputs.now - since) / 1000);
			if (seconds !== undefined && seconds >= grace) {
				out.push({
					name: "oms_sync_status_inconsistent",
					subject: s.direction,
					message: `the ${s.direction} replication task of ${project.name} still runs ${seconds} s after its project stopped it (${s.liveness.reason})`,
					value: seconds,
					threshold: grace,
				});
			}
		}
		const host = s.status?.host;
		if (on("oms_host_threshold") && s.wanted && host && s.liveness.state === "running") {
			for (const [key, value] of [
				["memoryPercent", host.memoryPercent],
				["cpuPercent", host.cpuPercent],
			] as const) {
				const threshold = limit("oms_host_threshold", key);
				if (value > threshold) {
					out.push({
						name: "oms_host_threshold",
						subject: `${s.direction}:${key}`,
						message: `the ${s.direction} replication task of ${project.name} uses ${value}% ${key === "memoryPercent" ? "of its memory" : "CPU"}`,
						value,
						threshold,
					});
				}
			}
		}
	}

	const run = project.verification;
	if (on("ferry_verification_inconsistent") && run?.state === "done" && run.totals && differs(run.totals)) {
		const t = run.totals;
		out.push({
			name: "ferry_verification_inconsistent",
			subject: "verification",
			message: `verification run ${run.run} of ${project.name} found ${t.missing} missing, ${t.extra} extra and ${t.different} different rows${t.schema ? `, ${t.schema} differences in the tables` : ""} in ${t.tablesDiffering} tables`,
			value: t.missing + t.extra + t.different + (t.schema ?? 0),
		});
	}

	if (on("ferry_chunk_stuck") && inputs.exhaustedChunks && inputs.exhaustedChunks.count > 0) {
		out.push({
			name: "ferry_chunk_stuck",
			subject: "chunks",
			message: `${inputs.exhaustedChunks.count} chunks of ${project.name} ran out of attempts, e.g. ${inputs.exhaustedChunks.example}`,
			value: inputs.exhaustedChunks.count,
		});
	}
	return out;
}

/** The task's session runs and has reported recently (what liveness calls running when wanted). */
function reportsNow(status: ReplicationStatus, liveness: StreamLiveness): boolean {
	return (
		status.session === "running" &&
		(liveness.heartbeatAgeSeconds ?? Number.POSITIVE_INFINITY) * 1000 < STALE_HEARTBEAT_MS
	);
}

/** Since when (epoch ms) the project no longer wants its streams: its last change, for want of a better mark. */
function stoppedSince(project: Project): number | undefined {
	const at = Date.parse(project.updatedAt);
	return Number.isNaN(at) ? undefined : at;
}

/** The key of a condition in the open alerts: one open alert per name and subject. */
export const conditionKey = (c: { name: AlertName; subject: string }) => `${c.name}|${c.subject}`;

/**
 * The chunk dead-letter queues belong to the whole stack, not to a project: their depth is
 * evaluated in the stack's scope (stack.ts).
 */
export function deadLetterConditions(depth: number, settings: EffectiveSettings): Condition[] {
	const rule = settings.alerts.ferry_chunk_stuck;
	const threshold = rule.thresholds.deadLetters as number;
	if (!rule.enabled || depth < threshold) return [];
	return [
		{
			name: "ferry_chunk_stuck",
			subject: DEAD_LETTERS_SUBJECT,
			message: `the chunk dead-letter queues hold ${depth} messages: chunks whose messages failed 5 times`,
			value: depth,
			threshold,
		},
	];
}
export const DEAD_LETTERS_SUBJECT = "dead-letters";
