import type { Context } from "../context.ts";
import { type Actor, SYSTEM } from "../model/actor.ts";
import type { Direction, Project } from "../model/project.ts";
import { logger, metrics } from "../observability.ts";
import { replicationId } from "../replication/ids.ts";
import { streamLiveness } from "../replication/liveness.ts";
import { replicationWanted } from "../replication/wanted.ts";
import { copyJob } from "../scheduler/chunks/copy.ts";
import { type ChunkJob, MAX_ATTEMPTS } from "../scheduler/chunks/lifecycle.ts";
import { verifyJob } from "../scheduler/chunks/verify.ts";
import { openWindow, readWindow } from "../scheduler/chunks/window.ts";
import { recordEvent } from "../state/events.ts";
import { replicationStatus } from "../state/streams.ts";
import { type AlertName, effectiveSettings } from "./catalogue.ts";
import { type AlertInputs, type Condition, conditionKey, evaluateAlerts } from "./evaluate.ts";
import {
	type Alert,
	type AlertScopeState,
	changeAlert,
	fireAlert,
	getScopeState,
	type OutboxEntry,
	resolveAlert,
	STACK_SCOPE,
	saveScopeState,
} from "./history.ts";
import { type Channels, channelsFor, configuredChannels, drainOutbox } from "./notify.ts";
import { getAlertDefaults, getProjectAlertSettings } from "./settings.ts";

/**
 * One project's alerts, from the scheduler's tick: cheap when nothing is due (one read of the
 * project's alert state), otherwise every `evaluationSeconds`: read its streams (and its chunks
 * while a chunk job runs), fire what newly holds, resolve what no longer does, record both on
 * the project's timeline, and send the notifications due. Never throws: alerts must not stop a
 * migration.
 */
export async function evaluateProjectAlerts(ctx: Context, project: Project, now = Date.now()): Promise<void> {
	try {
		if (project.state === "new") return;
		const { state, version } = await getScopeState(ctx, project.id);
		const dueOutbox = state.outbox.some((e) => e.nextAt <= now);
		if ((state.nextAt ?? 0) > now && !dueOutbox) return;
		// a finished project with nothing open and nothing to send has nothing to watch
		const finished = project.state === "completed" || project.state === "released";
		if (finished && Object.keys(state.open).length === 0 && state.outbox.length === 0) return;
		const [defaults, own] = await Promise.all([getAlertDefaults(ctx), getProjectAlertSettings(ctx, project.id)]);
		const settings = effectiveSettings(defaults, own);
		// claim this evaluation: a second scheduler at the same moment finds the version changed and leaves it
		const claimed = await saveScopeState(
			ctx,
			project.id,
			{ ...state, nextAt: now + settings.evaluationSeconds * 1000 },
			version,
		);
		if (claimed === undefined) return;
		const conditions = evaluateAlerts(await alertInputs(ctx, project, now), settings);
		// the channels (the webhook's secret is a secret store read) only when something is to be sent
		const holding = new Set(conditions.map(conditionKey));
		const changed =
			conditions.some((c) => !state.open[conditionKey(c)]) || Object.keys(state.open).some((k) => !holding.has(k));
		const channels = changed || dueOutbox ? await channelsFor(ctx) : {};
		const next = await applyConditions(ctx, project.id, state, conditions, channels, now, {
			resolutionOf: (name) =>
				settings.alerts[name as AlertName]?.enabled === false ? "the alert was disabled" : undefined,
		});
		await saveScopeState(ctx, project.id, { ...next, nextAt: now + settings.evaluationSeconds * 1000 }, claimed);
	} catch (err) {
		logger.warn("could not evaluate alerts", { projectId: project.id, error: (err as Error).message });
	}
}

/** What evaluation reads of a project beside the project itself. */
export async function alertInputs(ctx: Context, project: Project, now: number): Promise<AlertInputs> {
	const streams: AlertInputs["streams"] = [];
	for (const direction of ["forward", "reverse"] as Direction[]) {
		const status = await replicationStatus(ctx, replicationId(project.id, direction));
		const wanted = replicationWanted(project, direction);
		if (!status && !wanted) continue;
		const liveness = streamLiveness(project, direction, status, now);
		streams.push({ direction, status, wanted, liveness });
		// the host down alarm's metric (cdk/alert-alarms.ts): how long a wanted task has not reported
		if (wanted && liveness.heartbeatAgeSeconds !== undefined) {
			metrics.addMetric("ReplicationHeartbeatAgeSeconds", "Seconds", liveness.heartbeatAgeSeconds);
		}
	}
	// chunks are read only while a chunk job runs or stopped on them (the full step or a verification run)
	const jobs: ChunkJob[] = [];
	if (project.steps.some((s) => s.name === "full" && (s.state === "running" || s.state === "failed"))) {
		jobs.push(copyJob(ctx, project.id));
	}
	const run = project.verification;
	if (run && (run.state === "running" || run.state === "failed")) jobs.push(verifyJob(ctx, project.id, run.run));
	let exhaustedChunks: AlertInputs["exhaustedChunks"];
	for (const job of jobs) {
		// a chunk that ran out of attempts was tried, so it is in the window the scheduler reads
		const { chunks } = await readWindow(ctx, job, await openWindow(ctx, job), job.concurrency(project));
		const stuck = chunks.filter((c) => c.state !== "done" && c.attempts >= MAX_ATTEMPTS);
		if (stuck.length > 0) {
			const first = stuck[0] as (typeof stuck)[number];
			exhaustedChunks = {
				count: (exhaustedChunks?.count ?? 0) + stuck.length,
				example: exhaustedChunks?.example ?? `${first.sk}${first.lastError ? ` (${first.lastError})` : ""}`,
			};
		}
	}
	return { project, streams, exhaustedChunks, now };
}

/**
 * Fires the conditions not yet open and resolves the open alerts whose condition ended, in the
 * history and on the scope's timeline (a project's), queues their notifications and sends what
 * is due. Returns the scope's new state. Also used for CloudWatch's alarms (cloudwatch.ts).
 */
export async function applyConditions(
	ctx: Context,
	scope: string,
	state: AlertScopeState,
	conditions: readonly Condition[],
	channels: Channels,
	now: number,
	/** `resolveOnly`: the open alerts this call may resolve (CloudWatch reports one alarm at a time); all by default. */
	/** `resolutionOf`: why an alert of that name resolved, when not because its condition ended. */
	options: {
		source?: Alert["source"];
		resolveOnly?: string[];
		actor?: Actor;
		resolutionOf?: (name: string) => string | undefined;
	} = {},
): Promise<AlertScopeState> {
	const open = { ...state.open };
	const outbox = [...state.outbox];
	const queue = (alert: Alert, transition: OutboxEntry["transition"]) => {
		for (const channel of configuredChannels(channels))
			outbox.push({ alert, transition, channel, attempts: 0, nextAt: now });
	};
	const onTimeline = scope !== STACK_SCOPE;
	const actor = options.actor ?? SYSTEM;
	for (const c of conditions) {
		const key = conditionKey(c);
		if (open[key]) continue;
		const alert = await fireAlert(ctx, scope, c, options.source, new Date(now));
		open[key] = { id: alert.id, firedAt: alert.firedAt, projectId: scope, name: alert.name };
		queue(alert, "fired");
		if (onTimeline) {
			await recordEvent(ctx, scope, {
				kind: "alert-fired",
				message: c.message,
				actor,
				subject: c.name,
				details: { alertId: alert.id, alertSubject: c.subject, value: c.value, threshold: c.threshold },
			});
		}
	}
	const holding = new Set(conditions.map(conditionKey));
	for (const [key, ref] of Object.entries(open)) {
		if (holding.has(key) || (options.resolveOnly && !options.resolveOnly.includes(key))) continue;
		delete open[key];
		const alert = await resolveAlert(ctx, ref, options.resolutionOf?.(ref.name), new Date(now));
		if (!alert) continue;
		queue(alert, "resolved");
		if (onTimeline) {
			await recordEvent(ctx, scope, {
				kind: "alert-resolved",
				message: `resolved: ${alert.message}`,
				actor,
				subject: alert.name,
				details: { alertId: alert.id, alertSubject: alert.subject },
			});
		}
	}
	const { results, remaining } = await drainOutbox(outbox, channels, now);
	for (const r of results) {
		if (r.outcome === "retry") continue;
		const field = `${r.entry.channel}:${r.entry.transition}` as const;
		await changeAlert(ctx, r.entry.alert, (a) => ({ notifications: { ...a.notifications, [field]: r.outcome } })).catch(
			(err) => logger.warn("could not record a notification's delivery", { error: (err as Error).message }),
		);
	}
	return { ...state, open, outbox: remaining };
}
