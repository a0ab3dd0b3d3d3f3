import { randomUUID } from "node:crypto";
import type { Actor } from "../model/actor.ts";
import { eventSk, eventsPk } from "./keys.ts";
import type { HasStore } from "./store.ts";

/*
 * A project's timeline (GET /projects/{id}/events): what happened to it and who did it, one item
 * per event, sorted by time. Everything that changes a project or that a person should find
 * later records an event here: steps started and ended, tickets opened and decided, DDL seen and
 * applied or refused, settings changed, replication tasks started, died and restarted, alerts
 * fired and resolved.
 */

/**
 * The timeline of what belongs to no one project: data sources added, edited, copied and deleted,
 * and projects deleted (a project's own timeline goes with it). No project has this id (theirs
 * start with "pr-").
 */
export const GLOBAL_TIMELINE = "global";

export type EventKind =
	| "step-started"
	| "step-done"
	| "step-failed"
	| "ticket-opened"
	| "ticket-resolved"
	| "action"
	| "settings-changed"
	| "ddl-applied"
	| "ddl-refused"
	| "task-started"
	| "task-died"
	| "alert-fired"
	| "alert-resolved"
	| "alert-acknowledged";

export interface ProjectEvent {
	/** ISO time of the event. */
	at: string;
	kind: EventKind;
	/** One line a person reads. */
	message: string;
	actor: Actor;
	/** What the event is about: a step, a table, a stream, an alert name. */
	subject?: string;
	/** Anything more, small (a changed setting's old and new value, a DDL statement). */
	details?: Record<string, unknown>;
}

let last = { at: "", seq: 0 };

/** A sort key suffix that keeps one process's events of the same millisecond in the order they happened. */
function suffix(at: string): string {
	last = at === last.at ? { at, seq: last.seq + 1 } : { at, seq: 0 };
	return `${String(last.seq).padStart(4, "0")}${randomUUID().slice(0, 8)}`;
}

/** Records an event; never fails the caller for it (the timeline must not stop a migration). */
export async function recordEvent(ctx: HasStore, projectId: string, event: Omit<ProjectEvent, "at">): Promise<void> {
	const at = new Date().toISOString();
	await ctx.store.create({ pk: eventsPk(projectId), sk: eventSk(at, suffix(at)) }, { ...event, at }).catch(() => {});
}

/** A setting's value before and after a change, for a `settings-changed` event's details. */
export interface SettingChange {
	old: unknown;
	new: unknown;
}

/** The top-level settings that differ between two versions (compared as JSON), but those in `ignore`. */
export function settingChanges(
	before: object,
	after: object,
	ignore: readonly string[] = [],
): Record<string, SettingChange> {
	const b = before as Record<string, unknown>;
	const a = after as Record<string, unknown>;
	const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].filter((k) => !ignore.includes(k));
	return Object.fromEntries(
		keys.filter((k) => JSON.stringify(b[k]) !== JSON.stringify(a[k])).map((k) => [k, { old: b[k], new: a[k] }]),
	);
}

/** The project's events between `from` and `to` (ISO times, both optional), oldest first. */
export async function listEvents(
	ctx: HasStore,
	projectId: string,
	range: { from?: string; to?: string } = {},
): Promise<ProjectEvent[]> {
	const items = await ctx.store.list<ProjectEvent>(eventsPk(projectId));
	return items
		.filter((e) => (range.from === undefined || e.at >= range.from) && (range.to === undefined || e.at <= range.to))
		.map(({ pk: _pk, sk: _sk, version: _v, ...e }) => e);
}
