import { z } from "zod";
import { AlertSettings } from "../alerts/catalogue.ts";
import { type Alert, type AlertFilter, acknowledgeAlert, listAlerts, RANGES, STACK_SCOPE } from "../alerts/history.ts";
import {
	alertDefaultsView,
	deleteWebhookTarget,
	getWebhookTarget,
	projectAlertSettingsView,
	setAlertDefaults,
	setProjectAlertSettings,
	setWebhookTarget,
} from "../alerts/settings.ts";
import type { Context } from "../context.ts";
import { UserError } from "../errors.ts";
import type { Actor } from "../model/actor.ts";
import { GLOBAL_TIMELINE, recordEvent } from "../state/events.ts";
import { getProject, listProjects } from "../state/projects.ts";
import { type Route, route } from "./route.ts";

/** The alert centre's routes: history (across projects and per project), acknowledgement, settings, the webhook. */

const AlertQuery = z
	.object({
		range: z.enum(Object.keys(RANGES) as [keyof typeof RANGES]).optional(),
		from: z.iso.datetime({ offset: true }).optional(),
		to: z.iso.datetime({ offset: true }).optional(),
		state: z.enum(["firing", "resolved", "acknowledged", "unacknowledged"]).optional(),
		name: z.string().max(100).optional(),
	})
	.strict();

const WebhookInput = z
	.object({
		url: z.url({ protocol: /^https?$/ }).max(2048),
		/** Shared with the receiver, which checks each request's signature with it (docs/alerts.md). */
		secret: z.string().min(16).max(512),
	})
	.strict();

function filterOf(query: Record<string, string | undefined>): AlertFilter {
	const defined = Object.fromEntries(Object.entries(query).filter(([, v]) => v !== undefined));
	const parsed = AlertQuery.safeParse(defined);
	if (!parsed.success) {
		throw new UserError(
			400,
			"INVALID_QUERY",
			`the query is invalid: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
		);
	}
	// stored times are UTC: compare in UTC
	const utc = (t: string | undefined) => t && new Date(t).toISOString();
	return { ...parsed.data, from: utc(parsed.data.from), to: utc(parsed.data.to) };
}

async function allAlerts(ctx: Context, filter: AlertFilter): Promise<{ alerts: Alert[] }> {
	const scopes = [STACK_SCOPE, ...(await listProjects(ctx)).map((p) => p.id)];
	const lists = await Promise.all(scopes.map((s) => listAlerts(ctx, s, filter)));
	return { alerts: lists.flat().sort((a, b) => b.firedAt.localeCompare(a.firedAt)) };
}

async function acknowledge(ctx: Context, scope: string, alertId: string, actor: Actor): Promise<Alert> {
	if (scope !== STACK_SCOPE) await getProject(ctx, scope);
	const { alert, first } = await acknowledgeAlert(ctx, scope, alertId, actor);
	if (first) {
		await recordEvent(ctx, scope === STACK_SCOPE ? GLOBAL_TIMELINE : scope, {
			kind: "alert-acknowledged",
			message: `${actor.name} acknowledged ${alert.name}: ${alert.message}`,
			actor,
			subject: alert.name,
			details: { alertId },
		});
	}
	return alert;
}

export const ALERT_ROUTES: Route[] = [
	route({
		method: "GET",
		path: "/alerts",
		operationId: "listAlerts",
		access: "read",
		summary:
			"Alert history across projects and the stack's CloudWatch alarms, newest first: ?range=7d|3w|1m|3m (7d by default) or ?from&to (ISO times), ?state=firing|resolved|acknowledged|unacknowledged, ?name=",
		status: 200,
		handle: (ctx, req) => allAlerts(ctx, filterOf(req.query)),
	}),
	route({
		method: "GET",
		path: "/projects/{id}/alerts",
		operationId: "listProjectAlerts",
		access: "read",
		summary: "A project's alert history, with the same filters as /alerts",
		status: 200,
		handle: async (ctx, req) => {
			const id = req.params.id ?? "";
			const filter = filterOf(req.query);
			await getProject(ctx, id);
			return { alerts: await listAlerts(ctx, id, filter) };
		},
	}),
	route({
		method: "POST",
		path: "/alerts/{scope}/{alertId}/acknowledge",
		operationId: "acknowledgeAlert",
		access: "operate",
		recordsOwnEvent: true,
		summary: "Acknowledge an alert of a project (scope: its id) or of the stack (scope: stack); records who did",
		status: 200,
		handle: (ctx, req) => acknowledge(ctx, req.params.scope ?? "", req.params.alertId ?? "", req.actor),
	}),
	route({
		method: "GET",
		path: "/alerts/settings",
		operationId: "getAlertDefaults",
		access: "read",
		summary:
			"The alert catalogue (what each alert watches, its thresholds and their defaults) and the default settings",
		status: 200,
		handle: (ctx) => alertDefaultsView(ctx),
	}),
	route({
		method: "PUT",
		path: "/alerts/settings",
		operationId: "setAlertDefaults",
		access: "admin",
		summary: "Replace the default alert settings (enabled, thresholds, evaluation interval) every project starts from",
		body: AlertSettings,
		status: 200,
		handle: (ctx, req) => setAlertDefaults(ctx, req.body, req.actor),
	}),
	route({
		method: "GET",
		path: "/projects/{id}/alerts/settings",
		operationId: "getProjectAlertSettings",
		access: "read",
		summary: "A project's alert settings over the defaults, and the settings in force",
		status: 200,
		handle: async (ctx, req) => {
			await getProject(ctx, req.params.id ?? "");
			return projectAlertSettingsView(ctx, req.params.id ?? "");
		},
	}),
	route({
		method: "PUT",
		path: "/projects/{id}/alerts/settings",
		operationId: "setProjectAlertSettings",
		access: "operate",
		recordsOwnEvent: true,
		summary: "Replace a project's alert settings (what it leaves out follows the defaults); applies from the next tick",
		body: AlertSettings,
		status: 200,
		handle: async (ctx, req) => {
			await getProject(ctx, req.params.id ?? "");
			return setProjectAlertSettings(ctx, req.params.id ?? "", req.body, req.actor);
		},
	}),
	route({
		method: "GET",
		path: "/alerts/webhook",
		operationId: "getAlertWebhook",
		access: "read",
		summary: "The webhook alert notifications are sent to (its secret is never returned)",
		status: 200,
		handle: (ctx) => getWebhookTarget(ctx),
	}),
	route({
		method: "PUT",
		path: "/alerts/webhook",
		operationId: "setAlertWebhook",
		access: "admin",
		summary:
			"Set the webhook for alert notifications: each POST is signed (X-Ferry-Signature: sha256=HMAC of '<X-Ferry-Timestamp>.<body>' under the secret)",
		body: WebhookInput,
		status: 200,
		handle: (ctx, req) => setWebhookTarget(ctx, req.body, req.actor),
	}),
	route({
		method: "DELETE",
		path: "/alerts/webhook",
		operationId: "deleteAlertWebhook",
		access: "admin",
		summary: "Stop sending alert notifications to the webhook (its secret is deleted)",
		status: 204,
		handle: (ctx) => deleteWebhookTarget(ctx),
	}),
];
