import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { Context } from "../context.ts";
import { conflict, invalid } from "../errors.ts";
import type { Actor } from "../model/actor.ts";
import { isBroker } from "../model/datasource.ts";
import type { Direction, Project, ProjectInput, ProjectOptions } from "../model/project.ts";
import { synchronizationError, typeCombinationError } from "../model/project-rules.ts";
import { ObjectRules } from "../model/rules.ts";
import { SyncOptions } from "../model/sync.ts";
import { type ProjectAction, TRANSITIONS, UNDELETABLE } from "../model/transitions.ts";
import { replicationId } from "../replication/ids.ts";
import { cancelStoppedChunks, DEFAULT_QUERY_TIMEOUT_SECONDS } from "../scheduler/chunks/sessions.ts";
import type { Step } from "../scheduler/step.ts";
import { stepListFor, stepNamed, stepsFor } from "../scheduler/steps/index.ts";
import type { ReportEntry } from "../schema/plan.ts";
import { getDatabaseSource, getDataSource } from "../state/datasources.ts";
import { recordEvent, settingChanges } from "../state/events.ts";
import { createProjectItem, deleteProjectItems, getProject, updateProject } from "../state/projects.ts";
import { readSchemaReport } from "../state/reports.ts";
import { clearFatalStop, type ReplicationStatus, replicationStatus } from "../state/streams.ts";

/** The user's project commands: create, start, pause, resume, release, resolve a ticket, delete, export and import objects. */

export async function createProject(ctx: Context, input: ProjectInput): Promise<Project> {
	const needs = typeCombinationError(input);
	if (needs) throw invalid("TYPE_COMBINATION", needs);
	const slow = throttledChunkError(input.options);
	if (slow) throw invalid("QUERY_TIMEOUT", slow);
	if (input.sourceId === input.destinationId) {
		throw invalid("SAME_DATASOURCE", "source and destination must be different data sources");
	}
	await getDatabaseSource(ctx, input.sourceId);
	const destination = await getDataSource(ctx, input.destinationId);
	const synchronizes = isBroker(destination);
	const syncError = synchronizationError(input, synchronizes);
	if (syncError) throw invalid("SYNC_PROJECT", syncError);
	const feedError = input.feed && (await changeFeedError(ctx, input, synchronizes));
	if (feedError) throw invalid("CHANGE_FEED", feedError);
	const now = new Date().toISOString();
	const id = `pr-${randomUUID().slice(0, 8)}`;
	const project: Omit<Project, "id"> = {
		...input,
		...(synchronizes ? { sync: input.sync ?? SyncOptions.parse({}) } : {}),
		state: "new",
		steps: stepsFor(input.types, stepListFor({ sync: synchronizes })),
		createdAt: now,
		updatedAt: now,
	};
	return createProjectItem(ctx, id, project);
}

export async function actOnProject(ctx: Context, id: string, action: string): Promise<Project> {
	const t = Object.hasOwn(TRANSITIONS, action) ? TRANSITIONS[action as ProjectAction] : undefined;
	if (!t) throw invalid("UNKNOWN_ACTION", `unknown action '${action}': use ${Object.keys(TRANSITIONS).join(", ")}`);
	const project = await updateProject(ctx, id, (p) => {
		if (!t.from.includes(p.state)) {
			throw conflict("BAD_STATE", `cannot ${action} project '${p.name}' while it is ${p.state}`);
		}
		return { ...p, state: t.to };
	});
	// what the project's chunks still run on the servers stops now, not when each worker notices
	if (action === "pause" || action === "release") await cancelStoppedChunks(ctx, project);
	return project;
}

/** Why the failed step cannot be skipped, if it cannot (the step says: steps/<step>.ts `cannotSkip`). */
async function skipRefusal(ctx: Context, p: Project, step: Step): Promise<string | undefined> {
	const why = await step.cannotSkip?.(ctx, p);
	return why && `step ${step.name} of '${p.name}' cannot be skipped: ${why}`;
}

/**
 * Resolves an open ticket: `retry` runs the failed step again, `skip` marks it skipped. For the
 * incremental step, `skip` passes over the one source transaction replay stopped on (an
 * unsupported DDL) and replay goes on. The project's timeline records who decided what.
 */
export async function resolveTicket(
	ctx: Context,
	id: string,
	decision: "retry" | "skip",
	actor: Actor,
	given?: readonly Step[],
): Promise<Project> {
	const current = await getProject(ctx, id);
	const steps = given ?? stepListFor(current);
	if (!current.ticket || current.state !== "failed") {
		throw conflict("NO_TICKET", `project '${current.name}' has no open ticket`);
	}
	const refusal =
		decision === "skip" ? await skipRefusal(ctx, current, stepNamed(current.ticket.step, steps)) : undefined;
	if (refusal) throw conflict("CANNOT_SKIP", refusal);
	// a replication task's fatal stop is what the ticket was about: clear it before replay resumes
	const fatal: Partial<Record<Direction, ReplicationStatus["fatal"]>> = {};
	for (const direction of ["forward", "reverse"] as const) {
		const stop = (await replicationStatus(ctx, replicationId(id, direction)))?.fatal;
		if (stop) fatal[direction] = stop;
	}
	const notAStatement = Object.values(fatal).find((f) => f && !f.gtid);
	if (decision === "skip" && notAStatement) {
		// e.g. a column the target lacks: skipping nothing would only stop replay again
		throw conflict(
			"CANNOT_SKIP",
			`the replication stop of '${current.name}' is not about one statement that could be passed over (${notAStatement.message}): put it right and retry`,
		);
	}
	for (const direction of Object.keys(fatal) as Direction[]) await clearFatalStop(ctx, replicationId(id, direction));
	const { ticket } = current;
	const resolved = await updateProject(ctx, id, (p) => {
		if (!p.ticket || p.state !== "failed") throw conflict("NO_TICKET", `project '${p.name}' has no open ticket`);
		const step = p.ticket.step;
		const replication = stepNamed(step, steps).replication;
		if (replication === "forward" || (replication === "reverse" && p.reverse?.active)) {
			// replay resumes; "skip" passes over the one source transaction it stopped on
			const skip = (d: Direction) => (decision === "skip" ? fatal[d]?.gtid : undefined);
			return {
				...p,
				state: "running",
				ticket: undefined,
				incremental: { ...p.incremental, skipGtid: skip("forward") ?? p.incremental?.skipGtid },
				reverse: p.reverse && { ...p.reverse, skipGtid: skip("reverse") ?? p.reverse.skipGtid },
				steps: p.steps.map((s) => (s.name === step ? { ...s, state: "running", error: undefined } : s)),
			};
		}
		return {
			...p,
			state: "running",
			ticket: undefined,
			steps: p.steps.map((s) =>
				s.name === step
					? {
							...s,
							state: decision === "retry" ? "pending" : "skipped",
							error: undefined,
						}
					: s,
			),
		};
	});
	const passedOver = decision === "skip" ? Object.values(fatal).find((f) => f?.statement)?.statement : undefined;
	await recordEvent(ctx, id, {
		kind: "ticket-resolved",
		message: `${decision === "retry" ? "retried" : "skipped"} step ${ticket.step} (ticket ${ticket.id}: ${ticket.message})`,
		actor,
		subject: ticket.step,
		details: { ticket: ticket.id, decision, ...(passedOver ? { statement: passedOver } : {}) },
	});
	return resolved;
}

/** A throttle so low that one chunk's copy (one streaming read) would outlast the statement time bound. */
export function throttledChunkError(options: ProjectOptions): string | undefined {
	const { chunkRows, maxRowsPerSecond, parallelism } = options;
	const bound = options.queryTimeoutSeconds ?? DEFAULT_QUERY_TIMEOUT_SECONDS;
	if (!maxRowsPerSecond) return undefined;
	const seconds = Math.ceil(chunkRows / (maxRowsPerSecond / parallelism));
	if (seconds <= bound) return undefined;
	return `a chunk of ${chunkRows} rows copies in ${seconds} s at the throttle (maxRowsPerSecond / parallelism), longer than queryTimeoutSeconds (${bound} s), after which the server stops its read: raise queryTimeoutSeconds, lower chunkRows or raise maxRowsPerSecond`;
}

/** A change feed replaces the source's binlog for incremental migration into a database, one way. */
async function changeFeedError(ctx: Context, input: ProjectInput, synchronizes: boolean): Promise<string | undefined> {
	if (synchronizes) return "a change feed is read into a database: this project's destination is a message queue";
	if (!input.types.includes("incremental")) return "a change feed serves incremental migration: tick incremental";
	if (input.options.twoWay)
		return "two-way sync reads both sides' binlogs: turn twoWay off for a project fed from Kafka";
	const feedSource = await getDataSource(ctx, input.feed?.dataSourceId ?? "");
	if (feedSource.engine !== "kafka") {
		return `the change feed's data source '${feedSource.name}' is ${feedSource.engine}: it must be a Kafka data source`;
	}
	const writer = input.feed?.synchronization;
	if (writer) {
		const sync = await getProject(ctx, writer).catch(() => undefined);
		if (!sync?.sync || sync.destinationId !== feedSource.id) {
			return `feed.synchronization '${writer}' is not a synchronization project writing to '${feedSource.name}': name the project whose output the topics hold, or leave it out`;
		}
	}
	return undefined;
}

export async function deleteProject(ctx: Context, id: string): Promise<void> {
	const p = await getProject(ctx, id);
	if (UNDELETABLE.includes(p.state)) {
		throw conflict("BAD_STATE", `project '${p.name}' is ${p.state}: release it before deleting`);
	}
	await deleteProjectItems(ctx, p);
}

/** Object settings as a file a user can keep, edit and import into another project (OMS export/import). */
export const ObjectSettings = z.object({ format: z.literal("ferry-objects/1"), objects: ObjectRules }).strict();
export type ObjectSettings = z.infer<typeof ObjectSettings>;

export async function exportObjects(ctx: Context, id: string): Promise<ObjectSettings> {
	const p = await getProject(ctx, id);
	return { format: "ferry-objects/1", objects: p.objects };
}

/** Replaces a new project's object rules; its timeline records who changed them, old and new. */
export async function importObjects(
	ctx: Context,
	id: string,
	settings: ObjectSettings,
	actor: Actor,
): Promise<Project> {
	let before: Project["objects"] = [];
	const project = await updateProject(ctx, id, (p) => {
		if (p.state !== "new")
			throw conflict("BAD_STATE", `objects of project '${p.name}' can only change before it starts`);
		before = p.objects;
		return { ...p, objects: settings.objects };
	});
	await recordEvent(ctx, id, {
		kind: "settings-changed",
		message: `object rules imported: ${settings.objects.length} rules replace ${before.length}`,
		actor,
		subject: "objects",
		details: settingChanges({ objects: before }, { objects: settings.objects }),
	});
	return project;
}

/** The schema report of the project's last schema step: every object converted, changed or refused, and why. */
export async function schemaReport(ctx: Context, id: string): Promise<ReportEntry[]> {
	await getProject(ctx, id);
	return readSchemaReport(ctx, id);
}
