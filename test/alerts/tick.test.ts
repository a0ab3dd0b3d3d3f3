import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { recordAlarmChange } from "../../shared/alerts/cloudwatch.ts";
import { acknowledgeAlert, fireAlert, listAlerts, resolveAlert, STACK_SCOPE } from "../../shared/alerts/history.ts";
import { setProjectAlertSettings, setWebhookTarget } from "../../shared/alerts/settings.ts";
import { sign, verifySignature } from "../../shared/alerts/signature.ts";
import { evaluateProjectAlerts } from "../../shared/alerts/tick.ts";
import type { Project } from "../../shared/model/project.ts";
import { listEvents } from "../../shared/state/events.ts";
import { streamKey } from "../../shared/state/keys.ts";
import { getProject, updateProject } from "../../shared/state/projects.ts";
import type { ReplicationStatus } from "../../shared/state/streams.ts";
import { seedCopy, seedProject } from "../scheduler/support.ts";
import { type FakeContext, fakeContext } from "../support/fakes.ts";
import { startWebhookReceiver } from "./support.ts";

const SECRET = "a-webhook-secret-of-the-test";
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
beforeAll(async () => {
	receiver = await startWebhookReceiver(SECRET);
});
afterAll(() => receiver.close());

const ALICE = { name: "alice", role: "operator" as const };

async function setup(): Promise<{ ctx: FakeContext; project: Project }> {
	const ctx = fakeContext();
	await setWebhookTarget(ctx, { url: receiver.url, secret: SECRET }, ALICE);
	const seeded = await seedProject(ctx, ["schema", "full", "incremental"]);
	const project = await updateProject(ctx, seeded.id, (p) => ({
		...p,
		steps: p.steps.map((s) => ({ ...s, state: s.name === "incremental" ? "running" : "done" })),
	}));
	await setProjectAlertSettings(
		ctx,
		project.id,
		{ evaluationSeconds: 5, alerts: { oms_migration_delay: { thresholds: { delaySeconds: 10 } } } },
		ALICE,
	);
	return { ctx, project };
}

async function report(ctx: FakeContext, projectId: string, now: number, latencySeconds: number): Promise<void> {
	const status: ReplicationStatus = {
		owner: "task",
		leaseUntil: now + 30_000,
		heartbeatAt: now,
		phase: "exact",
		session: "running",
		latencySeconds,
		transactions: 1,
		rows: 1,
		bytes: 1,
		inconsistencies: 0,
		rowsPerSecond: 0,
		bytesPerSecond: 0,
	};
	const key = streamKey(projectId);
	if (!(await ctx.store.modify(key, () => status))) await ctx.store.create(key, status);
}

describe("alerts evaluated from the scheduler's tick (in-memory state)", () => {
	it("fires, notifies the webhook signed, waits for the interval, resolves, and records both on the timeline", async () => {
		const { ctx, project } = await setup();
		const t0 = Date.now();
		await report(ctx, project.id, t0, 25);
		await evaluateProjectAlerts(ctx, project, t0);
		let [alert] = await listAlerts(ctx, project.id, {}, t0);
		expect(alert).toMatchObject({ name: "oms_migration_delay", state: "firing", value: 25, threshold: 10 });

		// caught up, but the next evaluation is 5 s away: nothing changes yet
		await report(ctx, project.id, t0 + 1000, 0);
		await evaluateProjectAlerts(ctx, project, t0 + 1000);
		expect((await listAlerts(ctx, project.id, {}, t0 + 1000))[0]?.state).toBe("firing");

		await report(ctx, project.id, t0 + 6000, 0);
		await evaluateProjectAlerts(ctx, project, t0 + 6000);
		[alert] = await listAlerts(ctx, project.id, {}, t0 + 6000);
		expect(alert?.state).toBe("resolved");
		expect(alert?.notifications).toEqual({ "webhook:fired": "sent", "webhook:resolved": "sent" });

		const mine = receiver.received.filter((n) => n.alert.id === alert?.id);
		expect(mine.map((n) => n.type)).toEqual(["alert-fired", "alert-resolved"]);
		expect(mine.every((n) => n.verified)).toBe(true);
		const kinds = (await listEvents(ctx, project.id)).map((e) => e.kind);
		expect(kinds).toEqual(["settings-changed", "alert-fired", "alert-resolved"]);
	});

	it("resolves an open alert whose alert was disabled, saying so", async () => {
		const { ctx, project } = await setup();
		const t0 = Date.now();
		await report(ctx, project.id, t0, 25);
		await evaluateProjectAlerts(ctx, project, t0);
		await setProjectAlertSettings(ctx, project.id, { alerts: { oms_migration_delay: { enabled: false } } }, ALICE);
		await evaluateProjectAlerts(ctx, project, t0 + 1000);
		expect((await listAlerts(ctx, project.id, {}, t0 + 1000))[0]).toMatchObject({
			state: "resolved",
			resolution: "the alert was disabled",
		});
	});

	it("retries a webhook that failed, at the next evaluation after its pause", async () => {
		const { ctx, project } = await setup();
		const t0 = Date.now();
		receiver.failNext(1);
		await report(ctx, project.id, t0, 30);
		await evaluateProjectAlerts(ctx, project, t0);
		const [alert] = await listAlerts(ctx, project.id, {}, t0);
		expect(alert?.notifications).toBeUndefined();
		expect(receiver.received.some((n) => n.alert.id === alert?.id)).toBe(false);
		// still late, so nothing new fires; the outbox's entry is due after its 2 s pause
		await report(ctx, project.id, t0 + 2500, 30);
		await evaluateProjectAlerts(ctx, project, t0 + 2500);
		expect(receiver.received.filter((n) => n.alert.id === alert?.id).map((n) => n.type)).toEqual(["alert-fired"]);
		expect((await listAlerts(ctx, project.id, {}, t0 + 2500))[0]?.notifications).toEqual({ "webhook:fired": "sent" });
	});

	it("fires chunk stuck for a chunk past its retry budget while the copy runs", async () => {
		const ctx = fakeContext();
		await setWebhookTarget(ctx, { url: receiver.url, secret: SECRET }, ALICE);
		const seeded = await seedProject(ctx, ["schema", "full"]);
		const project = await updateProject(ctx, seeded.id, (p) => ({
			...p,
			steps: p.steps.map((s) => ({ ...s, state: s.name === "full" ? "running" : "done" })),
		}));
		await seedCopy(ctx, project.id, [
			{ state: "done", attempts: 1 },
			{ state: "pending", attempts: 5, lastError: "deadlock" },
		]);
		await evaluateProjectAlerts(ctx, await getProject(ctx, project.id));
		const [alert] = await listAlerts(ctx, project.id);
		expect(alert).toMatchObject({ name: "ferry_chunk_stuck", state: "firing", value: 1 });
		expect(alert?.message).toMatch(/deadlock/);
		// evaluated again with nothing changed: nothing to send, so the webhook's secret is not read
		const reads = vi.spyOn(ctx.secrets, "get");
		await evaluateProjectAlerts(ctx, await getProject(ctx, project.id), Date.now() + 31_000);
		expect(reads).not.toHaveBeenCalled();
		expect(await listAlerts(ctx, project.id)).toHaveLength(1);
	});

	it("keeps who acknowledged an alert, and filters the history by state and time", async () => {
		const ctx = fakeContext();
		const now = Date.parse("2026-12-06T10:00:00Z");
		const day = 86_400_000;
		const old = await fireAlert(
			ctx,
			"pr-x",
			{ name: "oms_host_down", subject: "forward", message: "down" },
			"ferry",
			new Date(now - 10 * day),
		);
		await resolveAlert(ctx, old, undefined, new Date(now - 9 * day));
		const recent = await fireAlert(
			ctx,
			"pr-x",
			{ name: "oms_migration_delay", subject: "forward", message: "late" },
			"ferry",
			new Date(now - day),
		);
		const ack = await acknowledgeAlert(ctx, "pr-x", recent.id, ALICE);
		expect(ack).toMatchObject({ first: true, alert: { acknowledged: { by: "alice" } } });
		expect(
			(await acknowledgeAlert(ctx, "pr-x", recent.id, { name: "bob", role: "admin" })).alert.acknowledged?.by,
		).toBe("alice");

		const ids = async (f: Parameters<typeof listAlerts>[2]) => (await listAlerts(ctx, "pr-x", f, now)).map((a) => a.id);
		expect(await ids({})).toEqual([recent.id]);
		expect(await ids({ range: "3w" })).toEqual([recent.id, old.id]);
		expect(await ids({ range: "3w", state: "resolved" })).toEqual([old.id]);
		expect(await ids({ range: "1m", state: "unacknowledged" })).toEqual([old.id]);
		expect(await ids({ state: "acknowledged" })).toEqual([recent.id]);
		expect(
			await ids({ from: new Date(now - 12 * day).toISOString(), to: new Date(now - 8 * day).toISOString() }),
		).toEqual([old.id]);
	});

	it("records CloudWatch's alarm changes in the stack's history and sends them to the webhook", async () => {
		const ctx = fakeContext();
		await setWebhookTarget(ctx, { url: receiver.url, secret: SECRET }, ALICE);
		const change = (value: string) => ({
			"detail-type": "CloudWatch Alarm State Change" as const,
			detail: { alarmName: "FerryStack-ferry_chunk_stuck", state: { value, reason: `went ${value}` } },
		});
		await recordAlarmChange(ctx, change("ALARM"));
		await recordAlarmChange(ctx, change("ALARM"));
		expect((await listAlerts(ctx, STACK_SCOPE)).map((a) => [a.name, a.state, a.source])).toEqual([
			["ferry_chunk_stuck", "firing", "cloudwatch"],
		]);
		await recordAlarmChange(ctx, change("OK"));
		const [alert] = await listAlerts(ctx, STACK_SCOPE);
		expect(alert?.state).toBe("resolved");
		expect(receiver.received.filter((n) => n.alert.id === alert?.id).map((n) => n.type)).toEqual([
			"alert-fired",
			"alert-resolved",
		]);
	});
});

describe("the webhook signature", () => {
	it("verifies the body it was made for, recently, and nothing else", () => {
		const now = Date.now();
		const body = JSON.stringify({ type: "alert-fired" });
		const ts = Math.floor(now / 1000);
		const headers = { signature: sign(SECRET, ts, body), timestamp: String(ts) };
		expect(verifySignature(SECRET, body, headers, now)).toEqual({ ok: true });
		expect(verifySignature(SECRET, `${body} `, headers, now)).toEqual({ ok: false, reason: "bad signature" });
		expect(verifySignature("another secret", body, headers, now).ok).toBe(false);
		expect(verifySignature(SECRET, body, headers, now + 301_000)).toEqual({ ok: false, reason: "stale timestamp" });
		// the timestamp is signed: moving it breaks the signature
		expect(verifySignature(SECRET, body, { ...headers, timestamp: String(ts + 1) }, now).ok).toBe(false);
	});
});
