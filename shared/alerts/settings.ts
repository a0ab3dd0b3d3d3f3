import type { SecretStore } from "../aws/secrets.ts";
import { invalid } from "../errors.ts";
import type { Actor } from "../model/actor.ts";
import { recordEvent, settingChanges } from "../state/events.ts";
import { alertDefaultsKey, alertProjectSettingsKey, alertStateKey, alertWebhookKey } from "../state/keys.ts";
import { type HasStore, withoutKey } from "../state/store.ts";
import { ALERT_NAMES, type AlertSettings, CATALOGUE, effectiveSettings, unknownThresholds } from "./catalogue.ts";
import type { AlertScopeState } from "./history.ts";
import { WEBHOOK_SECRET_ID, type WebhookTarget } from "./notify.ts";

/*
 * Alert settings: the defaults (one item) and each project's overrides (one item per project),
 * and the webhook target, whose secret goes to the secret store as data-source passwords do and
 * is never returned.
 */

type SettingsItem = AlertSettings & { updatedAt?: string; updatedBy?: string };

async function read(ctx: HasStore, key: { pk: string; sk: string }): Promise<AlertSettings> {
	const item = await ctx.store.get<SettingsItem>(key);
	if (!item) return {};
	const { updatedAt: _at, updatedBy: _by, ...settings } = withoutKey(item);
	return settings;
}

async function write(ctx: HasStore, key: { pk: string; sk: string }, settings: AlertSettings, actor: Actor) {
	const bad = unknownThresholds(settings);
	if (bad.length) throw invalid("UNKNOWN_THRESHOLD", `these alerts have no such threshold: ${bad.join(", ")}`);
	const value: SettingsItem = { ...settings, updatedAt: new Date().toISOString(), updatedBy: actor.name };
	const changed = await ctx.store.modify<SettingsItem>(key, () => value);
	if (!changed) await ctx.store.create(key, value).catch(() => ctx.store.modify<SettingsItem>(key, () => value));
}

export const getAlertDefaults = (ctx: HasStore) => read(ctx, alertDefaultsKey());
export const getProjectAlertSettings = (ctx: HasStore, projectId: string) =>
	read(ctx, alertProjectSettingsKey(projectId));

/** What the settings page shows: the catalogue, the stored defaults, and what is in force. */
export async function alertDefaultsView(ctx: HasStore) {
	const defaults = await getAlertDefaults(ctx);
	return { catalogue: ALERT_NAMES.map((n) => CATALOGUE[n]), defaults, effective: effectiveSettings(defaults) };
}

export async function projectAlertSettingsView(ctx: HasStore, projectId: string) {
	const [defaults, project] = await Promise.all([getAlertDefaults(ctx), getProjectAlertSettings(ctx, projectId)]);
	return { projectId, settings: project, effective: effectiveSettings(defaults, project) };
}

/** Replaces the defaults; every project's next evaluation uses them. */
export async function setAlertDefaults(ctx: HasStore, settings: AlertSettings, actor: Actor) {
	await write(ctx, alertDefaultsKey(), settings, actor);
	return alertDefaultsView(ctx);
}

/** Replaces a project's overrides, records the change on its timeline, and has it evaluated at the next tick. */
export async function setProjectAlertSettings(ctx: HasStore, projectId: string, settings: AlertSettings, actor: Actor) {
	const before = await getProjectAlertSettings(ctx, projectId);
	await write(ctx, alertProjectSettingsKey(projectId), settings, actor);
	await ctx.store.modify<AlertScopeState>(alertStateKey(projectId), (s) => ({ ...withoutKey(s), nextAt: 0 }));
	await recordEvent(ctx, projectId, {
		kind: "settings-changed",
		message: "alert settings changed",
		actor,
		subject: "alerts",
		details: settingChanges(before, settings),
	});
	return projectAlertSettingsView(ctx, projectId);
}

/** The webhook target without its secret. */
export async function getWebhookTarget(
	ctx: HasStore,
): Promise<{ url: string | null; updatedAt?: string; updatedBy?: string }> {
	const item = await ctx.store.get<WebhookTarget>(alertWebhookKey());
	return item ? withoutKey(item) : { url: null };
}

export async function setWebhookTarget(
	ctx: HasStore & { secrets: SecretStore },
	target: { url: string; secret: string },
	actor: Actor,
) {
	await ctx.secrets.put(WEBHOOK_SECRET_ID, target.secret);
	const value: WebhookTarget = { url: target.url, updatedAt: new Date().toISOString(), updatedBy: actor.name };
	if (!(await ctx.store.modify<WebhookTarget>(alertWebhookKey(), () => value))) {
		await ctx.store.create(alertWebhookKey(), value).catch(() => ctx.store.modify(alertWebhookKey(), () => value));
	}
	return getWebhookTarget(ctx);
}

export async function deleteWebhookTarget(ctx: HasStore & { secrets: SecretStore }): Promise<void> {
	await ctx.store.delete(alertWebhookKey());
	await ctx.secrets.delete(WEBHOOK_SECRET_ID);
}
