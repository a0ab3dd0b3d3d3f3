import { z } from "zod";
import { AlertName, AlertSettings } from "../alerts/catalogue.ts";
import type { acknowledgeAlert, listAlerts } from "../alerts/history.ts";
import type {
	alertDefaultsView,
	getWebhookTarget,
	projectAlertSettingsView,
	setAlertDefaults,
	setProjectAlertSettings,
	setWebhookTarget,
} from "../alerts/settings.ts";
import { exactly, type Returns, Time } from "./responses-base.ts";

/** The alert centre's answers (routes-alerts.ts): the history, the catalogue and settings, the webhook. */

const Delivery = z.enum(["pending", "sent", "failed"]);

export const AlertView = exactly<Returns<typeof acknowledgeAlert>["alert"]>()(
	z.object({
		id: z.string(),
		/** A project's id, or `stack` for a CloudWatch alarm over the whole stack. */
		projectId: z.string(),
		name: z.string(),
		subject: z.string(),
		message: z.string(),
		value: z.number().optional(),
		threshold: z.number().optional(),
		state: z.enum(["firing", "resolved"]),
		firedAt: Time,
		resolvedAt: Time.optional(),
		resolution: z.string().optional(),
		acknowledged: z.object({ by: z.string(), at: Time }).optional(),
		source: z.enum(["ferry", "cloudwatch"]),
		notifications: z
			.partialRecord(z.enum(["webhook:fired", "webhook:resolved", "sns:fired", "sns:resolved"]), Delivery)
			.optional(),
	}),
);

const AlertList = exactly<{ alerts: Returns<typeof listAlerts> }>()(z.object({ alerts: z.array(AlertView) }));

const EffectiveSettingsView = z.object({
	evaluationSeconds: z.number().int().positive(),
	alerts: z.record(AlertName, z.object({ enabled: z.boolean(), thresholds: z.record(z.string(), z.number()) })),
});

const AlertDefinitionView = z.object({
	name: AlertName,
	watches: z.string(),
	thresholds: z.record(
		z.string(),
		z.object({ unit: z.enum(["seconds", "percent", "messages"]), default: z.number(), meaning: z.string() }),
	),
});

const AlertDefaultsView = exactly<Returns<typeof alertDefaultsView>>()(
	z.object({ catalogue: z.array(AlertDefinitionView), defaults: AlertSettings, effective: EffectiveSettingsView }),
);

const ProjectAlertSettingsView = exactly<Returns<typeof projectAlertSettingsView>>()(
	z.object({ projectId: z.string(), settings: AlertSettings, effective: EffectiveSettingsView }),
);

/** Never the secret. */
const WebhookView = exactly<Returns<typeof getWebhookTarget>>()(
	z.object({ url: z.string().nullable(), updatedAt: Time.optional(), updatedBy: z.string().optional() }),
);

export const ALERT_RESPONSES: Record<string, z.ZodType> = {
	listAlerts: AlertList,
	listProjectAlerts: AlertList,
	acknowledgeAlert: AlertView,
	getAlertDefaults: AlertDefaultsView,
	setAlertDefaults: exactly<Returns<typeof setAlertDefaults>>()(AlertDefaultsView),
	getProjectAlertSettings: ProjectAlertSettingsView,
	setProjectAlertSettings: exactly<Returns<typeof setProjectAlertSettings>>()(ProjectAlertSettingsView),
	getAlertWebhook: WebhookView,
	setAlertWebhook: exactly<Returns<typeof setWebhookTarget>>()(WebhookView),
};
