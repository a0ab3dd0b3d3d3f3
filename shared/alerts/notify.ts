import type { SecretStore } from "../aws/secrets.ts";
import { type SnsPublisher, snsPublisherFromEnv } from "../aws/sns.ts";
import { logger } from "../observability.ts";
import { alertWebhookKey } from "../state/keys.ts";
import type { HasStore } from "../state/store.ts";
import type { Alert, Channel, OutboxEntry } from "./history.ts";
import { signatureHeaders } from "./signature.ts";

/*
 * Notifications: each alert's firing and resolution goes to the webhook (anywhere, local mode
 * included) and to the stack's SNS topic (in AWS). They wait in the scope's outbox until
 * delivered; a failed delivery is tried again later with a growing pause, and given up after
 * MAX_DELIVERY_ATTEMPTS. Nothing here throws into the scheduler: a migration never waits on it.
 */

/** The webhook target as stored (its secret is in the secret store, under WEBHOOK_SECRET_ID). */
export interface WebhookTarget {
	url: string;
	updatedAt: string;
	updatedBy: string;
}
export const WEBHOOK_SECRET_ID = "alerts-webhook";

export const MAX_DELIVERY_ATTEMPTS = 10;
const FIRST_RETRY_MS = 2000;
const LONGEST_RETRY_MS = 10 * 60_000;
const WEBHOOK_TIMEOUT_MS = 5000;

export interface Channels {
	webhook?: { url: string; secret: string };
	sns?: SnsPublisher;
}

/** The channels configured now. */
export async function channelsFor(ctx: HasStore & { secrets: SecretStore }): Promise<Channels> {
	const target = await ctx.store.get<WebhookTarget>(alertWebhookKey());
	let webhook: Channels["webhook"];
	if (target) {
		try {
			webhook = { url: target.url, secret: await ctx.secrets.get(WEBHOOK_SECRET_ID) };
		} catch (err) {
			logger.warn("the alert webhook's secret cannot be read; not notifying it", { error: (err as Error).message });
		}
	}
	return { webhook, sns: snsPublisherFromEnv() };
}

export function configuredChannels(channels: Channels): Channel[] {
	return [...(channels.webhook ? ["webhook" as const] : []), ...(channels.sns ? ["sns" as const] : [])];
}

/** The JSON a receiver gets (the webhook's body, the SNS message). */
export function notificationBody(alert: Alert, transition: "fired" | "resolved"): string {
	return JSON.stringify({ type: `alert-${transition}`, alert });
}

async function send(entry: OutboxEntry, channels: Channels): Promise<void> {
	const body = notificationBody(entry.alert, entry.transition);
	if (entry.channel === "webhook") {
		const webhook = channels.webhook;
		if (!webhook) throw new Error("no webhook is configured any more");
		const res = await fetch(webhook.url, {
			method: "POST",
			headers: { "content-type": "application/json", ...signatureHeaders(webhook.secret, body) },
			body,
			signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
		});
		await res.arrayBuffer().catch(() => undefined);
		if (!res.ok) throw new Error(`the webhook answered ${res.status}`);
		return;
	}
	if (!channels.sns) throw new Error("no SNS topic is configured");
	const a = entry.alert;
	await channels.sns.publish(`Ferry ${a.name} ${entry.transition}: ${a.projectId}`, body, {
		source: "ferry",
		alert: a.name,
		transition: entry.transition,
	});
}

export type DeliveryResult = { entry: OutboxEntry; outcome: "sent" | "retry" | "failed"; error?: string };

/**
 * Tries every entry that is due; returns what happened to each and the entries left for later.
 * Each alert's notifications on one channel go in order (fired before resolved: a later one
 * waits while an earlier one is retried); different alerts and channels go at once, so a slow
 * receiver costs one timeout, not one per notification.
 */
export async function drainOutbox(
	outbox: readonly OutboxEntry[],
	channels: Channels,
	now = Date.now(),
): Promise<{ results: DeliveryResult[]; remaining: OutboxEntry[] }> {
	const lines = new Map<string, OutboxEntry[]>();
	for (const entry of outbox) {
		const key = `${entry.alert.id}|${entry.channel}`;
		lines.set(key, [...(lines.get(key) ?? []), entry]);
	}
	const outcomes = await Promise.all([...lines.values()].map((line) => drainLine(line, channels, now)));
	return { results: outcomes.flatMap((o) => o.results), remaining: outcomes.flatMap((o) => o.remaining) };
}

async function drainLine(
	line: OutboxEntry[],
	channels: Channels,
	now: number,
): Promise<{ results: DeliveryResult[]; remaining: OutboxEntry[] }> {
	const results: DeliveryResult[] = [];
	for (const [i, entry] of line.entries()) {
		if (entry.nextAt > now) return { results, remaining: line.slice(i) };
		try {
			await send(entry, channels);
			results.push({ entry, outcome: "sent" });
		} catch (err) {
			const error = (err as Error).message;
			const attempts = entry.attempts + 1;
			if (attempts >= MAX_DELIVERY_ATTEMPTS) {
				logger.warn("alert notification given up", { alert: entry.alert.id, channel: entry.channel, error });
				results.push({ entry, outcome: "failed", error });
				continue;
			}
			const pause = Math.min(LONGEST_RETRY_MS, FIRST_RETRY_MS * 2 ** entry.attempts);
			results.push({ entry, outcome: "retry", error });
			return { results, remaining: [{ ...entry, attempts, nextAt: now + pause }, ...line.slice(i + 1)] };
		}
	}
	return { results, remaining: [] };
}
