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
import { type Actor, SYSTEM } from "../model/actor.ts";
import { recordEvent } from "../state/events.ts";
import { getProject, listProjects } from "../state/projects.ts";
import { type Request, type Route, route } from "./route.ts";

/** The alert centre's routes: history (across projects and per project), acknowledgement, settings, the webhook. */

const AlertQuery = z
	.object({
		range: z.enum(Object.keys(RANGES) as [keyof typeof RANGES]).optional(),
		from: z.iso.datetime().optional(),
		to: z.iso.datetime().optional(),
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

/** The caller, once the API passes it in (roles); Ferry itself until then. */
const actorOf = (req: Request<unknown>): Actor => (req as { actor?: Actor }).actor ?? SYSTEM;

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
	return parsed.data;
}

async function allAlerts(ctx: Context, filter: AlertFilter): Promise<{ alerts: Alert[] }> {
	const scopes = [STACK_SCOPE, ...(await listProjects(ctx)).map((p) => p.id)];
	const lists = await Promise.all(scopes.map((s) => listAlerts(ctx, s, filter)));
	return { alerts: lists.flat().sort((a, b) => b.firedAt.localeCompare(a.firedAt)) };
}

async function acknowledge(ctx: Context, scope: string, alertId: string, actor: Actor): Promise<Alert> {
	if (scope !== STACK_SCOPE) await getProject(ctx, scope);
	const { alert, first } = await acknowledgeAlert(ctx, scope, alertId, actor);
	if (scope !== STACK_SCOPE && first) {
		await recordEvent(ctx, scope, {
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
		summary:
			"Alert history across projects and the stack's CloudWatch alarms, newest first: ?range=7d|3w|1m|3m (7d by default) or ?from&to (ISO times), ?state=firing|resolved|acknowledged|unacknowledged, ?name=",
		status: 200,
		handle: (ctx, req) => allAlerts(ctx, filterOf(req.query)),
	}),
	route({
		method: "GET",
		path: "/projects/{id}/alerts",
		operationId: "listProjectAlerts",
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
		summary: "Acknowledge an alert of a project (scope: its id) or of the stack (scope: stack); records who did",
		status: 200,
		handle: (ctx, req) => acknowledge(ctx, req.params.scope ?? "", req.params.alertId ?? "", actorOf(req)),
	}),
	route({
		method: "GET",
		path: "/alerts/settings",
		operationId: "getAlertDefaults",
		summary:
			"The alert catalogue (what each alert watches, its thresholds and their defaults) and the default settings",
		status: 200,
		handle: (ctx) => alertDefaultsView(ctx),
	}),
	route({
		method: "PUT",
		path: "/alerts/settings",
		operationId: "setAlertDefaults",
		summary: "Replace the default alert settings (enabled, thresholds, evaluation interval) every project starts from",
		body: AlertSettings,
		status: 200,
		handle: (ctx, req) => setAlertDefaults(ctx, req.body, actorOf(req)),
	}),
	route({
		method: "GET",
		path: "/projects/{id}/alerts/settings",
		operationId: "getProjectAlertSettings",
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
		summary: "Replace a project's alert settings (what it leaves out follows the defaults); applies from the next tick",
		body: AlertSettings,
		status: 200,
		handle: async (ctx, req) => {
			await getProject(ctx, req.params.id ?? "");
			return setProjectAlertSettings(ctx, req.params.id ?? "", req.body, actorOf(req));
		},
	}),
	route({
		method: "GET",
		path: "/alerts/webhook",
		operationId: "getAlertWebhook",
		summary: "The webhook alert notifications are sent to (its secret is never returned)",
		status: 200,
		handle: (ctx) => getWebhookTarget(ctx),
	}),
	route({
		method: "PUT",
		path: "/alerts/webhook",
		operationId: "setAlertWebhook",
		summary:
			"Set the webhook for alert notifications: each POST is signed (X-Ferry-Signature: sha256=HMAC of '<X-Ferry-Timestamp>.<body>' under the secret)",
		body: WebhookInput,
		status: 200,
		handle: (ctx, req) => setWebhookTarget(ctx, req.body, actorOf(req)),
	}),
	route({
		method: "DELETE",
		path: "/alerts/webhook",
		operationId: "deleteAlertWebhook",
		summary: "Stop sending alert notifications to the webhook (its secret is deleted)",
		status: 204,
		handle: (ctx) => deleteWebhookTarget(ctx),
	}),
];
