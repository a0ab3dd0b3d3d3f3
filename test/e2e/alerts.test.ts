import { ConfigResourceTypes } from "@platformatic/kafka";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Alert } from "../../shared/alerts/history.ts";
import { connect } from "../../shared/db/connect.ts";
import { startWebhookReceiver } from "../alerts/support.ts";
import {
	createDatabase,
	destinationCredentials,
	execute,
	sourceCredentials,
	uniqueDatabase,
} from "../support/databases.ts";
import { createTopics, uniqueTopic, withAdmin } from "../support/kafka.ts";
import { startIncrementalProject, useTestStack, verified, waitFor } from "../support/stack.ts";
import { addLocalKafka } from "../support/sync.ts";

/*
 * Each alert driven to fire and resolve for real on a local stack: a slow destination (a table
 * lock) holds replay latency above its threshold; a replication task killed while the launcher
 * holds restarts is down; a verification finds a row changed behind replay's back; a sync's
 * messages are over the topic's limit. A webhook receiver checks every notification's
 * signature; the history shows each alert firing, then resolved. Settings make it quick: one
 * evaluation a second, thresholds of seconds.
 */

const SECRET = "e2e-webhook-secret-0123456789";

describe("the alert centre on a local stack", () => {
	const db = uniqueDatabase("alerts");
	const syncDb = uniqueDatabase("alertsync");
	const t = useTestStack({
		workers: 1,
		seed: async () => {
			await createDatabase(
				sourceCredentials,
				db,
				"CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))",
				"INSERT INTO t VALUES (1, 'a'), (2, 'b')",
			);
			await createDatabase(
				sourceCredentials,
				syncDb,
				"CREATE TABLE big (id INT PRIMARY KEY, body TEXT)",
				"INSERT INTO big VALUES (1, REPEAT('x', 10000))",
			);
		},
		databases: [db, syncDb],
	});
	let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
	let projectId = "";

	beforeAll(async () => {
		receiver = await startWebhookReceiver(SECRET);
		await t.api.put("/alerts/webhook", { url: receiver.url, secret: SECRET });
		await t.api.put("/alerts/settings", {
			evaluationSeconds: 1,
			alerts: {
				oms_migration_delay: { thresholds: { delaySeconds: 3 } },
				oms_host_down: { thresholds: { heartbeatSeconds: 2 } },
			},
		});
	});
	afterAll(() => receiver?.close());

	const alerts = async (id: string, query = "") =>
		(await t.api.get<{ alerts: Alert[] }>(`/projects/${id}/alerts${query}`)).alerts;

	/** Waits for `name` to fire on the project, then for that alert to resolve once `clear` ran; checks the webhook got both, signed. */
	async function firesThenResolves(
		id: string,
		name: string,
		clear: () => Promise<void>,
		timeoutMs = 90_000,
	): Promise<Alert> {
		const fired = await waitFor(
			`${name} to fire`,
			async () => (await alerts(id, "?state=firing")).find((a) => a.name === name),
			timeoutMs,
		);
		await clear();
		const resolved = await waitFor(
			`${name} to resolve`,
			async () => (await alerts(id, "?state=resolved")).find((a) => a.id === fired.id),
			timeoutMs,
		);
		expect(resolved.resolvedAt && resolved.resolvedAt >= fired.firedAt).toBe(true);
		const delivered = await waitFor(
			`the webhook's two notifications of ${name}`,
			async () => {
				const mine = receiver.received.filter((n) => n.alert.id === fired.id).map((n) => n.type);
				return mine.length >= 2 ? mine : undefined;
			},
			30_000,
		);
		expect(delivered).toEqual(["alert-fired", "alert-resolved"]);
		expect(receiver.refused()).toBe(0);
		const timeline = await t.api.get<Array<{ kind: string; details?: { alertId?: string } }>>(`/projects/${id}/events`);
		expect(timeline.filter((e) => e.details?.alertId === fired.id).map((e) => e.kind)).toEqual([
			"alert-fired",
			"alert-resolved",
		]);
		return resolved;
	}

	it("fires migration delay while a lock at the destination holds replay back, resolves once released", async () => {
		projectId = await startIncrementalProject(t.api, t.ids, db);
		// replay's latency is measured from the last transaction it applied: apply one first
		await execute(sourceCredentials, `INSERT INTO \`${db}\`.t VALUES (3, 'c')`);
		const locker = await connect(destinationCredentials);
		try {
			await waitFor("the first change at the destination", async () => {
				const [rows] = await locker.query(`SELECT v FROM \`${db}\`.t WHERE id = 3`);
				return (rows as unknown[]).length === 1 ? true : undefined;
			});
			await locker.query(`LOCK TABLES \`${db}\`.t WRITE`);
			await execute(sourceCredentials, `INSERT INTO \`${db}\`.t VALUES (4, 'd')`);
			const alert = await firesThenResolves(projectId, "oms_migration_delay", () =>
				locker.query("UNLOCK TABLES").then(() => {}),
			);
			expect(alert).toMatchObject({ subject: "forward", threshold: 3 });
			expect(alert.value).toBeGreaterThan(3);
		} finally {
			await locker.end();
		}
	}, 150_000);

	it("fires host down for a replication task killed and not restarted, resolves once it runs again", async () => {
		t.stack.holdTaskStarts(true);
		try {
			for (const task of t.stack.tasks()) task.kill("SIGKILL");
			await firesThenResolves(projectId, "oms_host_down", async () => t.stack.holdTaskStarts(false));
		} finally {
			t.stack.holdTaskStarts(false);
		}
	}, 150_000);

	it("fires verification inconsistent for a run with differences, resolves with a clean run", async () => {
		await execute(destinationCredentials, `UPDATE \`${db}\`.t SET v = 'tampered' WHERE id = 1`);
		const differing = await verified(t, projectId);
		expect(differing.run.totals?.different).toBe(1);
		expect(differing.run.totals?.rowsChecked).toBe(4);
		await firesThenResolves(projectId, "ferry_verification_inconsistent", async () => {
			await execute(destinationCredentials, `UPDATE \`${db}\`.t SET v = 'a' WHERE id = 1`);
			expect((await verified(t, projectId)).run.totals?.different).toBe(0);
		});
	}, 300_000);

	it("fires sync failed for messages over the topic's limit, resolves once the limit is raised and the step retried", async () => {
		const topic = uniqueTopic("alertsync");
		await createTopics(1, [topic], { "max.message.bytes": "4096" });
		const kafka = await addLocalKafka(t, "kafka alerts");
		const syncId = await t.startProject({
			name: "sync too big",
			destinationId: kafka,
			types: ["full"],
			objects: [{ database: syncDb }],
			sync: { topic },
		});
		const alert = await firesThenResolves(syncId, "oms_sync_failed", async () => {
			await withAdmin((admin) =>
				admin.alterConfigs({
					resources: [
						{
							resourceType: ConfigResourceTypes.TOPIC,
							resourceName: topic,
							configs: [{ name: "max.message.bytes", value: "1048576" }],
						},
					],
				}),
			);
			await t.api.post(`/projects/${syncId}/ticket`, { decision: "retry" });
		});
		expect(alert.message).toMatch(/max\.message\.bytes/);
		const all = await t.api.get<{ alerts: Alert[] }>("/alerts?range=3w");
		expect(all.alerts.map((a) => a.projectId)).toEqual(expect.arrayContaining([projectId, syncId]));
	}, 200_000);

	it("keeps who acknowledged an alert, and the history's filters", async () => {
		const [first] = await alerts(projectId);
		if (!first) throw new Error("no alert recorded");
		const ack = await t.api.post<Alert>(`/alerts/${projectId}/${first.id}/acknowledge`);
		expect(ack.acknowledged?.by).toBeTruthy();
		expect((await alerts(projectId, "?state=acknowledged")).map((a) => a.id)).toEqual([first.id]);
		expect((await alerts(projectId, "?state=firing")).map((a) => a.id)).not.toContain(first.id);
		const old = new Date(Date.now() - 40 * 86_400_000).toISOString();
		expect(await alerts(projectId, `?from=${old}&to=${new Date(Date.now() - 30 * 86_400_000).toISOString()}`)).toEqual(
			[],
		);
		const webhook = await t.api.get<Record<string, unknown>>("/alerts/webhook");
		expect(webhook.url).toBe(receiver.url);
		expect(JSON.stringify(webhook)).not.toContain(SECRET);
	});
});
