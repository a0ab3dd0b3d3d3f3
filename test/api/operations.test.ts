import { GetQueueUrlCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import { FerryClient } from "../../shared/api/client.ts";
import { sqsClient } from "../../shared/aws/clients.ts";
import { configFromEnv } from "../../shared/config.ts";
import type { PrecheckDryRun } from "../../shared/control/before-start.ts";
import type { Components, OpenTicket } from "../../shared/control/lists.ts";
import type { ProjectParameters } from "../../shared/control/parameters.ts";
import type { MetricsHistory } from "../../shared/metrics/series.ts";
import type { Role } from "../../shared/model/actor.ts";
import type { Project } from "../../shared/model/project.ts";
import type { ProjectEvent } from "../../shared/state/events.ts";
import { createDatabase, sourceCredentials, uniqueDatabase } from "../support/databases.ts";
import { refusal, useTestStack, waitFor } from "../support/stack.ts";

/** Operations routes on a project before it starts (or that fails at once): fast, no replication. */
describe("precheck dry run, clone, runtime parameters and the lists, through the API", () => {
	const db = uniqueDatabase("ops");
	const t = useTestStack({
		workers: 1,
		seed: () => createDatabase(sourceCredentials, db, "CREATE TABLE items (id INT PRIMARY KEY, v INT)"),
		databases: [db],
	});
	const events = (id: string) => t.api.get<ProjectEvent[]>(`/projects/${id}/events`);
	const as = (role: Role) => new FerryClient(t.stack.apiUrl, t.stack.tokens[role]);
	const create = (name: string, types: string[], options: Record<string, unknown> = {}) =>
		t.api.post<Project>("/projects", { name, ...t.ids, types, objects: [{ database: db }], options, tags: ["ops"] });

	it("dry-runs the precheck without changing the project, finds what would block it, and refuses once started", async () => {
		const ok = await create("dry ok", ["schema", "full"]);
		const passed = await t.api.post<PrecheckDryRun>(`/projects/${ok.id}/precheck`);
		expect(passed.passes).toBe(true);
		expect(passed.findings.filter((f) => f.level === "error")).toEqual([]);
		// without schema migration the destination must have the table: the step's own check says it does not
		const missing = await create("dry missing", ["full"]);
		const blocked = await t.api.post<PrecheckDryRun>(`/projects/${missing.id}/precheck`);
		expect(blocked.passes).toBe(false);
		expect(blocked.findings).toContainEqual(
			expect.objectContaining({ level: "error", object: `${db}.items`, message: "does not exist at the destination" }),
		);
		const after = await t.api.get<Project>(`/projects/${missing.id}`);
		expect(after.state).toBe("new");
		expect(after.findings).toBeUndefined();
		expect(after.steps.every((s) => s.state === "pending")).toBe(true);

		// started: it fails on that finding, with a ticket the list across projects shows
		await t.api.post(`/projects/${missing.id}/actions/start`);
		const ticket = await waitFor("the precheck's ticket", async () => {
			const open = await t.api.get<OpenTicket[]>("/tickets");
			return open.find((o) => o.projectId === missing.id);
		});
		expect(ticket).toMatchObject({ projectName: "dry missing", ticket: { step: "precheck" } });
		expect((await refusal(t.api.post(`/projects/${missing.id}/precheck`))).code).toBe("BAD_STATE");
	});

	it("clones a project: the same settings, a new id, state new, and the clone's timeline says where it came from", async () => {
		const original = await create("to clone", ["schema", "full"], { parallelism: 3, chunkRows: 500 });
		const clone = await t.api.post<Project>(`/projects/${original.id}/clone`, { name: "the clone" });
		expect(clone.id).not.toBe(original.id);
		expect(clone).toMatchObject({
			name: "the clone",
			state: "new",
			types: original.types,
			objects: original.objects,
			options: original.options,
			tags: original.tags,
			sourceId: original.sourceId,
		});
		expect(clone.steps.every((s) => s.state === "pending")).toBe(true);
		const timeline = await events(clone.id);
		expect(timeline).toContainEqual(expect.objectContaining({ kind: "action", details: { from: original.id } }));
		// and the original's, who made it
		expect(await events(original.id)).toContainEqual(
			expect.objectContaining({
				subject: "cloneProject",
				details: { id: clone.id },
				actor: { name: "local admin", role: "admin" },
			}),
		);
		expect((await refusal(t.api.post(`/projects/${original.id}/clone`, {}))).status).toBe(400);
	});

	it("views and changes runtime parameters, records each change with old and new values, and refuses bad ones", async () => {
		const p = await create("tuned", ["schema", "full"], { parallelism: 2 });
		const before = await t.api.get<ProjectParameters>(`/projects/${p.id}/parameters`);
		expect(before.parameters).toMatchObject({ parallelism: 2, maxRowsPerSecond: null, parallelApply: null });
		expect(Object.keys(before.takesEffect).sort()).toEqual(Object.keys(before.parameters).sort());

		const changed = await t.api.patch<ProjectParameters>(`/projects/${p.id}/parameters`, {
			parallelism: 6,
			maxRowsPerSecond: 50_000,
			replayBatchSize: 250,
		});
		expect(changed.parameters).toMatchObject({ parallelism: 6, maxRowsPerSecond: 50_000, replayBatchSize: 250 });
		expect((await t.api.get<Project>(`/projects/${p.id}`)).options).toMatchObject({
			parallelism: 6,
			replayBatchSize: 250,
		});
		// null removes the throttle; an unchanged value is no change; an operator may, a viewer may not
		await as("operator").patch(`/projects/${p.id}/parameters`, { maxRowsPerSecond: null, parallelism: 6 });
		expect((await refusal(as("viewer").patch(`/projects/${p.id}/parameters`, { parallelism: 1 }))).status).toBe(403);
		const settings = (await events(p.id)).filter((e) => e.kind === "settings-changed");
		expect(settings.map((e) => e.details)).toEqual([
			{
				changes: {
					parallelism: { old: 2, new: 6 },
					maxRowsPerSecond: { old: null, new: 50_000 },
					replayBatchSize: { old: null, new: 250 },
				},
			},
			{ changes: { maxRowsPerSecond: { old: 50_000, new: null } } },
		]);
		expect(settings.map((e) => e.actor)).toEqual([
			{ name: "local admin", role: "admin" },
			{ name: "local operator", role: "operator" },
		]);

		expect((await refusal(t.api.patch(`/projects/${p.id}/parameters`, { parallelism: 0 }))).status).toBe(400);
		expect((await refusal(t.api.patch(`/projects/${p.id}/parameters`, {}))).status).toBe(400);
		expect((await refusal(t.api.patch(`/projects/${p.id}/parameters`, { chunkRows: 10 }))).status).toBe(400);
		// a throttle under which one chunk would outlast the statement time bound
		const slow = await refusal(t.api.patch(`/projects/${p.id}/parameters`, { maxRowsPerSecond: 1 }));
		expect(slow.code).toBe("QUERY_TIMEOUT");
		await t.api.post(`/projects/${p.id}/actions/release`);
		expect((await refusal(t.api.patch(`/projects/${p.id}/parameters`, { parallelism: 3 }))).code).toBe("BAD_STATE");
	});

	it("answers a project's metrics history for a range, and refuses a range it cannot read", async () => {
		const p = await create("no history yet", ["schema", "full"]);
		const h = await t.api.get<MetricsHistory>(`/projects/${p.id}/metrics`);
		// the last hour by default, in the store's finest step; nothing sampled before it started
		expect(h).toMatchObject({ projectId: p.id, source: "local", stepSeconds: 10, series: [] });
		expect(Date.parse(h.to) - Date.parse(h.from)).toBe(3600_000);
		const week = await t.api.get<MetricsHistory>(
			`/projects/${p.id}/metrics?from=${new Date(Date.now() - 7 * 86_400_000).toISOString()}&step=60`,
		);
		expect(week.stepSeconds).toBe(600);
		for (const bad of ["from=yesterday", "step=0", `from=${new Date().toISOString()}&to=2020-01-01T00:00:00Z`, "x=1"]) {
			expect((await refusal(t.api.get(`/projects/${p.id}/metrics?${bad}`))).code, bad).toBe("INVALID_QUERY");
		}
		expect((await refusal(t.api.get("/projects/pr-nothere/metrics"))).status).toBe(404);
	});

	it("lists the chunk workers' queues with depth, in flight and dead letters", async () => {
		const c = await t.api.get<Components>("/components");
		expect(c.queues).toEqual([
			{ name: "copy", visible: 0, inFlight: 0, deadLetters: 0 },
			{ name: "verify", visible: 0, inFlight: 0, deadLetters: 0 },
		]);
		expect(c.replicationTasks).toEqual([]);
		// a message that failed too often, as SQS's redrive leaves it: found through the queue's redrive policy
		const config = configFromEnv();
		const sqs = sqsClient(config.region, config.sqsEndpoint);
		const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: "ferry-verify-chunks-dlq" }));
		await sqs.send(
			new SendMessageCommand({ QueueUrl, MessageBody: JSON.stringify({ projectId: "pr-gone", sk: "x" }) }),
		);
		const after = await t.api.get<Components>("/components");
		expect(after.queues).toContainEqual({ name: "verify", visible: 0, inFlight: 0, deadLetters: 1 });
		expect(after.queues).toContainEqual({ name: "copy", visible: 0, inFlight: 0, deadLetters: 0 });
	});
});
