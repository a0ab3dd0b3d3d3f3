import type { Context } from "../context.ts";
import type { Project, SwitchoverState } from "../model/project.ts";
import { logger } from "../observability.ts";
import { withConnection } from "../state/datasources.ts";
import { updateProject } from "../state/projects.ts";
import type { HasStore } from "../state/store.ts";
import { listTables } from "../state/tables.ts";
import { keptOnce } from "../state/triggers.ts";
import { type EnabledEvent, readEnabledEvents } from "../switchover/events.ts";
import { readTriggers, type TriggerDefinition } from "../switchover/triggers.ts";
import { never } from "./step.ts";

/**
 * What the switchover steps (steps/switch-*.ts) share. Each step is idempotent: a crash
 * anywhere leaves state from which the next tick, or a ticket's retry, carries on. A step that
 * waits for the user says why in `switchover.blocked`; a step that cannot go on opens a ticket.
 */

/** The switchover steps whose skipping would lose changes (writes, drain, stop forward): only retry resolves their tickets. */
export const losesChanges = never("without it changes would be lost at the switch; fix the cause and retry");

/** Records why the switchover waits (once per reason, so the status shows it and the log alerts on it). */
export async function block(ctx: HasStore, project: Project, reason: string | undefined): Promise<"waiting"> {
	if (project.switchover?.blocked !== reason) {
		if (reason) logger.info("switchover waiting", { projectId: project.id, reason });
		await updateProject(ctx, project.id, (p) =>
			p.switchover ? { ...p, switchover: { ...p.switchover, blocked: reason } } : p,
		);
	}
	return "waiting";
}

/** Records switchover progress; whatever blocked it no longer does. */
export async function setSwitchover(ctx: HasStore, project: Project, change: Partial<SwitchoverState>): Promise<void> {
	await updateProject(ctx, project.id, (p) =>
		p.switchover ? { ...p, switchover: { ...p.switchover, ...change, blocked: undefined } } : p,
	);
}

/** The source's triggers on the project's tables, as first read (the source step drops them). */
export async function sourceTriggers(ctx: Context, project: Project): Promise<TriggerDefinition[]> {
	const tables = (await listTables(ctx, project.id)).map((t) => t.mapping.source);
	return keptOnce(ctx, project.id, "source", () =>
		withConnection(ctx, project.sourceId, (c) => readTriggers(c, tables)),
	);
}

/** The source's enabled events that Ferry created disabled at the destination, as first read. */
export async function sourceEvents(ctx: Context, project: Project): Promise<EnabledEvent[]> {
	if (!project.types.includes("schema")) return [];
	return keptOnce(ctx, project.id, "events", () =>
		withConnection(ctx, project.sourceId, (c) => readEnabledEvents(c, project.objects)),
	);
}
