import { describe, expect, it } from "vitest";
import { dispatch } from "../../shared/api/dispatch.ts";
import { exportObjects } from "../../shared/control/projects.ts";
import { projectStatus } from "../../shared/control/status.ts";
import { requestSwitchover } from "../../shared/control/switchover.ts";
import { ProjectInput } from "../../shared/model/project.ts";
import {
	createDataSourceItem,
	type DataSourceItem,
	getDataSource,
	listDataSources,
} from "../../shared/state/datasources.ts";
import { createProjectItem, getProject } from "../../shared/state/projects.ts";
import { createTable } from "../../shared/state/tables.ts";
import { fakeContext } from "../support/fakes.ts";
import { checkAnswer, documentedOperations } from "../support/validating-client.ts";

/**
 * The check the tests' client makes on every answer (test/support/validating-client.ts): the
 * commands' real output fits docs/openapi.json, and what they must never answer is caught with
 * the operation, the place in the body and the value found.
 */

const NOW = "2026-12-06T09:00:00.000Z";
/** The answer as it travels: JSON, without undefined fields. */
const wire = <T>(value: T): T => (value === undefined ? value : JSON.parse(JSON.stringify(value)));
const check = (method: string, path: string, body: unknown) => () =>
	checkAnswer(documentedOperations(), method, path, body);

async function seeded() {
	const ctx = fakeContext();
	const database = await createDataSourceItem(ctx, "ds-src", {
		name: "src",
		engine: "mariadb",
		host: "127.0.0.1",
		port: 3306,
		user: "ferry",
		tls: false,
		createdAt: NOW,
		updatedAt: NOW,
	} as DataSourceItem);
	await createDataSourceItem(ctx, "ds-kafka", {
		name: "queue",
		description: "the sync destination",
		engine: "kafka",
		brokers: ["127.0.0.1:9092"],
		tls: false,
		sasl: "none",
		clientId: "ferry",
		createdAt: NOW,
		updatedAt: NOW,
	} as DataSourceItem);
	const position = { gtid: "0-1-42", file: "mysql-bin.000003", pos: 1234 };
	const project = await createProjectItem(ctx, "pr-1", {
		...ProjectInput.parse({
			name: "shop",
			sourceId: database.id,
			destinationId: "ds-dst",
			types: ["schema", "full", "incremental", "verification", "switchover"],
			objects: [{ database: "shop" }],
		}),
		state: "failed",
		steps: [
			{ name: "precheck", state: "done", startedAt: NOW, finishedAt: NOW },
			{ name: "full", state: "running", begun: true, startedAt: NOW },
			{ name: "incremental", state: "failed", startedAt: NOW, error: "replication stopped" },
		],
		ticket: { id: "tk-1", step: "incremental", message: "replication stopped", openedAt: NOW, stopsReplication: true },
		findings: [{ level: "warning", object: "shop.t", message: "no key", fix: "add one", id: "f-1", waived: true }],
		incremental: { startPosition: position, safeUntil: { ...position, pos: 2000 } },
		verification: {
			run: 2,
			state: "done",
			startedAt: NOW,
			finishedAt: NOW,
			truth: "source",
			totals: { rowsChecked: 10, missing: 1, extra: 0, different: 0, schema: 0, tablesDiffering: 1 },
		},
		createdAt: NOW,
		updatedAt: NOW,
	});
	await createTable(ctx, project.id, {
		index: 0,
		mapping: {
			source: { database: "shop", table: "t" },
			destination: { database: "shop", table: "t" },
			columns: [{ source: "id", destination: "id" }],
		},
		rowsEstimate: 100,
		planned: false,
		chunks: 0,
	});
	return { ctx, project };
}

describe("answers checked against docs/openapi.json", () => {
	it("lets through what the commands really answer", async () => {
		const { ctx, project } = await seeded();
		const switching = await requestSwitchover(ctx, project.id, { maxLatencySeconds: 5, waiveVerification: false });
		const answers: [string, string, unknown][] = [
			["GET", "/datasources", await listDataSources(ctx)],
			["GET", "/datasources/ds-src", await getDataSource(ctx, "ds-src")],
			["GET", `/projects/${project.id}`, await getProject(ctx, project.id)],
			["POST", `/projects/${project.id}/switchover`, switching],
			["GET", `/projects/${project.id}/status?x=1`, await projectStatus(ctx, project.id)],
			["GET", `/projects/${project.id}/objects`, await exportObjects(ctx, project.id)],
			["DELETE", `/projects/${project.id}`, undefined],
		];
		for (const [method, path, body] of answers)
			expect(check(method, path, wire(body)), `${method} ${path}`).not.toThrow();
	});

	it("lets through the alert settings and the webhook as their routes answer them, never the webhook's secret", async () => {
		const { ctx, project } = await seeded();
		const call = async (method: string, path: string, body?: unknown) => {
			const actor = { name: "alice", role: "admin" } as const;
			const json = body === undefined ? null : JSON.stringify(body);
			const answer = await dispatch(ctx, { method, path, query: {}, body: json, actor });
			expect(answer.status, `${method} ${path}: ${JSON.stringify(answer.body)}`).toBeLessThan(300);
			return wire(answer.body);
		};
		const calls: [string, string, unknown?][] = [
			["GET", "/alerts/webhook"],
			[
				"PUT",
				"/alerts/settings",
				{ evaluationSeconds: 10, alerts: { oms_host_down: { thresholds: { heartbeatSeconds: 5 } } } },
			],
			["GET", "/alerts/settings"],
			["PUT", `/projects/${project.id}/alerts/settings`, { alerts: { oms_migration_delay: { enabled: false } } }],
			["GET", `/projects/${project.id}/alerts/settings`],
			["PUT", "/alerts/webhook", { url: "https://hooks.example/ferry", secret: "a-secret-of-16-chars" }],
			["GET", "/alerts/webhook"],
		];
		for (const [method, path, body] of calls) {
			const answer = await call(method, path, body);
			expect(check(method, path, answer), `${method} ${path}`).not.toThrow();
		}
		const webhook = (await call("GET", "/alerts/webhook")) as Record<string, unknown>;
		expect(check("GET", "/alerts/webhook", { ...webhook, secret: "a-secret-of-16-chars" })).toThrow(
			/getAlertWebhook[\s\S]*additional properties 'secret'/,
		);
	});

	it("refuses a data source that shows its password, naming the operation and the field", async () => {
		const { ctx } = await seeded();
		const shown = { ...wire(await getDataSource(ctx, "ds-src")), password: "secret" };
		expect(check("GET", "/datasources/ds-src", shown)).toThrow(
			/getDataSource .*\n.*\(body\): must NOT have additional properties 'password'/,
		);
		expect(check("GET", "/datasources", [shown])).toThrow(/listDataSources/);
	});

	it("refuses a wrong value deep in a project, with its path and the value found", async () => {
		const { ctx, project } = await seeded();
		const answer = wire(await getProject(ctx, project.id));
		const bad = { ...answer, incremental: { startPosition: { ...answer.incremental?.startPosition, pos: "1234" } } };
		expect(check("GET", "/projects/pr-1", bad)).toThrow(
			/\/incremental\/startPosition\/pos: must be integer \(found "1234"\)/,
		);
		const badState = { ...answer, steps: [{ name: "full", state: "almost" }] };
		expect(check("POST", "/projects/pr-1/actions/start", badState)).toThrow(/actOnProject[\s\S]*\/steps\/0\/state/);
		const { createdAt: _c, ...undated } = answer;
		expect(check("GET", "/projects/pr-1", undated)).toThrow(/must have required property 'createdAt'/);
		expect(check("GET", "/projects/pr-1", { ...answer, updatedAt: "yesterday" })).toThrow(/\/updatedAt/);
	});

	it("refuses a status whose stream lacks its counters", async () => {
		const { ctx, project } = await seeded();
		const status = wire(await projectStatus(ctx, project.id));
		expect(status.incremental).toBeDefined();
		const { rows: _r, ...rest } = status.incremental ?? { rows: 0 };
		expect(check("GET", "/projects/pr-1/status", { ...status, incremental: rest })).toThrow(
			/getProjectStatus[\s\S]*\/incremental: must have required property 'rows'/,
		);
	});

	it("refuses a body where the document gives none, and a route it does not have", () => {
		expect(check("DELETE", "/projects/pr-1", { id: "pr-1" })).toThrow(/deleteProject answered a body/);
		expect(check("GET", "/nowhere", {})).toThrow(/GET \/nowhere is no operation/);
	});
});
