import { randomUUID } from "node:crypto";
import { notFound } from "../errors.ts";
import type { Actor } from "../model/actor.ts";
import { alertSk, alertStateKey, alertsPk } from "../state/keys.ts";
import { ConflictError, type HasStore, type Stored, withoutKey } from "../state/store.ts";
import type { Condition } from "./evaluate.ts";

/*
 * The alert history: one item per alert, firing until its condition ends, then resolved; a person
 * may acknowledge it in either state. Ferry's own evaluation (tick.ts) and CloudWatch's alarms
 * in AWS (cloudwatch.ts) write here alike.
 */

export type AlertState = "firing" | "resolved";
export type Channel = "webhook" | "sns";
export type Delivery = "pending" | "sent" | "failed";

export interface Alert extends Omit<Condition, "name"> {
	id: string;
	/** A project's id, or `stack` for a CloudWatch alarm over the whole stack. */
	projectId: string;
	/** A catalogue name (alerts/catalogue.ts). */
	name: string;
	state: AlertState;
	firedAt: string;
	resolvedAt?: string;
	/** Why it resolved, when that was not its condition ending (e.g. the alert was disabled). */
	resolution?: string;
	acknowledged?: { by: string; at: string };
	source: "ferry" | "cloudwatch";
	/** Where its notifications went, per channel and transition. */
	notifications?: Partial<Record<`${Channel}:${"fired" | "resolved"}`, Delivery>>;
}

/** The scope of CloudWatch's stack-wide alarms (project ids start with `pr-`). */
export const STACK_SCOPE = "stack";

export async function fireAlert(
	ctx: HasStore,
	projectId: string,
	condition: Condition,
	source: Alert["source"] = "ferry",
	now = new Date(),
): Promise<Alert> {
	const alert: Alert = {
		...condition,
		id: `al-${randomUUID().slice(0, 8)}`,
		projectId,
		state: "firing",
		firedAt: now.toISOString(),
		source,
	};
	await ctx.store.create({ pk: alertsPk(projectId), sk: alertSk(alert.firedAt, alert.id) }, alert);
	return alert;
}

async function findAlert(ctx: HasStore, projectId: string, id: string): Promise<Stored<Alert>> {
	for await (const item of ctx.store.query<Alert>(alertsPk(projectId))) if (item.id === id) return item;
	throw notFound("alert", id);
}

/** Changes one alert, retrying on a concurrent writer; its sort key is its firing time, so `firedAt` finds it. */
export async function changeAlert(
	ctx: HasStore,
	alert: Pick<Alert, "projectId" | "firedAt" | "id">,
	change: (a: Alert) => Partial<Alert> | undefined,
): Promise<Alert | undefined> {
	const out = await ctx.store.modify<Alert>(
		{ pk: alertsPk(alert.projectId), sk: alertSk(alert.firedAt, alert.id) },
		(current) => {
			const c = change(withoutKey(current));
			return c && { ...withoutKey(current), ...c };
		},
	);
	return out && withoutKey(out);
}

export async function resolveAlert(
	ctx: HasStore,
	alert: Pick<Alert, "projectId" | "firedAt" | "id">,
	resolution?: string,
	now = new Date(),
): Promise<Alert | undefined> {
	return changeAlert(ctx, alert, (a) =>
		a.state === "firing" ? { state: "resolved", resolvedAt: now.toISOString(), resolution } : undefined,
	);
}

/** A person saw the alert: kept with who and when; `first` is false when someone had already acknowledged it. */
export async function acknowledgeAlert(
	ctx: HasStore,
	projectId: string,
	id: string,
	actor: Actor,
): Promise<{ alert: Alert; first: boolean }> {
	const item = await findAlert(ctx, projectId, id);
	if (item.acknowledged) return { alert: withoutKey(item), first: false };
	const acknowledged = { by: actor.name, at: new Date().toISOString() };
	let first = true;
	const alert = await changeAlert(ctx, item, (a) => {
		first = !a.acknowledged;
		return first ? { acknowledged } : undefined;
	});
	return { alert: alert ?? withoutKey(item), first };
}

/** The time filter of the alert centre: OMS's ranges, or from/to. */
export const RANGES = { "7d": 7, "3w": 21, "1m": 30, "3m": 90 } as const;
export type Range = keyof typeof RANGES;

export interface AlertFilter {
	range?: Range;
	/** ISO times; `from` overrides the range. */
	from?: string;
	to?: string;
	/** firing, resolved, or acknowledged (either state); with `unacknowledged`, the ones nobody has seen. */
	state?: AlertState | "acknowledged" | "unacknowledged";
	name?: string;
}

/** The alerts of one scope active at some time in the window (7 days by default), newest first. */
export async function listAlerts(
	ctx: HasStore,
	projectId: string,
	filter: AlertFilter = {},
	now = Date.now(),
): Promise<Alert[]> {
	const to = filter.to ?? new Date(now).toISOString();
	const from = filter.from ?? new Date(now - RANGES[filter.range ?? "7d"] * 86_400_000).toISOString();
	const items = await ctx.store.list<Alert>(alertsPk(projectId));
	return items
		.map(withoutKey)
		.filter((a) => a.firedAt <= to && (a.resolvedAt ?? to) >= from)
		.filter((a) => filter.name === undefined || a.name === filter.name)
		.filter((a) => {
			switch (filter.state) {
				case undefined:
					return true;
				case "acknowledged":
					return a.acknowledged !== undefined;
				case "unacknowledged":
					return a.acknowledged === undefined;
				default:
					return a.state === filter.state;
			}
		})
		.reverse();
}

/** A notification waiting to go out (or to be tried again). */
export interface OutboxEntry {
	alert: Alert;
	transition: "fired" | "resolved";
	channel: Channel;
	attempts: number;
	/** Epoch ms of the next attempt. */
	nextAt: number;
}

/** Per scope: the open alerts (by condition key, `name|subject`), the notifications not yet delivered, the next evaluation. */
export interface AlertScopeState {
	open: Record<string, Pick<Alert, "id" | "firedAt" | "projectId" | "name">>;
	outbox: OutboxEntry[];
	/** Epoch ms before which the scheduler does not evaluate this scope again (a settings change sets it to 0). */
	nextAt?: number;
}

/** The scope's state and the version it was read at (undefined before its first write). */
export async function getScopeState(
	ctx: HasStore,
	scope: string,
): Promise<{ state: AlertScopeState; version: number | undefined }> {
	const item = await ctx.store.get<AlertScopeState>(alertStateKey(scope));
	return item
		? { state: withoutKey(item), version: item.version }
		: { state: { open: {}, outbox: [] }, version: undefined };
}

/**
 * Writes the scope's state if it is still at `version`: returns the new version, or undefined
 * when another evaluator wrote first (that one carries on; this one leaves it).
 */
export async function saveScopeState(
	ctx: HasStore,
	scope: string,
	state: AlertScopeState,
	version: number | undefined,
): Promise<number | undefined> {
	const key = alertStateKey(scope);
	try {
		const saved =
			version === undefined ? await ctx.store.create(key, state) : await ctx.store.replace(key, state, version);
		return saved.version;
	} catch (err) {
		if (err instanceof ConflictError) return undefined;
		throw err;
	}
}
