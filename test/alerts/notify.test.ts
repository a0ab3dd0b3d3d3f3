import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Alert, OutboxEntry } from "../../shared/alerts/history.ts";
import { drainOutbox, MAX_DELIVERY_ATTEMPTS } from "../../shared/alerts/notify.ts";
import { startWebhookReceiver } from "./support.ts";

const SECRET = "notify-test-secret-0123";
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
beforeAll(async () => {
	receiver = await startWebhookReceiver(SECRET);
});
afterAll(() => receiver.close());

const alert: Alert = {
	id: "al-order",
	projectId: "pr-1",
	name: "oms_host_down",
	subject: "forward",
	message: "down",
	state: "firing",
	firedAt: "2026-12-06T10:00:00.000Z",
	source: "ferry",
};
const entry = (channel: OutboxEntry["channel"], transition: OutboxEntry["transition"], attempts = 0): OutboxEntry => ({
	alert,
	transition,
	channel,
	attempts,
	nextAt: 0,
});

describe("draining the notification outbox", () => {
	it("keeps an alert's notifications in order per channel: a later one waits while an earlier one is retried", async () => {
		const now = Date.now();
		// no SNS topic here: its deliveries fail, the webhook's go through
		const { results, remaining } = await drainOutbox(
			[entry("sns", "fired"), entry("sns", "resolved"), entry("webhook", "fired"), entry("webhook", "resolved")],
			{ webhook: { url: receiver.url, secret: SECRET } },
			now,
		);
		expect(receiver.received.filter((n) => n.alert.id === alert.id).map((n) => n.type)).toEqual([
			"alert-fired",
			"alert-resolved",
		]);
		expect(results.map((r) => [r.entry.channel, r.entry.transition, r.outcome])).toEqual([
			["sns", "fired", "retry"],
			["webhook", "fired", "sent"],
			["webhook", "resolved", "sent"],
		]);
		expect(remaining.map((e) => [e.transition, e.attempts, e.nextAt])).toEqual([
			["fired", 1, now + 2000],
			["resolved", 0, 0],
		]);
	});

	it("waits longer after each failure and gives up after the last attempt", async () => {
		const now = Date.now();
		const later = await drainOutbox([entry("sns", "fired", 3)], {}, now);
		expect(later.remaining[0]?.nextAt).toBe(now + 16_000);
		const last = await drainOutbox([entry("sns", "fired", MAX_DELIVERY_ATTEMPTS - 1)], {}, now);
		expect(last).toMatchObject({ remaining: [], results: [{ outcome: "failed" }] });
	});
});
