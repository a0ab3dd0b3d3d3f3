import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Credentials, DataSource } from "../../shared/model/datasource.ts";
import { type Browser, launchBrowser, openConsole } from "../support/browser.ts";
import {
	destinationCredentials,
	dropDatabase,
	occupiedTable,
	sourceCredentials,
	uniqueDatabase,
} from "../support/databases.ts";
import { startTestStack, type TestStack, waitForProject } from "../support/stack.ts";
import { heading, loadingAndError, look } from "./ops-support.ts";

/*
 * The data source screens against a real local stack and the real MariaDB instances: add two
 * through the form (a failed connection test first), view, copy, edit, delete; deleting one a
 * failed project uses is refused with the API's reason; a viewer sees every control disabled.
 */

let t: TestStack;
let b: Browser;
const db = uniqueDatabase("ops_ds");

beforeAll(async () => {
	t = await startTestStack(1);
	b = await launchBrowser();
}, 120_000);
afterAll(async () => {
	await b?.close();
	await t?.close();
	await dropDatabase(db, sourceCredentials, destinationCredentials);
});

const sources = () => t.api.get<DataSource[]>("/datasources");

async function fillDatabase(page: Page, name: string, creds: Credentials, password: string): Promise<void> {
	await page.getByLabel("Engine").selectOption("mariadb");
	await page.getByLabel("Name", { exact: true }).fill(name);
	await page.getByLabel("Host").fill(creds.host);
	await page.getByLabel("Port").fill(String(creds.port));
	await page.getByLabel("User").fill(creds.user);
	await page.getByLabel("Password").fill(password);
}

async function addThroughForm(page: Page, name: string, creds: Credentials): Promise<string> {
	await page.goto(`${t.stack.apiUrl}/#/datasources/new`);
	await heading(page, "Add a data source");
	await fillDatabase(page, name, creds, creds.password);
	await page.getByRole("button", { name: "Test connection" }).click();
	await page.getByText("Connected: the server is version").waitFor();
	await page.getByRole("button", { name: "Add data source" }).click();
	await heading(page, `Data source ${name}`);
	return decodeURIComponent(page.url().split("#/datasources/")[1] ?? "");
}

describe("console: data sources", () => {
	it("shows the empty states of a fresh install: the overview says how to start", async () => {
		const { page } = b;
		await openConsole(page, t.stack, "admin", "/");
		await page.getByText("Welcome to Ferry: no projects yet").waitFor();
		expect(await page.getByRole("link", { name: "Add a data source" }).getAttribute("href")).toBe("#/datasources/new");
		await look(page, "ops-overview-empty");
		await page.goto(`${t.stack.apiUrl}/#/datasources`);
		await page.getByText("No data sources yet").waitFor();
		await look(page, "ops-datasources-empty");
	});

	it("refuses a wrong password at the connection test and saves nothing", async () => {
		const { page } = b;
		await openConsole(page, t.stack, "admin", "/datasources/new");
		await fillDatabase(page, "ops-src", sourceCredentials, "not-the-password");
		const add = page.getByRole("button", { name: "Add data source" });
		expect(await add.isDisabled()).toBe(true);
		await page.getByRole("button", { name: "Test connection" }).click();
		const refusal = page.getByRole("alert");
		await refusal.waitFor();
		expect(await refusal.textContent()).toMatch(/CONNECTION_FAILED.*was refused: check the user name and password/);
		expect(await add.isDisabled()).toBe(true);
		await look(page, "ops-datasource-test-failed");
		expect(await sources()).toEqual([]);
	});

	it("adds two data sources through the form, each tested first, and lists them", async () => {
		const { page } = b;
		const src = await addThroughForm(page, "ops-src", sourceCredentials);
		await look(page, "ops-datasource-view");
		expect(await page.getByText("kept in the secret store; never shown again").isVisible()).toBe(true);
		expect(await page.content()).not.toContain(sourceCredentials.password);
		const dst = await addThroughForm(page, "ops-dst", destinationCredentials);
		const saved = await sources();
		expect(saved.map((s) => [s.id, s.name]).sort()).toEqual(
			[
				[src, "ops-src"],
				[dst, "ops-dst"],
			].sort(),
		);

		await page.goto(`${t.stack.apiUrl}/#/datasources`);
		const row = page.getByRole("row").filter({ hasText: "ops-src" });
		await row.waitFor();
		expect(await row.textContent()).toContain(`${sourceCredentials.host}:${sourceCredentials.port}`);
		expect(await row.textContent()).toContain("no project");
		await look(page, "ops-datasources-list");
	});

	it("copies one, edits the copy (password kept when left empty; a bad port refused), deletes it", async () => {
		const { page } = b;
		const src = (await sources()).find((s) => s.name === "ops-src");
		await page.goto(`${t.stack.apiUrl}/#/datasources/${src?.id}`);
		await page.getByLabel("Name of the copy").fill("ops-copy");
		await page.getByRole("button", { name: "Copy", exact: true }).click();
		await heading(page, "Data source ops-copy");
		const copy = (await sources()).find((s) => s.name === "ops-copy");
		expect(copy).toMatchObject({ engine: "mariadb", port: sourceCredentials.port });

		await page.getByRole("link", { name: "Edit" }).click();
		await heading(page, "Edit data source ops-copy");
		expect(await page.getByLabel("Password").inputValue()).toBe("");
		expect(await page.getByRole("button", { name: "Test connection" }).isDisabled()).toBe(true);
		await page.getByLabel("Port").fill("1");
		await page.getByRole("button", { name: "Save" }).click();
		await page.getByRole("alert").waitFor();
		// a new address with the password left empty: the stored one is never sent anywhere new
		expect(await page.getByRole("alert").textContent()).toContain("PASSWORD_REQUIRED");
		await look(page, "ops-datasource-edit-refused");
		expect((await sources()).find((s) => s.id === copy?.id)).toMatchObject({ port: sourceCredentials.port });

		await page.getByLabel("Port").fill(String(sourceCredentials.port));
		await page.getByLabel("Name", { exact: true }).fill("ops-copy-renamed");
		await page.getByLabel("Description (optional)").fill("edited in the console");
		await page.getByRole("button", { name: "Save" }).click();
		await heading(page, "Data source ops-copy-renamed");
		expect((await sources()).find((s) => s.id === copy?.id)).toMatchObject({
			name: "ops-copy-renamed",
			description: "edited in the console",
		});
		// the stored password still works: the API tests the connection on every edit
		await t.api.patch(`/datasources/${copy?.id}`, { description: "checked" });

		await page.getByRole("button", { name: "Delete" }).click();
		await page.getByRole("button", { name: "Yes" }).click();
		await heading(page, "Data sources");
		expect((await sources()).map((s) => s.name).sort()).toEqual(["ops-dst", "ops-src"]);
	});

	it("shows the API's refusal to delete a data source a failed project uses", async () => {
		const { page } = b;
		const all = await sources();
		const sourceId = all.find((s) => s.name === "ops-src")?.id ?? "";
		const destinationId = all.find((s) => s.name === "ops-dst")?.id ?? "";
		await occupiedTable(db, 2);
		const p = await t.api.post<{ id: string }>("/projects", {
			name: "ops-blocker",
			sourceId,
			destinationId,
			types: ["schema", "full"],
			objects: [{ database: db }],
		});
		await t.api.post(`/projects/${p.id}/actions/start`);
		expect((await waitForProject(t.api, p.id, 60_000)).state).toBe("failed");

		await page.goto(`${t.stack.apiUrl}/#/datasources/${sourceId}`);
		await page.getByRole("link", { name: "ops-blocker" }).waitFor();
		await page.getByRole("button", { name: "Delete" }).click();
		await page.getByRole("button", { name: "Yes" }).click();
		const status = page.getByRole("status").filter({ hasText: "is used by project" });
		await status.waitFor();
		expect(await status.textContent()).toContain("'ops-blocker'");
		await look(page, "ops-datasource-delete-refused");
		expect((await sources()).some((s) => s.id === sourceId)).toBe(true);
	});

	it("gives a viewer every data source control disabled", async () => {
		const { page } = b;
		const src = (await sources()).find((s) => s.name === "ops-src");
		await openConsole(page, t.stack, "viewer", "/datasources");
		await page.getByRole("row").filter({ hasText: "ops-src" }).waitFor();
		expect(await page.getByRole("button", { name: "Add data source" }).isDisabled()).toBe(true);
		await page.goto(`${t.stack.apiUrl}/#/datasources/${src?.id}`);
		await heading(page, "Data source ops-src");
		for (const name of ["Edit", "Delete", "Copy"])
			expect(await page.getByRole("button", { name, exact: true }).isDisabled(), name).toBe(true);
		expect(await page.getByRole("button", { name: "Edit" }).getAttribute("title")).toContain("needs the admin role");
		await look(page, "ops-datasource-viewer");
		await page.goto(`${t.stack.apiUrl}/#/datasources/new`);
		await heading(page, "Add a data source");
		expect(await page.getByRole("button", { name: "Test connection" }).isDisabled()).toBe(true);
		expect(await page.getByRole("button", { name: "Add data source" }).isDisabled()).toBe(true);
	});

	it("shows loading and error states of the list (API failure injected in the browser)", async () => {
		await loadingAndError(b.page, t.stack, {
			path: "/datasources",
			api: "/datasources",
			what: "data sources",
			name: "ops-datasources",
		});
	});
});
