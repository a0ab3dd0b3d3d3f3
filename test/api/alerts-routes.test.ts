import { describe, expect, it } from "vitest";
import { fireAlert } from "../../shared/alerts/history.ts";
import { dispatch } from "../../shared/api/dispatch.ts";
import type { Actor } from "../../shared/model/actor.ts";
import { listEvents } from "../../shared/state/events.ts";
import { seedProject } from "../scheduler/support.ts";
import { fakeContext } from "../support/fakes.ts";

/* The alert centre's routes through the API's dispatch, on in-memory state. */
describe("the alert routes", () => {
	const ALICE: Actor = { name: "alice", role: "admin" };
	const call = (
		ctx: ReturnType<typeof fakeContext>,
		method: string,
		path: string,
		body?: unknown,
		query = {},
		actor = ALICE,
	) => dispatch(ctx, { method, path, query, body: body === undefined ? null : JSON.stringify(body), actor });

	it("keeps the webhook's secret in the secret store and never returns it", async () => {
		const ctx = fakeContext();
		const secret = "s3cret-s3cret-s3cret";
		const put = await call(ctx, "PUT", "/alerts/webhook", { url: "https://hooks.example/ferry", secret });
		expect(put.status).toBe(200);
		const got = await call(ctx, "GET", "/alerts/webhook");
		expect(got.body).toMatchObject({ url: "https://hooks.example/ferry" });
		expect(JSON.stringify([put.body, got.body, [...(await ctx.store.list("ALERTSETTINGS"))]])).not.toContain(secret);
		expect(await ctx.secrets.get("alerts-webhook")).toBe(secret);
		expect((await call(ctx, "PUT", "/alerts/webhook", { url: "ftp://x", secret })).status).toBe(400);
		expect((await call(ctx, "PUT", "/alerts/webhook", { url: "https://x.example", secret: "short" })).status).toBe(400);
		expect((await call(ctx, "DELETE", "/alerts/webhook")).status).toBe(204);
		expect((await call(ctx, "GET", "/alerts/webhook")).body).toEqual({ url: null });
	});

	it("refuses a bad time filter and a threshold an alert does not have", async () => {
		const ctx = fakeContext();
		const offset = await call(ctx, "GET", "/alerts", undefined, { from: "2026-12-06T10:00:00+02:00" });
		expect(offset.status).toBe(200);
		const bad = await call(ctx, "GET", "/alerts", undefined, { range: "2y" });
		expect(bad).toMatchObject({ status: 400, body: { error: { code: "INVALID_QUERY" } } });
		const typo = await call(ctx, "PUT", "/alerts/settings", {
			alerts: { oms_host_down: { thresholds: { seconds: 5 } } },
		});
		expect(typo).toMatchObject({ status: 422, body: { error: { code: "UNKNOWN_THRESHOLD" } } });
		const unknownAlert = await call(ctx, "PUT", "/alerts/settings", { alerts: { oms_disk_full: { enabled: false } } });
		expect(unknownAlert.status).toBe(400);
	});

	it("shows a project's settings over the defaults and records their change on its timeline", async () => {
		const ctx = fakeContext();
		const p = await seedProject(ctx, ["schema", "full"]);
		await call(ctx, "PUT", "/alerts/settings", { alerts: { oms_host_down: { thresholds: { heartbeatSeconds: 30 } } } });
		const put = await call(ctx, "PUT", `/projects/${p.id}/alerts/settings`, {
			alerts: { oms_host_down: { enabled: false } },
		});
		expect(put.body).toMatchObject({
			effective: { alerts: { oms_host_down: { enabled: false, thresholds: { heartbeatSeconds: 30 } } } },
		});
		const [changed] = await listEvents(ctx, p.id);
		expect(changed).toMatchObject({ kind: "settings-changed", subject: "alerts", actor: { name: "alice" } });
		expect(changed?.details).toEqual({ alerts: { old: undefined, new: { oms_host_down: { enabled: false } } } });
		expect((await call(ctx, "GET", "/projects/pr-none/alerts/settings")).status).toBe(404);
	});

	it("acknowledges an alert once, on the project's timeline, and lists it across projects", async () => {
		const ctx = fakeContext();
		const p = await seedProject(ctx, ["schema", "full"]);
		const alert = await fireAlert(ctx, p.id, { name: "oms_migration_failed", subject: "full", message: "stopped" });
		const viewer: Actor = { name: "vic", role: "viewer" };
		expect((await call(ctx, "POST", `/alerts/${p.id}/${alert.id}/acknowledge`, undefined, {}, viewer)).status).toBe(
			403,
		);
		const first = await call(ctx, "POST", `/alerts/${p.id}/${alert.id}/acknowledge`);
		expect(first.body).toMatchObject({ id: alert.id, acknowledged: { by: "alice" } });
		await call(
			ctx,
			"POST",
			`/alerts/${p.id}/${alert.id}/acknowledge`,
			undefined,
			{},
			{ name: "bob", role: "operator" },
		);
		expect((await listEvents(ctx, p.id)).map((e) => [e.kind, e.actor.name])).toEqual([["alert-acknowledged", "alice"]]);
		expect((await call(ctx, "POST", `/alerts/${p.id}/al-none/acknowledge`)).status).toBe(404);
		const all = await call(ctx, "GET", "/alerts", undefined, { state: "acknowledged" });
		expect(all.body).toMatchObject({ alerts: [{ id: alert.id, projectId: p.id }] });
		expect((await call(ctx, "GET", "/alerts", undefined, { state: "unacknowledged" })).body).toEqual({ alerts: [] });
	});
});
