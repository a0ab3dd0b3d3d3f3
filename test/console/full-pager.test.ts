import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProjectStatus } from "../../shared/control/status.ts";
import type { Project } from "../../shared/model/project.ts";
import { type Browser, launchBrowser, openConsole, screenshot, seriousViolations } from "../support/browser.ts";
import { destinationCredentials, dropDatabase, sourceCredentials, uniqueDatabase } from "../support/databases.ts";
import { seedManyTables, shapeFor } from "../support/many-tables-seed.ts";
import { addLocalDataSources, type DataSourceIds, startTestStack, type TestStack } from "../support/stack.ts";

// more tables than the console's page of 50; two large ones keep the copy going for a while
const TABLES = 60;
const db = uniqueDatabase("pager");
let t: TestStack;
let b: Browser;
let ids: DataSourceIds;

beforeAll(async () => {
	await seedManyTables(sourceCredentials, db, shapeFor(TABLES, 30_000, 4));
	t = await startTestStack(2);
	ids = await addLocalDataSources(t.api);
	b = await launchBrowser();
}, 180_000);
afterAll(async () => {
	await b?.close();
	await t?.close();
	await dropDatabase(db, sourceCredentials, destinationCredentials);
});

const pageRows = (page: Page) => page.locator("table.progress-table tbody tr");
const pageTables = async (page: Page) => (await pageRows(page).locator("th code").allTextContents()).sort();
const pagerLabel = (page: Page) => page.getByRole("navigation", { name: "Pages of tables" }).getByRole("status");
const card = (page: Page, label: string) =>
	page
		.locator(".card")
		.filter({ has: page.locator(".label", { hasText: label }) })
		.locator(".value");

describe("the Full tab's pages of tables", () => {
	it("shows 50 tables at a time with the copy's totals, keeps the page in the address, and polls only pages", async () => {
		const statusCalls: string[] = [];
		b.page.on("request", (r) => {
			if (/\/projects\/[^/]+\/status/.test(r.url())) statusCalls.push(r.url());
		});
		const p = await t.api.post<Project>("/projects", {
			name: "many tables",
			...ids,
			types: ["schema", "full"],
			objects: [{ database: db }],
			// the two large tables take some seconds, so the totals are seen moving on the second page
			options: { chunkRows: 5000, parallelism: 2, maxRowsPerSecond: 4000 },
		});
		const { page } = b;
		await openConsole(page, t.stack, "admin", `/projects/${p.id}?tab=full`);
		await page.getByRole("button", { name: "Start" }).click();
		await expect.poll(() => pagerLabel(page).textContent(), { timeout: 60_000 }).toBe(`Tables 1–50 of ${TABLES}`);
		await expect.poll(() => pageRows(page).count()).toBe(50);
		const first = await pageTables(page);

		await page.getByRole("button", { name: "Next 50" }).click();
		await expect.poll(() => pagerLabel(page).textContent()).toBe(`Tables 51–${TABLES} of ${TABLES}`);
		await expect.poll(() => pageRows(page).count()).toBe(TABLES - 50);
		expect(page.url()).toContain("tablesFrom=50");
		expect(await page.getByRole("button", { name: "Next 50" }).isDisabled()).toBe(true);
		const second = await pageTables(page);
		expect(second.filter((name) => first.includes(name))).toEqual([]);
		// the page is the API's second page
		const api = await t.api.get<ProjectStatus>(`/projects/${p.id}/status?tablesFrom=50&tablesLimit=50`);
		expect(second).toEqual((api.full?.tables ?? []).map((x) => x.source).sort());

		// the cards count every table, not the page's: they move while the page's tables are done
		const done = async () => /^(\d+) of (\d+)$/.exec((await card(page, "Tables done").textContent()) ?? "");
		const before = await done();
		expect(before?.[2]).toBe(String(TABLES));
		await expect.poll(async () => (await done())?.[1], { timeout: 90_000, interval: 500 }).toBe(String(TABLES));
		expect(Number(before?.[1])).toBeLessThan(TABLES);
		await expect.poll(() => card(page, "Progress").textContent()).toBe("100%");
		expect(await card(page, "Time left").textContent()).toBe("done");
		await screenshot(page, "project-full-page-2");
		expect(await seriousViolations(page)).toEqual([]);

		// a reload shows the same page; previous goes back to the first
		await page.reload();
		await expect
			.poll(() => pagerLabel(page).textContent(), { timeout: 20_000 })
			.toBe(`Tables 51–${TABLES} of ${TABLES}`);
		expect(await pageTables(page)).toEqual(second);
		await page.getByRole("button", { name: "Previous 50" }).click();
		await expect.poll(() => pagerLabel(page).textContent()).toBe(`Tables 1–50 of ${TABLES}`);
		expect(await pageTables(page)).toEqual(first);
		expect(page.url()).not.toContain("tablesFrom");
		await screenshot(page, "project-full-page-1");

		// every status call the console made asked for a page
		expect(statusCalls.length).toBeGreaterThan(3);
		expect(statusCalls.filter((u) => !/[?&]tablesLimit=\d+/.test(u))).toEqual([]);
	}, 240_000);

	it("gives the totals without a table for tablesLimit=0", async () => {
		const [p] = await t.api.get<Project[]>("/projects");
		const s = await t.api.get<ProjectStatus>(`/projects/${p?.id}/status?tablesLimit=0`);
		expect(s.full?.tables).toEqual([]);
		expect(s.full).toMatchObject({ tablesTotal: TABLES, tablesDone: TABLES, percent: 100, tablesFrom: 0 });
		expect(s.full?.rowsEstimate).toBeGreaterThanOrEqual(s.full?.rowsCopied ?? Number.POSITIVE_INFINITY);
	});
});
