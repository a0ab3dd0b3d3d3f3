import { currentPosition, hasReached } from "../binlog/position.ts";
import { listTables } from "../control/chunks.ts";
import type { Context } from "../control/context.ts";
import { credentialsFor } from "../control/datasources.ts";
import { conflict } from "../control/errors.ts";
import { updateProject } from "../control/projects.ts";
import { replicationStatus } from "../control/replication.ts";
import type { StepRunner } from "../control/steps.ts";
import { caughtUp, streamLiveness } from "../control/stream-state.ts";
import { verifiedClean } from "../control/verification.ts";
import { type Connection, connect } from "../db/connect.ts";
import type { Project, SwitchoverState, SwitchoverStep } from "../model/project.ts";
import { logger } from "../observability.ts";
import { replicationId } from "../replication/ids.ts";
import { disableEvents, type EnabledEvent, enableEvents, handedOver, readEnabledEvents } from "./events.ts";
import { createTriggers, dropTriggers, readTriggers, type TriggerDefinition } from "./triggers.ts";

/**
 * Forward switchover as steps the scheduler runs in order, each idempotent (a crash anywhere
 * leaves state from which the next tick, or a ticket's retry, carries on). A step that waits
 * for the user says why in `switchover.blocked`; a step that cannot go on opens a ticket.
 */

async function withConnection<T>(ctx: Context, dataSourceId: string, work: (c: Connection) => Promise<T>): Promise<T> {
	const conn = await connect(await credentialsFor(ctx, dataSourceId));
	try {
		return await work(conn);
	} finally {
		await conn.end().catch(() => {});
	}
}

/** Records why the switchover waits (once per reason, so the status shows it and the log alerts on it). */
async function block(ctx: Context, project: Project, reason: string | undefined): Promise<"waiting"> {
	if (project.switchover?.blocked !== reason) {
		if (reason) logger.info("switchover waiting", { projectId: project.id, reason });
		await updateProject(ctx, project.id, (p) =>
			p.switchover ? { ...p, switchover: { ...p.switchover, blocked: reason } } : p,
		);
	}
	return "waiting";
}

async function setSwitchover(ctx: Context, project: Project, change: Partial<SwitchoverState>): Promise<void> {
	await updateProject(ctx, project.id, (p) =>
		p.switchover ? { ...p, switchover: { ...p.switchover, ...change, blocked: undefined } } : p,
	);
}

/** How long the switchover waits for forward replay to run (a task restarting) before its ticket; read at use, tests shorten it. */
function replayWaitMs(): number {
	return Number(process.env.FERRY_SWITCHOVER_REPLAY_WAIT_MS ?? 60_000);
}

/** Replay runs, its latency is under the user's threshold, and verification is clean or waived. */
const check: StepRunner = {
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
			throw new Error(
				`replay latency is ${live.latencySeconds ?? "unknown"} s, above the ${s.maxLatencySeconds} s the switchover allows: wait for replay to catch up, then retry`,
			);
		}
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

/**
 * Waits for the user to say the application stopped writing to the source. At that moment the
 * destination's position is where reverse replay will start: what the application writes to
 * the destination from then on goes back to the source, and what forward replay still writes
 * there carries its marker and is not sent back.
 */
const writes: StepRunner = {
	async run(ctx, project) {
		if (!project.switchover?.writesStoppedAt) {
			return block(ctx, project, "waiting for the user to stop writes to the source and confirm it");
		}
		if (project.types.includes("reverse") && !project.reverse?.startPosition) {
			const startPosition = await withConnection(ctx, project.destinationId, currentPosition);
			await updateProject(ctx, project.id, (p) => ({ ...p, reverse: { ...p.reverse, startPosition } }));
		}
		return "done";
	},
};

/** Replay drains to the source's final position (its position once writes stopped). */
const drain: StepRunner = {
	async run(ctx, project) {
		let finalPosition = project.switchover?.finalPosition;
		if (!finalPosition) {
			finalPosition = await withConnection(ctx, project.sourceId, currentPosition);
			await setSwitchover(ctx, project, { finalPosition });
		}
		const r = await replicationStatus(ctx, replicationId(project.id, "forward"));
		if (!hasReached(r?.position, finalPosition))
			return block(ctx, project, "replay is draining to the source's final position");
		return "done";
	},
};

/** Forward replay stops for good; the step waits until its task has exited. */
const stopForward: StepRunner = {
	async run(ctx, project) {
		if (!project.switchover?.forwardStopped) await setSwitchover(ctx, project, { forwardStopped: true });
		const id = replicationId(project.id, "forward");
		if (await ctx.tasks.running(id)) {
			await ctx.tasks.stop(id);
			return "waiting";
		}
		return "done";
	},
};

/** What the switchover reads from the source before changing it: `source` its triggers, `events` its enabled events. */
const triggersPk = (projectId: string) => `TRIGGERS#${projectId}`;

/** Reads once from the source and keeps the first reading in the state table (the source loses it at the next step). */
async function keptOnce<T>(
	ctx: Context,
	project: Project,
	item: { sk: string; field: string },
	read: (c: Connection) => Promise<T>,
): Promise<T> {
	const key = { pk: triggersPk(project.id), sk: item.sk };
	const field = item.field;
	const saved = await ctx.store.get<Record<string, T>>(key);
	if (saved) return saved[field] as T;
	const value = await withConnection(ctx, project.sourceId, read);
	// a second scheduler may have saved it first: keep the first reading (the source may have lost it since)
	const kept = await ctx.store.create(key, { [field]: value }).catch(async () => ctx.store.get<Record<string, T>>(key));
	return (kept?.[field] as T | undefined) ?? value;
}

/** The source's triggers on the project's tables. */
async function sourceTriggers(ctx: Context, project: Project): Promise<TriggerDefinition[]> {
	const tables = (await listTables(ctx, project.id)).map((t) => t.mapping.source);
	return keptOnce(ctx, project, { sk: "source", field: "triggers" }, (c) => readTriggers(c, tables));
}

/** The source's enabled events that Ferry created disabled at the destination. */
async function sourceEvents(ctx: Context, project: Project): Promise<EnabledEvent[]> {
	if (!project.types.includes("schema")) return [];
	return keptOnce(ctx, project, { sk: "events", field: "events" }, (c) => readEnabledEvents(c, project.objects));
}

/**
 * The destination becomes a primary: its triggers are created (held back during replay), and the
 * events enabled at the source are enabled there (created disabled by the schema migration).
 * Foreign keys and CHECK constraints are already in place and enforced for every session but
 * replay's, which ran with foreign_key_checks=0.
 */
const destination: StepRunner = {
	async run(ctx, project) {
		const triggers = await sourceTriggers(ctx, project);
		const events = await sourceEvents(ctx, project);
		const mappings = (await listTables(ctx, project.id)).map((t) => t.mapping);
		await withConnection(ctx, project.destinationId, async (c) => {
			const created = await createTriggers(c, triggers, mappings);
			if (created.length) logger.info("triggers created at the destination", { projectId: project.id, created });
			const enabled = await enableEvents(c, events);
			if (enabled.length) logger.info("events enabled at the destination", { projectId: project.id, enabled });
		});
		return "done";
	},
};

/**
 * With reverse replay to come, the source must not fire its triggers on rows that reverse replay
 * writes (the destination's triggers already produced their effects): they are dropped, their
 * definitions kept in the state table (the status lists them for a switch back). Its events that
 * the destination now runs are disabled. Foreign key checks are off in replay's own sessions.
 */
const source: StepRunner = {
	async run(ctx, project) {
		if (!project.types.includes("reverse")) return "done";
		const triggers = await sourceTriggers(ctx, project);
		// an event the destination lacks (not migrated) keeps running where it is: the report says so
		const events = await withConnection(ctx, project.destinationId, async (c) =>
			handedOver(c, await sourceEvents(ctx, project)),
		);
		await withConnection(ctx, project.sourceId, async (c) => {
			await dropTriggers(c, triggers);
			await disableEvents(c, events);
		});
		return "done";
	},
};

/** Reverse replay from the destination's position at the switch; done once it has caught up. */
export const reverse: StepRunner = {
	async begin(ctx, project) {
		if (!project.reverse?.startPosition) {
			throw new Error("reverse replay has no start position: the switchover did not record it; retry the switchover");
		}
		await updateProject(ctx, project.id, (p) => ({ ...p, reverse: { ...p.reverse, active: true } }));
	},
	async run(ctx, project) {
		const r = await replicationStatus(ctx, replicationId(project.id, "reverse"));
		return caughtUp(project, "reverse", r, 5) ? "done" : "waiting";
	},
};

export const SWITCHOVER_RUNNERS: Record<SwitchoverStep, StepRunner> = {
	"switch-check": check,
	"switch-writes": writes,
	"switch-drain": drain,
	"switch-stop-forward": stopForward,
	"switch-destination": destination,
	"switch-source": source,
};

/** The user starts the switchover (once replay has caught up and verification is clean or waived). */
export async function requestSwitchover(
	ctx: Context,
	id: string,
	options: { maxLatencySeconds: number; waiveVerification: boolean },
): Promise<Project> {
	return updateProject(ctx, id, (p) => {
		if (!p.types.includes("switchover")) {
			throw conflict("NO_SWITCHOVER", `project '${p.name}' does not include switchover in its migration types`);
		}
		if (p.switchover?.writesStoppedAt) {
			throw conflict("BAD_STATE", `the switchover of '${p.name}' is past the point of changing its settings`);
		}
		return {
			...p,
			switchover: { ...p.switchover, ...options, requestedAt: p.switchover?.requestedAt ?? new Date().toISOString() },
		};
	});
}

/** The user confirms the application no longer writes to the source. */
export async function confirmWritesStopped(ctx: Context, id: string): Promise<Project> {
	return updateProject(ctx, id, (p) => {
		if (!p.switchover?.requestedAt) {
			throw conflict("BAD_STATE", `start the switchover of '${p.name}' before confirming writes stopped`);
		}
		return {
			...p,
			switchover: { ...p.switchover, writesStoppedAt: p.switchover.writesStoppedAt ?? new Date().toISOString() },
		};
	});
}
