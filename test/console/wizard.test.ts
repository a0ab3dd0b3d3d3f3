import { readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProjectStatus } from "../../shared/control/status.ts";
import { connect } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import type { Project } from "../../shared/model/project.ts";
import { type Browser, launchBrowser, openConsole, screenshot, seriousViolations } from "../support/browser.ts";
import {
	createDatabase,
	destinationCredentials,
	dropDatabase,
	sourceCredentials,
	uniqueDatabase,
} from "../support/databases.ts";
import { addLocalDataSources, startTestStack, type TestStack, waitFor } from "../support/stack.ts";

const db = uniqueDatabase("projects_wizard");
let t: TestStack;
let b: Browser;

beforeAll(async () => {
	await createDatabase(
		sourceCredentials,
		db,
		"CREATE TABLE orders (id INT PRIMARY KEY, total INT, note TEXT)",
		"INSERT INTO orders VALUES (1, 10, 'small'), (2, 20, 'big'), (3, 30, 'bigger')",
		"CREATE TABLE customers (id INT PRIMARY KEY, name TEXT)",
		"INSERT INTO customers VALUES (1, 'ann'), (2, 'bo')",
		"CREATE TABLE audit_log (at DATETIME, what TEXT)",
		"INSERT INTO audit_log VALUES ('2026-01-01 00:00:00', 'x')",
		"CREATE TABLE tmp_a (id INT PRIMARY KEY)",
		"CREATE TABLE tmp_b (id INT PRIMARY KEY)",
	);
	// a customers table already holding a row at the destination: a blocking precheck finding
	await createDatabase(
		destinationCredentials,
		db,
		"CREATE TABLE customers (id INT PRIMARY KEY, name TEXT)",
		"INSERT INTO customers VALUES (99, 'in the way')",
	);
	t = await startTestStack(1);
	await addLocalDataSources(t.api);
	b = await launchBrowser();
}, 120_000);
afterAll(async () => {
	await b?.close();
	await t?.close();
	await dropDatabase(db, sourceCredentials, destinationCredentials);
});

const table = (name: string) => `${db}.${name}`;
const chosen = (page: Browser["page"], text: string) =>
	page.locator(".tree-db").filter({ hasText: db }).getByText(text).waitFor();

describe("create wizard", () => {
	it("walks every step: data sources, types, objects (tree, wildcard exclude, rename, row filter, export and import), options, precheck with a waiver, review, start", async () => {
		const { page } = b;
		await openConsole(page, t.stack, "operator", "/projects/new");
		await expect.poll(() => page.getByRole("heading", { level: 1 }).textContent()).toBe("Create project");

		// 1: name, tags, data sources
		const next = page.getByRole("button", { name: /^Next:/ });
		expect(await next.isDisabled()).toBe(true);
		await page.getByLabel("Project name").fill("wizard shop");
		await page.getByLabel("Tags (comma-separated)").fill("projects-e2e, wizard");
		await page.getByLabel("Source (a database)").selectOption({ label: "src (mariadb)" });
		await page.getByLabel(/^Destination/).selectOption({ label: "dst (mariadb)" });
		await page.getByText("Type: migration.").waitFor();
		await screenshot(page, "wizard-1-basics");
		expect(await seriousViolations(page)).toEqual([]);
		await next.click();

		// 2: types; reverse without switchover is refused as the API refuses it
		await page.getByRole("heading", { name: "Migration types" }).waitFor();
		await page.getByLabel(/Reverse incremental/).check();
		await page.getByRole("alert").filter({ hasText: "reverse incremental starts at the switchover" }).waitFor();
		expect(await next.isDisabled()).toBe(true);
		await screenshot(page, "wizard-2-types-refused");
		await page.getByLabel(/Reverse incremental/).uncheck();
		expect(await next.isDisabled()).toBe(false);
		await screenshot(page, "wizard-2-types");
		expect(await seriousViolations(page)).toEqual([]);
		await next.click();

		// 3: objects
		await page.getByRole("heading", { name: "Objects" }).waitFor();
		await page.getByRole("button", { name: `Expand database ${db}` }).click();
		await page.getByLabel(`Migrate every table of database ${db}`).check();
		expect(await page.getByLabel(`Migrate ${table("tmp_a")}`).isChecked()).toBe(true);
		// a wildcard exclusion after the broad include
		await page.getByLabel("Database pattern").fill(db);
		await page.getByLabel("Table pattern").fill("tmp_*");
		await page.getByLabel("Exclude what it matches").check();
		await page.getByRole("button", { name: "Add rule" }).click();
		expect(await page.getByLabel(`Migrate ${table("tmp_a")}`).isChecked()).toBe(false);
		expect(await page.getByLabel(`Migrate ${table("tmp_b")}`).isChecked()).toBe(false);
		expect(await page.getByLabel(`Migrate ${table("orders")}`).isChecked()).toBe(true);
		await chosen(page, "3 of 5 table(s) and view(s) chosen");
		await page.getByText("no primary or unique key").waitFor();
		// orders: renamed, filtered
		await page.getByRole("button", { name: `Settings of ${table("orders")}` }).click();
		await page.getByLabel("Destination table").fill("orders_v2");
		await page.getByLabel(/^Row filter/).fill("total > 15");
		await screenshot(page, "wizard-3-table-settings");
		expect(await seriousViolations(page)).toEqual([]);
		await page.getByRole("button", { name: "Save table settings" }).click();
		const ordersRow = page.locator(".tree-row").filter({ hasText: "orders" });
		await ordersRow.getByText(`→ ${table("orders_v2")}`).waitFor();
		await ordersRow.getByText("filtered").waitFor();
		const expected = [
			{ database: db, table: "*", exclude: false },
			{ database: db, table: "tmp_*", exclude: true },
			{ database: db, table: "orders", exclude: false, renameTable: "orders_v2", where: "total > 15" },
		];

		// export, clear, import: the same rules come back
		const [download] = await Promise.all([
			page.waitForEvent("download"),
			page.getByRole("button", { name: "Export settings" }).click(),
		]);
		const file = join(tmpdir(), `${db}-objects.json`);
		await download.saveAs(file);
		expect(JSON.parse(readFileSync(file, "utf8"))).toEqual({ format: "ferry-objects/1", objects: expected });
		for (let i = 0; i < expected.length; i++) await page.getByRole("button", { name: "Remove rule 1" }).click();
		await chosen(page, "0 of 5 table(s) and view(s) chosen");
		expect(await next.isDisabled()).toBe(true);
		const bad = join(tmpdir(), `${db}-bad.json`);
		writeFileSync(bad, JSON.stringify({ objects: [] }));
		await page.locator("#import-settings").setInputFiles(bad);
		await page.getByRole("status").filter({ hasText: "Not imported: not a Ferry object settings file" }).waitFor();
		await page.locator("#import-settings").setInputFiles(file);
		await chosen(page, "3 of 5 table(s) and view(s) chosen");
		await ordersRow.getByText(`→ ${table("orders_v2")}`).waitFor();
		await screenshot(page, "wizard-3-objects");
		expect(await seriousViolations(page)).toEqual([]);
		await next.click();

		// 4: options, defaults shown
		await page.getByRole("heading", { name: "Options" }).waitFor();
		expect(await page.locator("#o-chunkRows-default").textContent()).toBe("of the full copy; default: 100000");
		await page.getByLabel("Parallelism").fill("0");
		expect(await next.isDisabled()).toBe(true);
		await page.getByLabel("Parallelism").fill("2");
		await screenshot(page, "wizard-4-options");
		expect(await seriousViolations(page)).toEqual([]);

		// going back keeps what was entered
		await page.getByRole("button", { name: "1. Name and data sources" }).click();
		expect(await page.getByLabel("Project name").inputValue()).toBe("wizard shop");
		for (let i = 0; i < 3; i++) await next.click();
		expect(await page.getByLabel("Parallelism").inputValue()).toBe("2");
		await next.click();

		// 5: precheck (a dry run) on the created project: a blocking finding and a keyless warning
		const blocking = page.getByRole("row").filter({ hasText: "already has 1 row" });
		await blocking.waitFor({ timeout: 60_000 });
		expect(await blocking.getByText("blocking").count()).toBe(1);
		await page.getByRole("row").filter({ hasText: "has no primary key" }).getByText("warning").waitFor();
		expect(await next.isDisabled()).toBe(true);
		await screenshot(page, "wizard-5-precheck-blocked");
		expect(await seriousViolations(page)).toEqual([]);
		const created = (await t.api.get<Project[]>("/projects")).find((p) => p.name === "wizard shop");
		expect(created).toMatchObject({ state: "new", objects: expected, options: { parallelism: 2 } });
		expect(created?.tags).toEqual(["projects-e2e", "wizard"]);
		await blocking.getByRole("button", { name: /^Waive/ }).click();
		await page.getByRole("button", { name: "Yes" }).click();
		await page
			.getByRole("row")
			.filter({ hasText: "already has 1 row" })
			.getByText("waived")
			.waitFor({ timeout: 60_000 });
		await page.getByText(/^The precheck passes with/).waitFor();
		await screenshot(page, "wizard-5-precheck-waived");
		// the waiver would only move the refusal to the schema step: go back and leave customers out instead
		await page.getByRole("button", { name: "3. Objects" }).click();
		await page.getByRole("button", { name: `Expand database ${db}` }).click();
		await page.getByLabel(`Migrate ${table("customers")}`).uncheck();
		for (let i = 0; i < 2; i++) await next.click();
		await page.getByText(`objects of ${created?.id} replaced`).waitFor({ timeout: 60_000 });
		await page.getByRole("row").filter({ hasText: "has no primary key" }).waitFor();
		expect(await page.getByRole("row").filter({ hasText: "already has 1 row" }).count()).toBe(0);
		await screenshot(page, "wizard-5-precheck");
		expect(await seriousViolations(page)).toEqual([]);
		await next.click();

		// 6: review, start
		await page.getByRole("heading", { name: "Review" }).waitFor();
		await page.getByText("total > 15").waitFor();
		await screenshot(page, "wizard-6-review");
		expect(await seriousViolations(page)).toEqual([]);
		await page.getByRole("button", { name: "Start project" }).click();
		await page.waitForURL(`**/#/projects/${created?.id}`);
		expect((await t.api.get<Project[]>("/projects")).filter((p) => p.name === "wizard shop")).toHaveLength(1);

		// what the wizard asked for is what the destination gets: orders_v2 with the filtered rows only
		await waitFor("the full copy", async () => {
			const s = await t.api.get<ProjectStatus>(`/projects/${created?.id}/status`);
			if (s.state === "failed") throw new Error(`project failed: ${JSON.stringify(s.ticket)}`);
			return s.steps.find((x) => x.name === "full")?.state === "done" ? s : undefined;
		});
		const dest = await connect(destinationCredentials);
		try {
			const [rows] = await dest.query(`SELECT id FROM ${quoteId(db)}.orders_v2 ORDER BY id`);
			expect((rows as { id: number }[]).map((r) => r.id)).toEqual([2, 3]);
			const [tmp] = await dest.query("SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?", [
				db,
			]);
			expect((tmp as { t: string }[]).map((r) => r.t).sort()).toEqual(["audit_log", "customers", "orders_v2"]);
		} finally {
			await dest.end();
		}
	}, 300_000);

	it("makes a project to a message queue a synchronization: full and incremental only, with its message options", async () => {
		await t.api.post("/datasources", {
			name: "queue",
			engine: "kafka",
			brokers: [(process.env.FERRY_KAFKA_BROKERS ?? "127.0.0.1:19092").split(",")[0]],
		});
		const { page } = b;
		await openConsole(page, t.stack, "operator", "/projects/new");
		await page.getByLabel("Project name").fill("to the queue");
		await page.getByLabel("Source (a database)").selectOption({ label: "src (mariadb)" });
		await page.getByLabel(/^Destination/).selectOption({ label: "queue (kafka)" });
		await page.getByText("Type: synchronization.").waitFor();
		await page.getByRole("button", { name: /^Next:/ }).click();
		expect(await page.getByLabel(/Schema migration/).isDisabled()).toBe(true);
		expect(await page.getByLabel(/Schema migration/).isChecked()).toBe(false);
		expect(await page.getByLabel(/Full synchronization/).isChecked()).toBe(true);
		expect(await page.getByLabel(/Two-way synchronization/).isDisabled()).toBe(true);
		await page.getByRole("button", { name: /^Next:/ }).click();
		await page.getByLabel(`Migrate every table of database ${db}`).check();
		await page.getByRole("button", { name: /^Next:/ }).click();
		await page.getByRole("group", { name: "Messages (synchronization)" }).waitFor();
		expect(await page.getByLabel("Topic pattern").inputValue()).toBe("{database}.{table}");
		await page.getByLabel("Message format").selectOption("debezium");
		await page.getByLabel("A tombstone after each delete").waitFor();
		await page.getByLabel("ddl").uncheck();
		await screenshot(page, "wizard-4-sync-options");
		expect(await seriousViolations(page)).toEqual([]);
	}, 120_000);

	it("shows a viewer every step but the mutating control disabled, and a failing source listing with its error (API failure injected in the browser)", async () => {
		const { page } = b;
		await page.route("**/api/datasources/*/objects", (r) =>
			r.fulfill({
				status: 500,
				contentType: "application/json",
				body: JSON.stringify({ error: { code: "BOOM", message: "injected" } }),
			}),
		);
		await openConsole(page, t.stack, "viewer", "/projects/new");
		await page.getByLabel("Project name").fill("viewer try");
		await page.getByLabel("Source (a database)").selectOption({ label: "src (mariadb)" });
		await page.getByLabel(/^Destination/).selectOption({ label: "dst (mariadb)" });
		await page.getByRole("button", { name: /^Next:/ }).click();
		await page.getByRole("button", { name: /^Next:/ }).click();
		const failure = page.getByRole("alert").filter({ hasText: "Could not load the source's databases and tables" });
		await failure.waitFor();
		expect(await failure.textContent()).toContain("BOOM");
		await screenshot(page, "wizard-3-error");
		expect(await seriousViolations(page)).toEqual([]);
		await page.unroute("**/api/datasources/*/objects");
		await page.getByRole("button", { name: "Try again" }).click();
		await page.getByLabel(`Migrate every table of database ${db}`).check();
		await page.getByRole("button", { name: /^Next:/ }).click();
		await page.getByRole("button", { name: /^Next:/ }).click();
		const create = page.getByRole("button", { name: "Create the project and run the precheck" });
		expect(await create.isDisabled()).toBe(true);
		expect(await create.getAttribute("title")).toContain("needs the operator role");
		await screenshot(page, "wizard-5-viewer");
		expect(await seriousViolations(page)).toEqual([]);
		expect((await t.api.get<Project[]>("/projects")).some((p) => p.name === "viewer try")).toBe(false);
	}, 120_000);

	it("says what is missing when there are not two data sources yet, and shows loading while they come", async () => {
		const empty = await startTestStack(1);
		try {
			const { page } = b;
			await page.route("**/api/datasources", async (r) => {
				await new Promise((res) => setTimeout(res, 1500));
				await r.continue();
			});
			await openConsole(page, empty.stack, "operator", "/projects/new");
			await page.getByRole("status").filter({ hasText: "Loading data sources…" }).waitFor();
			await screenshot(page, "wizard-loading");
			await page.getByText("A project needs two data sources").waitFor();
			await screenshot(page, "wizard-empty");
			expect(await seriousViolations(page)).toEqual([]);
			await page.unrouteAll({ behavior: "wait" });
		} finally {
			await empty.close();
		}
	}, 120_000);
});
