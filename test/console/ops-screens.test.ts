import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Alert } from "../../shared/alerts/history.ts";
import type { Components, OpenTicket } from "../../shared/control/lists.ts";
import { quoteId } from "../../shared/db/sql.ts";
import { type Browser, launchBrowser, openConsole } from "../support/browser.ts";
import {
	createDatabase,
	destinationCredentials,
	dropDatabase,
	execute,
	occupiedTable,
	sourceCredentials,
	uniqueDatabase,
} from "../support/databases.ts";
import {
	addLocalDataSources,
	type DataSourceIds,
	startIncrementalProject,
	startTestStack,
	type TestStack,
	waitFor,
	waitForProject,
} from "../support/stack.ts";
import { loadingAndError, look } from "./ops-support.ts";

/*
 * Overview, tickets, alerts (and their settings) and components against a real local stack:
 * empty on a fresh install; then two projects whose precheck fails on a destination table in
 * the way (real tickets, real oms_migration_failed alerts) and one replaying changes (a real
 * replication task): the overview points at each, an alert is acknowledged, one ticket is
 * retried after the cause is fixed and the other skipped, all from the console.
 */

let t: TestStack;
let b: Browser;
let ids: DataSourceIds;
const retryDb = uniqueDatabase("ops_retry");
const skipDb = uniqueDatabase("ops_skip");
const liveDb = uniqueDatabase("ops_live");
const project = { retry: "", skip: "", live: "" };

beforeAll(async () => {
	t = await startTestStack(1);
	b = await launchBrowser();
	ids = await addLocalDataSources(t.api);
	// one evaluation a second: the failed projects' alerts fire within the test's patience
	await t.api.put("/alerts/settings", { evaluationSeconds: 1 });
}, 120_000);
afterAll(async () => {
	await b?.close();
	await t?.close();
	for (const db of [retryDb, skipDb, liveDb]) await dropDatabase(db, sourceCredentials, destinationCredentials);
});

const page = () => b.page;
const openTickets = () => t.api.get<OpenTicket[]>("/tickets");

async function failingProject(name: string, database: string): Promise<string> {
	// the destination's row 9 is in the way: precheck fails; the source's rows 1-3 do not collide with it
	await occupiedTable(database, 9);
	const p = await t.api.post<{ id: string }>("/projects", {
		name,
		...ids,
		types: ["schema", "full"],
		objects: [{ database }],
	});
	await t.api.post(`/projects/${p.id}/actions/start`);
	expect((await waitForProject(t.api, p.id, 60_000)).state).toBe("failed");
	return p.id;
}

const SCREENS = [
	{ path: "/", api: "/projects", what: "projects", name: "ops-overview" },
	{ path: "/tickets", api: "/tickets", what: "tickets", name: "ops-tickets" },
	{ path: "/alerts", api: "/alerts", what: "alerts", name: "ops-alerts" },
	{ path: "/alerts/settings", api: "/alerts/settings", what: "alert settings", name: "ops-alert-settings" },
	{ path: "/components", api: "/components", what: "components", name: "ops-components" },
];

describe("console: overview, tickets, alerts, components", () => {
	it("shows each screen's empty state on a fresh install", async () => {
		await openConsole(page(), t.stack, "admin", "/tickets");
		await page().getByText("No open tickets").waitFor();
		await look(page(), "ops-tickets-empty");
		await page().goto(`${t.stack.apiUrl}/#/alerts`);
		await page().getByText("No alerts in this time range").waitFor();
		await look(page(), "ops-alerts-empty");
		await page().goto(`${t.stack.apiUrl}/#/components`);
		await page().getByText("No replication tasks").waitFor();
		expect(
			await page()
				.getByRole("row", { name: /copy chunks/ })
				.textContent(),
		).toContain("0");
		await look(page(), "ops-components-empty");
	});

	for (const screen of SCREENS)
		it(`shows ${screen.path}'s loading and error states (API failure injected in the browser)`, async () => {
			await loadingAndError(page(), t.stack, screen);
		});

	it("points the overview at failed steps and firing alerts, with the running project's latency", async () => {
		project.retry = await failingProject("ops-retry", retryDb);
		project.skip = await failingProject("ops-skip", skipDb);
		await createDatabase(
			sourceCredentials,
			liveDb,
			"CREATE TABLE t (id INT PRIMARY KEY, v TEXT)",
			"INSERT INTO t VALUES (1, 'a')",
		);
		project.live = await startIncrementalProject(t.api, ids, liveDb);
		await waitFor(
			"both failures' alerts",
			async () => {
				const { alerts } = await t.api.get<{ alerts: Alert[] }>("/alerts?state=firing&name=oms_migration_failed");
				return alerts.length === 2 ? alerts : undefined;
			},
			60_000,
		);

		await openConsole(page(), t.stack, "admin", "/");
		const counts = page().getByRole("list", { name: "Projects by state" });
		await expect.poll(() => counts.getByRole("link", { name: /failed/ }).textContent()).toBe("2failed");
		expect(await counts.getByRole("link", { name: /running/ }).textContent()).toBe("1running");
		const attention = page().locator(".attention");
		await attention.getByText("step precheck failed").first().waitFor();
		const retryLine = attention
			.locator("li")
			.filter({ hasText: "step precheck failed" })
			.filter({ hasText: "ops-retry" });
		expect(await retryLine.getByRole("link", { name: "ops-retry" }).getAttribute("href")).toBe(
			`#/projects/${project.retry}`,
		);
		expect(await retryLine.textContent()).toContain("already has 1 row");
		// each failure once: its alert is not repeated beside its ticket
		expect(await attention.locator("li").filter({ hasText: "ops-retry" }).count()).toBe(1);
		expect(await page().locator(".newest-alerts li").filter({ hasText: "ops-skip" }).count()).toBeGreaterThan(0);
		// the running project's row and its latency chart
		const live = page()
			.getByRole("row")
			.filter({ has: page().getByRole("link", { name: `incremental ${liveDb}` }) });
		await expect.poll(() => live.textContent(), { timeout: 30_000 }).toContain("running");
		await page().getByText("Replay latency, last hour").waitFor({ timeout: 30_000 });
		await look(page(), "ops-overview-attention");
	}, 240_000);

	it("lists the open tickets; a viewer sees Retry and Skip disabled", async () => {
		await openConsole(page(), t.stack, "viewer", "/tickets");
		const row = page().getByRole("row").filter({ hasText: "ops-retry" });
		await row.waitFor();
		expect(await row.textContent()).toContain("precheck");
		expect(await row.getByRole("link", { name: "ops-retry" }).getAttribute("href")).toBe(`#/projects/${project.retry}`);
		for (const name of ["Retry precheck", "Skip precheck"])
			expect(await row.getByRole("button", { name }).isDisabled(), name).toBe(true);
		await look(page(), "ops-tickets-viewer");

		await page().goto(`${t.stack.apiUrl}/#/alerts`);
		await page().getByRole("row").filter({ hasText: "ops-retry" }).first().waitFor();
		expect(await page().getByRole("button", { name: "Acknowledge" }).first().isDisabled()).toBe(true);
		await page().goto(`${t.stack.apiUrl}/#/alerts/settings`);
		await page().getByLabel("Evaluate every (seconds)").waitFor();
		expect(await page().getByLabel("Evaluate every (seconds)").isDisabled()).toBe(true);
		for (const name of ["Save defaults", "Save webhook", "Remove webhook"])
			expect(await page().getByRole("button", { name }).isDisabled(), name).toBe(true);
		await look(page(), "ops-alert-settings-viewer");
	});

	it("filters the alerts and acknowledges one, recording who did", async () => {
		await openConsole(page(), t.stack, "operator", "/alerts");
		await page().getByLabel("State").selectOption("firing");
		await page().getByLabel("Alert", { exact: true }).selectOption("oms_migration_failed");
		expect(page().url()).toContain("state=firing");
		const row = page().getByRole("row").filter({ hasText: "ops-retry" });
		await row.waitFor();
		await expect.poll(() => page().getByRole("row").count()).toBe(3); // the header and the two failures
		expect(await row.getByRole("link", { name: "ops-retry" }).getAttribute("href")).toBe(`#/projects/${project.retry}`);
		await row.getByRole("button", { name: "Acknowledge" }).click();
		await row.getByText("acknowledged by local operator").waitFor();
		await look(page(), "ops-alerts-acknowledged");
		const { alerts } = await t.api.get<{ alerts: Alert[] }>("/alerts?state=acknowledged");
		expect(alerts.map((a) => [a.projectId, a.acknowledged?.by])).toEqual([[project.retry, "local operator"]]);
		await page().getByLabel("Time range").selectOption("3m");
		expect(page().url()).toContain("range=3m");
	});

	it("retries a ticket after its cause is fixed, shows the refusal to skip a precheck, skips a replay ticket", async () => {
		await openConsole(page(), t.stack, "operator", "/tickets");
		const retryRow = page().getByRole("row").filter({ hasText: "ops-retry" });
		await retryRow.waitFor();
		await look(page(), "ops-tickets");
		await execute(destinationCredentials, `DELETE FROM ${quoteId(retryDb)}.t`); // the DBA fixes the cause
		await retryRow.getByRole("button", { name: "Retry precheck" }).click();
		await page().getByText("Retrying step precheck of 'ops-retry'").waitFor();
		expect((await waitForProject(t.api, project.retry, 60_000)).state).toBe("completed");

		// a precheck is never skipped (nothing would be migrated): the API's reason is shown
		const skipRow = page().getByRole("row").filter({ hasText: "ops-skip" });
		await skipRow.getByRole("button", { name: "Skip precheck" }).click();
		await skipRow.getByRole("button", { name: "Yes" }).click();
		await page().getByRole("status").filter({ hasText: "cannot be skipped" }).waitFor();
		expect((await openTickets()).map((o) => o.projectId)).toEqual([project.skip]);

		// replay stops on a statement it does not migrate (a sequence); the DBA skips it
		await execute(sourceCredentials, `CREATE SEQUENCE ${quoteId(liveDb)}.order_numbers START WITH 1000`);
		expect((await waitForProject(t.api, project.live, 60_000)).state).toBe("failed");
		const liveRow = page()
			.getByRole("row")
			.filter({ has: page().getByRole("link", { name: `incremental ${liveDb}` }) });
		await liveRow.waitFor();
		expect(await liveRow.textContent()).toContain("replication stopped");
		await look(page(), "ops-tickets-replay");
		await liveRow.getByRole("button", { name: "Skip incremental" }).click();
		await liveRow.getByRole("button", { name: "Yes" }).click();
		await page().getByText(`Skipped step incremental of 'incremental ${liveDb}'`).waitFor();
		await liveRow.waitFor({ state: "detached" });
		expect((await t.api.get<{ state: string }>(`/projects/${project.live}`)).state).toBe("running");
	}, 150_000);

	it("shows the running replication task and the queues on the components page", async () => {
		await openConsole(page(), t.stack, "viewer", "/components");
		const task = page()
			.getByRole("row")
			.filter({ has: page().getByRole("link", { name: `incremental ${liveDb}` }) });
		await task.waitFor();
		const live = await waitFor("the replication task running again", async () => {
			const { replicationTasks } = await t.api.get<Components>("/components");
			return replicationTasks.find((r) => r.projectId === project.live && r.state === "running");
		});
		await expect.poll(() => task.textContent(), { timeout: 30_000 }).toContain("running");
		expect(await task.textContent()).toContain(live?.position?.file ?? "no position");
		expect(await task.getByRole("link").getAttribute("href")).toBe(`#/projects/${project.live}`);
		await page().getByText("Queue depth (waiting + in flight) since this page opened").waitFor();
		await look(page(), "ops-components");
	});

	it("saves alert defaults and the webhook from the settings page; the secret is never shown", async () => {
		await openConsole(page(), t.stack, "admin", "/alerts/settings");
		await page().getByLabel("delaySeconds (seconds)").first().fill("7");
		await page().getByRole("button", { name: "Save defaults" }).click();
		await page().getByText("Alert defaults saved").waitFor();
		const view = await t.api.get<{ defaults: { evaluationSeconds?: number; alerts?: Record<string, unknown> } }>(
			"/alerts/settings",
		);
		expect(view.defaults).toEqual({
			evaluationSeconds: 1,
			alerts: { oms_migration_delay: { thresholds: { delaySeconds: 7 } } },
		});

		await page().getByLabel("URL").fill("http://127.0.0.1:9/ferry");
		await page().getByLabel("Signing secret").fill("a-secret-of-enough-length");
		await page().getByRole("button", { name: "Save webhook" }).click();
		await page().getByText("Notifications go to").waitFor();
		expect(await page().getByLabel("Signing secret").inputValue()).toBe("");
		expect(await page().content()).not.toContain("a-secret-of-enough-length");
		await look(page(), "ops-alert-settings");
		expect((await t.api.get<{ url: string | null }>("/alerts/webhook")).url).toBe("http://127.0.0.1:9/ferry");
		await page().getByRole("button", { name: "Remove webhook" }).click();
		await page().getByRole("button", { name: "Yes" }).click();
		await page().getByText("No webhook: alerts are only kept in the history.").waitFor();
		expect((await t.api.get<{ url: string | null }>("/alerts/webhook")).url).toBeNull();
	});
});
