import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Project } from "../../shared/model/project.ts";
import { type Browser, launchBrowser, openConsole, screenshot, seriousViolations } from "../support/browser.ts";
import {
	createDatabase,
	destinationCredentials,
	dropDatabase,
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
} from "../support/stack.ts";

const live = uniqueDatabase("projects_list_live");
const broken = uniqueDatabase("projects_list_broken");
let t: TestStack;
let b: Browser;
let ids: DataSourceIds;

beforeAll(async () => {
	await createDatabase(
		sourceCredentials,
		live,
		"CREATE TABLE items (id INT PRIMARY KEY, v INT)",
		"INSERT INTO items VALUES (1, 1), (2, 2)",
	);
	await createDatabase(sourceCredentials, broken, "CREATE TABLE items (id INT PRIMARY KEY, v INT)");
	t = await startTestStack(1);
	b = await launchBrowser();
}, 120_000);
afterAll(async () => {
	await b?.close();
	await t?.close();
	await dropDatabase(live, sourceCredentials, destinationCredentials);
	await dropDatabase(broken, sourceCredentials, destinationCredentials);
});

const rowOf = (page: Browser["page"], name: string) => page.getByRole("row").filter({ hasText: name });

describe("projects list", () => {
	it("shows the empty state on a fresh stack, then loading, then the error the API gave (API failure injected in the browser)", async () => {
		const { page } = b;
		await openConsole(page, t.stack, "operator", "/projects");
		await page.getByText("No projects yet").waitFor();
		await screenshot(page, "projects-empty");
		expect(await seriousViolations(page)).toEqual([]);

		await page.route("**/api/projects", async (r) => {
			await new Promise((res) => setTimeout(res, 1500));
			await r.continue();
		});
		await page.reload();
		await page.getByRole("status").filter({ hasText: "Loading projects…" }).waitFor();
		await screenshot(page, "projects-loading");
		await page.getByText("No projects yet").waitFor();
		await page.unrouteAll({ behavior: "wait" });

		await page.route("**/api/projects", (r) =>
			r.fulfill({
				status: 500,
				contentType: "application/json",
				body: JSON.stringify({ error: { code: "STORE_DOWN", message: "the state store did not answer" } }),
			}),
		);
		await page.reload();
		const alert = page.getByRole("alert").filter({ hasText: "Could not load projects" });
		await alert.waitFor();
		expect(await alert.textContent()).toContain("STORE_DOWN");
		expect(await alert.textContent()).toContain("the state store did not answer");
		await screenshot(page, "projects-error");
		expect(await seriousViolations(page)).toEqual([]);
		await page.unroute("**/api/projects");
	});

	it("lists running, failed, new and synchronization projects with steps, state and live stream; filters kept in the address", async () => {
		ids = await addLocalDataSources(t.api);
		await startIncrementalProject(t.api, ids, live);
		// without schema migration the destination lacks the table: the precheck fails the project
		const failed = await t.api.post<Project>("/projects", {
			name: "broken copy",
			...ids,
			types: ["full"],
			objects: [{ database: broken }],
			tags: ["beta"],
		});
		await t.api.post(`/projects/${failed.id}/actions/start`);
		await waitFor("the failed precheck", async () =>
			(await t.api.get<Project>(`/projects/${failed.id}`)).state === "failed" ? true : undefined,
		);
		await t.api.post<Project>("/projects", {
			name: "not yet",
			...ids,
			types: ["schema", "full"],
			objects: [{ database: live }],
			tags: ["beta", "later"],
		});
		const kafka = await t.api.post<{ id: string }>("/datasources", {
			name: "queue",
			engine: "kafka",
			brokers: [(process.env.FERRY_KAFKA_BROKERS ?? "127.0.0.1:19092").split(",")[0]],
		});
		await t.api.post<Project>("/projects", {
			name: "to kafka",
			sourceId: ids.sourceId,
			destinationId: kafka.id,
			types: ["full", "incremental"],
			objects: [{ database: live }],
		});

		const { page } = b;
		await openConsole(page, t.stack, "operator", "/projects");
		await rowOf(page, `incremental ${live}`).waitFor();
		const liveRow = rowOf(page, `incremental ${live}`);
		expect(await liveRow.getByText("running").count()).toBeGreaterThan(0);
		expect(await liveRow.getByText("src → dst").count()).toBe(1);
		expect(await liveRow.getByRole("list", { name: "steps" }).textContent()).toContain("incremental");
		// latency and rows/s come from the running project's status
		await expect
			.poll(async () => (await liveRow.locator("td.num").first().textContent())?.trim(), { timeout: 20_000 })
			.toMatch(/s$/);
		expect(await liveRow.locator("td.num").nth(1).textContent()).toMatch(/rows\/s$/);
		expect(await rowOf(page, "to kafka").getByText("synchronization").count()).toBe(1);
		const failedRow = rowOf(page, "broken copy");
		expect(await failedRow.getByText("failed").count()).toBeGreaterThan(0);
		expect(await failedRow.getByRole("list", { name: "steps" }).locator(".step-bad").count()).toBe(1);
		await screenshot(page, "projects-list");
		expect(await seriousViolations(page)).toEqual([]);

		await page.getByLabel("State").selectOption("failed");
		await expect.poll(() => page.url()).toContain("state=failed");
		await expect.poll(() => page.locator("table.projects tbody tr").count()).toBe(1);
		await screenshot(page, "projects-failed");
		expect(await seriousViolations(page)).toEqual([]);
		await page.getByLabel("State").selectOption("");
		await page.getByLabel("Tag").selectOption("beta");
		await page.getByLabel("Type").selectOption("migration");
		await page.getByLabel("Name or id").fill("not");
		await expect.poll(() => page.url()).toMatch(/tag=beta.*type=migration.*q=not/);
		await expect.poll(() => page.locator("table.projects tbody tr").count()).toBe(1);
		await page.reload();
		await rowOf(page, "not yet").waitFor();
		expect(await page.locator("table.projects tbody tr").count()).toBe(1);
		expect(await page.getByLabel("Name or id").inputValue()).toBe("not");
		await page.getByLabel("Name or id").fill("nothing like it");
		await page.getByText("No project matches these filters").waitFor();
		await screenshot(page, "projects-no-match");
		await page.getByRole("button", { name: "Clear the filters" }).click();
		await expect.poll(() => page.locator("table.projects tbody tr").count()).toBe(4);
	}, 240_000);

	it("pauses then resumes the selected projects, reporting per project what happened; clones one", async () => {
		const { page } = b;
		await openConsole(page, t.stack, "operator", "/projects");
		await rowOf(page, `incremental ${live}`).waitFor();
		await page.getByLabel(`Select incremental ${live}`).check();
		await page.getByLabel("Select not yet").check();
		const bar = page.getByRole("toolbar", { name: "Actions on the selected projects" });
		expect(await bar.getByRole("button", { name: "Pause (1)" }).isEnabled()).toBe(true);
		expect(await bar.getByRole("button", { name: "Start (1)" }).isEnabled()).toBe(true);
		expect(await bar.getByRole("button", { name: /^Resume/ }).isDisabled()).toBe(true);
		await bar.getByRole("button", { name: "Pause (1)" }).click();
		const outcomes = page.getByRole("region", { name: "What the last batch action did" });
		await outcomes.waitFor();
		expect(await outcomes.textContent()).toContain(`incremental ${live}`);
		expect(await outcomes.textContent()).toContain("paused");
		expect(await outcomes.textContent()).toContain("not yet");
		expect(await outcomes.textContent()).toContain("left alone: it is new");
		await rowOf(page, `incremental ${live}`).getByText("paused").first().waitFor();
		await screenshot(page, "projects-batch-paused");
		expect(await seriousViolations(page)).toEqual([]);
		await bar.getByRole("button", { name: "Resume (1)" }).click();
		await rowOf(page, `incremental ${live}`).locator(".badge").getByText("running").waitFor();
		const states = await t.api.get<Project[]>("/projects");
		expect(states.find((p) => p.name === `incremental ${live}`)?.state).toBe("running");
		expect(states.find((p) => p.name === "not yet")?.state).toBe("new");

		await rowOf(page, "not yet").getByRole("button", { name: "Clone not yet" }).click();
		await page.getByLabel("Name of the clone of not yet").fill("not yet again");
		await page.getByRole("button", { name: "Create clone" }).click();
		const clone = await waitFor("the clone", async () =>
			(await t.api.get<Project[]>("/projects")).find((p) => p.name === "not yet again"),
		);
		await page.waitForURL(`**/#/projects/${clone.id}`);
		expect(clone).toMatchObject({ state: "new", tags: ["beta", "later"], objects: [{ database: live }] });
	}, 120_000);

	it("shows a viewer the list with every mutating control disabled", async () => {
		const { page } = b;
		await openConsole(page, t.stack, "viewer", "/projects");
		await rowOf(page, "not yet again").waitFor();
		expect(await page.getByRole("button", { name: "Create project" }).isDisabled()).toBe(true);
		await page.getByLabel("Select not yet again").check();
		const bar = page.getByRole("toolbar", { name: "Actions on the selected projects" });
		for (const button of await bar.getByRole("button").all()) expect(await button.isDisabled()).toBe(true);
		expect(await bar.getByRole("button", { name: /^Start/ }).getAttribute("title")).toContain(
			"needs the operator role",
		);
		for (const clone of await page.getByRole("button", { name: /^Clone/ }).all())
			expect(await clone.isDisabled()).toBe(true);
		await screenshot(page, "projects-viewer");
		expect(await seriousViolations(page)).toEqual([]);
	});
});
