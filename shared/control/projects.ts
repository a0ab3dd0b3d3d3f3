import { randomUUID } from "node:crypto";
import { z } from "zod";
import {
	type Direction,
	type Project,
	type ProjectInput,
	type ProjectState,
	type StepName,
	stepsFor,
} from "../model/project.ts";
import { ObjectRules } from "../model/rules.ts";
import { replicationId } from "../replication/ids.ts";
import { cancelStoppedChunks, DEFAULT_QUERY_TIMEOUT_SECONDS } from "./chunk-sessions.ts";
import { chunksPk, listChunks, verifyChunksPk, verifyPlanPk } from "./chunks.ts";
import type { Context } from "./context.ts";
import { getDataSource } from "./datasources.ts";
import { conflict, invalid, notFound } from "./errors.ts";
import { type ReplicationStatus, replicationKey, replicationStatus } from "./replication.ts";

const key = (id: string) => ({ pk: "PROJECT", sk: id });

export async function createProject(ctx: Context, input: ProjectInput): Promise<Project> {
	const needs = typeCombinationError(input);
	if (needs) throw invalid("TYPE_COMBINATION", needs);
	const slow = throttledChunkError(input);
	if (slow) throw invalid("QUERY_TIMEOUT", slow);
	if (input.sourceId === input.destinationId) {
		throw invalid("SAME_DATASOURCE", "source and destination must be different data sources");
	}
	await getDataSource(ctx, input.sourceId);
	await getDataSource(ctx, input.destinationId);
	const now = new Date().toISOString();
	const id = `pr-${randomUUID().slice(0, 8)}`;
	const project: Omit<Project, "id"> = {
		...input,
		state: "new",
		steps: stepsFor(input.types),
		createdAt: now,
		updatedAt: now,
	};
	await ctx.store.create(key(id), project);
	return { ...project, id };
}

export async function getProject(ctx: Context, id: string): Promise<Project> {
	const stored = await ctx.store.get<Project>(key(id));
	if (!stored) throw notFound("project", id);
	const { pk: _pk, sk: _sk, version: _v, ...project } = stored;
	return { ...project, id };
}

export async function listProjects(ctx: Context, tag?: string): Promise<Project[]> {
	const all = await ctx.store.list<Project>("PROJECT");
	return all
		.map(({ pk: _pk, sk, version: _v, ...p }) => ({ ...p, id: sk }))
		.filter((p) => tag === undefined || p.tags.includes(tag));
}

/**
 * Changes a project atomically (conditional write on its version). `change` sees the latest
 * stored project and returns the new one, or throws to refuse.
 */
export async function updateProject(ctx: Context, id: string, change: (p: Project) => Project): Promise<Project> {
	const saved = await ctx.store.modify<Project>(key(id), (cur) => {
		const { pk: _pk, sk: _sk, version: _v, ...p } = cur;
		return { ...change({ ...p, id }), updatedAt: new Date().toISOString() };
	});
	if (!saved) throw notFound("project", id);
	const { pk: _pk, sk: _sk, version: _v, ...project } = saved;
	return { ...project, id };
}

/** Which user actions each state allows; anything else is a 409 naming the state. */
const TRANSITIONS: Record<string, { from: ProjectState[]; to: ProjectState }> = {
	start: { from: ["new"], to: "running" },
	pause: { from: ["running"], to: "paused" },
	resume: { from: ["paused"], to: "running" },
	release: { from: ["new", "paused", "failed", "completed"], to: "released" },
};
export type ProjectAction = keyof typeof TRANSITIONS;

export async function actOnProject(ctx: Context, id: string, action: string): Promise<Project> {
	const t = TRANSITIONS[action];
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

/** Switchover steps whose skipping would lose changes: only retry resolves their tickets. */
const LOSES_CHANGES: readonly StepName[] = ["switch-writes", "switch-drain", "switch-stop-forward"];

/**
 * Why the failed step cannot be skipped, if it cannot: skipping it would lose changes, or leave
 * nothing done (the project would complete with nothing migrated).
 */
async function skipRefusal(ctx: Context, p: Project, step: StepName): Promise<string | undefined> {
	const cannot = `step ${step} of '${p.name}' cannot be skipped`;
	if (LOSES_CHANGES.includes(step))
		return `${cannot}: without it changes would be lost at the switch; fix the cause and retry`;
	if (step === "precheck") {
		return `${cannot}: it records the tables to migrate, so skipping it would complete the project with nothing migrated; fix the findings, or accept single ones with 'ferry project waive ${p.id} <finding id>', then retry`;
	}
	if (step === "position") return `${cannot}: incremental replay would have no start position; fix the cause and retry`;
	if (step === "full" && !(await listChunks(ctx, p.id)).some((c) => c.state === "done")) {
		return `${cannot}: no chunk has been copied yet, so skipping it would leave nothing migrated; fix the cause and retry`;
	}
	return undefined;
}

/**
 * Resolves an open ticket: `retry` runs the failed step again, `skip` marks it skipped. For the
 * incremental step, `skip` passes over the one source transaction replay stopped on (an
 * unsupported DDL) and replay goes on.
 */
export async function resolveTicket(ctx: Context, id: string, decision: "retry" | "skip"): Promise<Project> {
	const current = await getProject(ctx, id);
	if (!current.ticket || current.state !== "failed") {
		throw conflict("NO_TICKET", `project '${current.name}' has no open ticket`);
	}
	const refusal = decision === "skip" ? await skipRefusal(ctx, current, current.ticket.step) : undefined;
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
	for (const direction of Object.keys(fatal) as Direction[]) {
		await ctx.store.modify<ReplicationStatus>(replicationKey(replicationId(id, direction)), (s) => ({
			...s,
			fatal: undefined,
		}));
	}
	return updateProject(ctx, id, (p) => {
		if (!p.ticket || p.state !== "failed") throw conflict("NO_TICKET", `project '${p.name}' has no open ticket`);
		const step = p.ticket.step;
		if (step === "incremental" || (step === "reverse" && p.reverse?.active)) {
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
}

/** A throttle so low that one chunk's copy (one streaming read) would outlast the statement time bound. */
function throttledChunkError(input: ProjectInput): string | undefined {
	const { chunkRows, maxRowsPerSecond, parallelism } = input.options;
	const bound = input.options.queryTimeoutSeconds ?? DEFAULT_QUERY_TIMEOUT_SECONDS;
	if (!maxRowsPerSecond) return undefined;
	const seconds = Math.ceil(chunkRows / (maxRowsPerSecond / parallelism));
	if (seconds <= bound) return undefined;
	return `a chunk of ${chunkRows} rows copies in ${seconds} s at the throttle (maxRowsPerSecond / parallelism), longer than queryTimeoutSeconds (${bound} s), after which the server stops its read: raise queryTimeoutSeconds, lower chunkRows or raise maxRowsPerSecond`;
}

/** Migration types that only make sense with others, as OMS ties them. */
function typeCombinationError(input: ProjectInput): string | undefined {
	const has = (t: ProjectInput["types"][number]) => input.types.includes(t);
	if (has("switchover") && !has("incremental")) return "switchover needs incremental migration: tick incremental too";
	if (has("reverse") && !has("switchover")) {
		return "reverse incremental starts at the switchover: tick switchover too (or use options.twoWay for two-way sync)";
	}
	if (input.options.twoWay && !has("incremental")) return "two-way sync needs incremental migration: tick incremental";
	if (input.options.twoWay && (has("reverse") || has("switchover"))) {
		return "two-way sync keeps both sides primary: there is no switchover; untick switchover and reverse (or turn twoWay off)";
	}
	return undefined;
}

export async function deleteProject(ctx: Context, id: string): Promise<void> {
	const p = await getProject(ctx, id);
	if (p.state === "running" || p.state === "paused") {
		throw conflict("BAD_STATE", `project '${p.name}' is ${p.state}: release it before deleting`);
	}
	for await (const item of ctx.store.query(chunksPk(id))) await ctx.store.delete(item);
	for (let run = 1; run <= (p.verification?.run ?? 0); run++) {
		for (const pk of [verifyChunksPk(id, run), verifyPlanPk(id, run)]) {
			for await (const item of ctx.store.query(pk)) await ctx.store.delete(item);
		}
	}
	for (const pk of [`TABLES#${id}`, `REPORT#${id}`, `TRIGGERS#${id}`]) {
		for await (const item of ctx.store.query(pk)) await ctx.store.delete(item);
	}
	await ctx.store.delete(key(id));
}

/** Object settings as a file a user can keep, edit and import into another project (OMS export/import). */
export const ObjectSettings = z.object({ format: z.literal("ferry-objects/1"), objects: ObjectRules }).strict();
export type ObjectSettings = z.infer<typeof ObjectSettings>;

export async function exportObjects(ctx: Context, id: string): Promise<ObjectSettings> {
	const p = await getProject(ctx, id);
	return { format: "ferry-objects/1", objects: p.objects };
}

export async function importObjects(ctx: Context, id: string, settings: ObjectSettings): Promise<Project> {
	return updateProject(ctx, id, (p) => {
		if (p.state !== "new")
			throw conflict("BAD_STATE", `objects of project '${p.name}' can only change before it starts`);
		return { ...p, objects: settings.objects };
	});
}

export function markStep(p: Project, name: StepName, change: Partial<Project["steps"][number]>): Project {
	return {
		...p,
		steps: p.steps.map((s) => (s.name === name ? { ...s, ...change } : s)),
	};
}
