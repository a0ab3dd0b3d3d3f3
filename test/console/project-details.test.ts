import { readFileSync } from "node:fs";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProjectStatus } from "../../shared/control/status.ts";
import { quoteId } from "../../shared/db/sql.ts";
import type { MetricsHistory } from "../../shared/metrics/series.ts";
import type { Project } from "../../shared/model/project.ts";
import type { ProjectEvent } from "../../shared/state/events.ts";
import { type Browser, launchBrowser, openConsole, screenshot, seriousViolations } from "../support/browser.ts";
import {
	createDatabase,
	destinationCredentials,
	dropDatabase,
	execute,
	occupiedTable,
	sourceCredentials,
	uniqueDatabase,
} from "../support/databases.ts";
import { addLocalDataSources, type DataSourceIds, startTestStack, type TestStack, waitFor } from "../support/stack.ts";

const db = uniqueDatabase("project");
const occupied = uniqueDatabase("project_occ");
const BIG = 200_000;
let t: TestStack;
let b: Browser;
let ids: DataSourceIds;
let projectId = "";

beforeAll(async () => {
	await createDatabase(
		sourceCredentials,
		db,
		"CREATE TABLE big (id INT PRIMARY KEY, v VARCHAR(40), n INT)",
		`INSERT INTO big SELECT seq, CONCAT('row ', seq), seq % 97 FROM seq_1_to_${BIG}`,
		"CREATE TABLE small (id INT PRIMARY KEY, name VARCHAR(20))",
		"INSERT INTO small SELECT seq, CONCAT('n', seq) FROM seq_1_to_50",
		"ANALYZE TABLE big, small",
	);
	t = await startTestStack(2);
	ids = await addLocalDataSources(t.api);
	b = await launchBrowser();
}, 180_000);
afterAll(async () => {
	await b?.close();
	await t?.close();
	await dropDatabase(db, sourceCredentials, destinationCredentials);
	await dropDatabase(occupied, sourceCredentials, destinationCredentials);
});

const status = (id: string) => t.api.get<ProjectStatus>(`/projects/${id}/status`);

/** The page's tab named `label`, opened by a click (the hash query changes). */
async function openTab(page: Page, label: string) {
	await page.getByRole("tab", { name: label, exact: true }).click();
	await expect
		.poll(() => page.getByRole("tab", { name: label, exact: true }).getAttribute("aria-selected"))
		.toBe("true");
}

async function shoot(page: Page, name: string) {
	await screenshot(page, name);
	expect(await seriousViolations(page)).toEqual([]);
}

/** The newest value a chart's label announces, undefined while it has none. */
async function newest(page: Page, chart: string): Promise<string | undefined> {
	const label = await page.getByRole("img", { name: new RegExp(`^${chart}: newest`) }).getAttribute("aria-label");
	return label?.includes("no data") ? undefined : (label ?? undefined);
}

describe("project details page", () => {
	it("shows the copy's progress per table while it runs, its charts, then replay's latency", async () => {
		const p = await t.api.post<Project>("/projects", {
			name: "project page",
			...ids,
			types: ["schema", "full", "incremental"],
			objects: [{ database: db }],
			tags: ["console", "shop"],
			// slow enough that a person (and this test) sees it copy, in chunks of 10,000 rows
			options: { chunkRows: 10_000, parallelism: 2, maxRowsPerSecond: 6000 },
		});
		projectId = p.id;
		const { page } = b;
		await openConsole(page, t.stack, "admin", `/projects/${projectId}?tab=full`);
		await expect.poll(() => page.getByRole("heading", { level: 1 }).textContent()).toBe("Project project page");
		await page.getByText("The full copy has not started yet").waitFor();
		await page.getByRole("button", { name: "Start" }).click();
		await page.getByText("Start: done for project page").waitFor();

		// mid-copy: the big table has some of its chunks, the small one flips to done on its own
		const bigRow = page.getByRole("row").filter({ has: page.getByRole("rowheader", { name: `${db}.big` }) });
		const midway = await waitFor(
			"the big table part copied",
			async () => {
				const chunks =
					(await bigRow
						.locator("td")
						.nth(1)
						.textContent()
						.catch(() => "")) ?? "";
				const m = /^(\d+) \/ 20$/.exec(chunks.trim());
				return m && Number(m[1]) >= 3 && Number(m[1]) < 20 ? Number(m[1]) : undefined;
			},
			90_000,
		);
		expect(midway).toBeGreaterThanOrEqual(3);
		expect(await bigRow.locator("td").first().textContent()).toMatch(/^[\d,]+ \/ ~[\d,]+$/);
		// a rate measured over a few polls, then an ETA with its range
		await expect
			.poll(() => bigRow.locator("td").nth(4).textContent(), { timeout: 30_000 })
			.toMatch(/^about .* \(.*\)$|^done$/);
		await shoot(page, "project-full-running");

		// done: every table says so, and the charts have points of the copy's rates
		await waitFor(
			"the copy done",
			async () => ((await status(projectId)).full?.percent === 100 ? true : undefined),
			120_000,
		);
		const smallRow = page.getByRole("row").filter({ has: page.getByRole("rowheader", { name: `${db}.small` }) });
		for (const row of [bigRow, smallRow]) {
			await expect.poll(() => row.first().locator("td").nth(2).textContent(), { timeout: 10_000 }).toContain("done");
		}
		await expect.poll(() => newest(page, "Copy: rows per second"), { timeout: 30_000 }).toMatch(/rows\/s [\d,.]+$/);
		expect(await newest(page, "Copy: bytes per second")).toMatch(/bytes\/s [\d.]+ (B|KiB|MiB|GiB)$/);
		await page
			.getByRole("rowheader", { name: `${db}.big` })
			.nth(1)
			.waitFor(); // the statistics table
		await shoot(page, "project-full-done");

		// replay: writes at the source, latency against the alert threshold
		await openTab(page, "Incremental");
		await waitFor(
			"exact replay",
			async () => ((await status(projectId)).incremental?.phase === "exact" ? true : undefined),
			90_000,
		);
		// writes go on while the charts are watched: a sample every 10 s must meet some
		let writing = true;
		const writer = (async () => {
			for (let i = 0; writing; i++) {
				await execute(
					sourceCredentials,
					`UPDATE ${quoteId(db)}.big SET n = n + 1 WHERE id % 100 = ${i % 100}`,
					`INSERT INTO ${quoteId(db)}.small VALUES (${100 + i}, 'new ${i}')`,
				);
				await new Promise((r) => setTimeout(r, 500));
			}
		})();
		try {
			await expect.poll(() => newest(page, "Latency"), { timeout: 40_000 }).toMatch(/latency \d/);
			await waitFor(
				"replay's rows/s in the metrics",
				async () => {
					const m = await t.api.get<MetricsHistory>(`/projects/${projectId}/metrics`);
					const rows = m.series.find((s) => s.group === "forward" && s.metric === "rowsPerSecond");
					return rows?.points.some((p) => p.value > 0) ? true : undefined;
				},
				60_000,
			);
			await expect
				.poll(() => newest(page, "Forward replay: rows per second"), { timeout: 10_000 })
				.toMatch(/rows\/s [\d,.]+$/);
		} finally {
			writing = false;
			await writer;
		}
		await expect.poll(() => page.locator(".stream-facts").textContent()).toMatch(/Phaseexact/);
		expect(await page.locator(".stream-facts").textContent()).toMatch(/alert above 1 min 0 s/);
		expect(await page.locator(".stream-facts").textContent()).toMatch(/GTID \d+-\d+-\d+/);
		await shoot(page, "project-incremental");

		await openTab(page, "Overview");
		await page.getByText("Migration types").waitFor();
		await shoot(page, "project-overview");

		await openTab(page, "Schema");
		await page.getByRole("row", { name: `${db}.big table converted as at the source` }).waitFor();
		await page.getByLabel("Show").selectOption("refused");
		await expect.poll(() => page.locator("tbody tr").count()).toBe(0);
		await page.getByLabel("Show").selectOption("");
		await shoot(page, "project-schema");
	}, 360_000);

	it("changes a runtime parameter and records it on the timeline, filterable and exportable", async () => {
		const { page } = b;
		await openTab(page, "Parameters");
		await page.getByLabel("Copy parallelism (chunks at once)").fill("3");
		await page.getByRole("button", { name: "Save 1 change(s)" }).click();
		await page.getByText("Parameters changed: parallelism").waitFor();
		expect((await t.api.get<Project>(`/projects/${projectId}`)).options.parallelism).toBe(3);
		await shoot(page, "project-parameters");

		await openTab(page, "Timeline");
		await page.getByLabel("Kind").selectOption("settings-changed");
		const rows = page.locator("tbody tr");
		await expect.poll(() => rows.count()).toBe(1);
		expect(await rows.first().textContent()).toMatch(/parallelism 2 -> 3.*local admin/);
		await page.getByLabel("Kind").selectOption("");
		const all = await t.api.get<ProjectEvent[]>(`/projects/${projectId}/events`);
		await expect.poll(() => rows.count()).toBeGreaterThanOrEqual(all.length);
		const [download] = await Promise.all([
			page.waitForEvent("download"),
			page.getByRole("button", { name: /^Export \d+ events as JSON$/ }).click(),
		]);
		const exported = JSON.parse(readFileSync((await download.path()) as string, "utf8")) as ProjectEvent[];
		expect(exported.length).toBe(await rows.count());
		expect(exported.some((e) => e.kind === "step-done" && e.subject === "full")).toBe(true);
		await shoot(page, "project-timeline");
	}, 60_000);

	it("puts a replay stop in the why-stopped card with the statement and its position; Skip resumes replay", async () => {
		const { page } = b;
		await execute(sourceCredentials, `CREATE SEQUENCE ${quoteId(db)}.order_numbers START WITH 1000`);
		const card = page.getByRole("region", { name: "Why it is stopped" });
		await card.waitFor({ timeout: 60_000 });
		expect(await card.textContent()).toMatch(/step incremental/);
		expect(await card.textContent()).toMatch(/CREATE SEQUENCE .*order_numbers .* at GTID \d+-\d+-\d+ · [\w.-]+:\d+/i);
		expect(await card.textContent()).toMatch(/Suggested fix:.*Skip passes over it/);
		await shoot(page, "project-why-stopped-replay");
		await card.getByRole("button", { name: "Skip step incremental" }).click();
		await card.getByRole("button", { name: "Yes" }).click();
		await page.getByText("Skipped step incremental").waitFor();
		await waitFor("replay running again", async () => {
			const s = await status(projectId);
			return s.state === "running" && s.incremental?.state === "running" ? true : undefined;
		});
		await card.waitFor({ state: "detached", timeout: 20_000 });
	}, 120_000);

	it("a failed precheck: a viewer sees every decision disabled; an operator waives the finding and retries", async () => {
		await occupiedTable(occupied, 9);
		const p = await t.api.post<Project>("/projects", {
			name: "occupied",
			...ids,
			types: ["full"],
			objects: [{ database: occupied }],
		});
		await t.api.post(`/projects/${p.id}/actions/start`);
		await waitFor(
			"the precheck ticket",
			async () => ((await status(p.id)).state === "failed" ? true : undefined),
			60_000,
		);

		const { page } = b;
		await openConsole(page, t.stack, "viewer", `/projects/${p.id}`);
		const card = page.getByRole("region", { name: "Why it is stopped" });
		await card.waitFor();
		expect(await card.textContent()).toMatch(/already has 1 row/);
		const buttons = page.getByRole("main").getByRole("button");
		const names = await buttons.allTextContents();
		expect(names).toEqual(
			expect.arrayContaining(["Retry step precheck", "Skip step precheck", "Release", "Clone", "Delete"]),
		);
		for (const name of names.filter((n) => n !== "Dismiss")) {
			expect(await page.getByRole("button", { name, exact: true }).isDisabled(), name).toBe(true);
		}
		expect(await page.getByRole("button", { name: "Retry step precheck" }).getAttribute("title")).toMatch(
			/needs the operator role/,
		);
		await shoot(page, "project-why-stopped-precheck-viewer");
		await openTab(page, "Parameters");
		expect(await page.getByLabel("Copy parallelism (chunks at once)").isDisabled()).toBe(true);

		await openConsole(page, t.stack, "operator", `/projects/${p.id}`);
		await card.getByRole("button", { name: /^Waive f-/ }).click();
		await card.getByRole("button", { name: "Yes" }).click();
		await page.getByText(/Waived f-\w+: retry the precheck/).waitFor();
		await card.getByRole("button", { name: "Retry step precheck" }).click();
		await page.getByText("Retrying step precheck").waitFor();
		await waitFor(
			"the project completed",
			async () => ((await status(p.id)).state === "completed" ? true : undefined),
			90_000,
		);
		await card.waitFor({ state: "detached", timeout: 20_000 });
		await openTab(page, "Overview");
		await page.getByText("Precheck warnings").waitFor();
		expect(await page.locator(".panel", { hasText: "Precheck warnings" }).textContent()).toMatch(/waived/);
	}, 180_000);

	it("shows loading, then an error with the API's code and a retry (API failure injected in the browser)", async () => {
		const { page } = b;
		await openConsole(page, t.stack, "admin", "/users");
		// a status call names its page of tables (?tablesFrom=&tablesLimit=)
		const path = new RegExp(`/api/projects/${projectId}/status(\\?|$)`);
		await page.route(path, async (r) => {
			await new Promise((res) => setTimeout(res, 1500));
			// a poll delayed past the unroute or a navigation is no longer this handler's
			await r.continue().catch(() => undefined);
		});
		await page.goto(`${t.stack.apiUrl}/#/projects/${projectId}`);
		await page.getByRole("status").filter({ hasText: "Loading the project…" }).waitFor();
		await shoot(page, "project-loading");
		await page.unroute(path);

		await page.route(path, (r) =>
			r.fulfill({
				status: 500,
				contentType: "application/json",
				body: JSON.stringify({ error: { code: "INTERNAL", message: "the state store did not answer" } }),
			}),
		);
		await page.goto(`${t.stack.apiUrl}/#/users`);
		await page.goto(`${t.stack.apiUrl}/#/projects/${projectId}`);
		const alert = page.getByRole("alert");
		await alert.waitFor();
		expect(await alert.textContent()).toMatch(/Could not load the project.*INTERNAL.*the state store did not answer/);
		await shoot(page, "project-error");
		await page.unroute(path);
		await alert.getByRole("button", { name: "Try again" }).click();
		await page.getByRole("tab", { name: "Overview" }).waitFor();
	}, 60_000);
});
