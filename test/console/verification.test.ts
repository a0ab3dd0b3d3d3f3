import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DifferenceRows } from "../../shared/control/verification-rows.ts";
import { connect } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import { type Browser, launchBrowser, openConsole, screenshot, seriousViolations } from "../support/browser.ts";
import { seedShop, startVerifiedProject } from "../support/console-project.ts";
import {
	destinationCredentials,
	dropDatabase,
	execute,
	sourceCredentials,
	uniqueDatabase,
} from "../support/databases.ts";
import { addLocalDataSources, refusal, startTestStack, type TestStack } from "../support/stack.ts";

let t: TestStack;
let b: Browser;
let id: string;
const db = uniqueDatabase("verify");

beforeAll(async () => {
	await seedShop(db);
	t = await startTestStack(1);
	const ids = await addLocalDataSources(t.api);
	id = await startVerifiedProject(t.api, ids, db, ["schema", "full", "incremental", "verification", "switchover"]);
	b = await launchBrowser();
}, 300_000);
afterAll(async () => {
	await b?.close();
	await t?.close();
	await dropDatabase(db, sourceCredentials, destinationCredentials);
});

const customers = () => `${db}.customers`;
const results = () => b.page.getByRole("table", { name: "Verification result per table" });

async function destinationRow(key: number): Promise<Record<string, unknown> | undefined> {
	const c = await connect(destinationCredentials);
	try {
		const [rows] = await c.query(`SELECT id, name FROM ${quoteId(db)}.customers WHERE id = ?`, [key]);
		return (rows as Record<string, unknown>[])[0];
	} finally {
		await c.end();
	}
}

describe("verification tab: results, diff viewer, correction and re-verification (real local stack and MariaDB)", () => {
	it("finds planted differences, shows them side by side, corrects them and verifies again clean", async () => {
		const { page } = b;
		// differences planted at the destination: a changed value, a lost row, a row that should not be there
		const q = quoteId(db);
		await execute(
			destinationCredentials,
			`UPDATE ${q}.customers SET name = 'Changed by hand' WHERE id = 7`,
			`DELETE FROM ${q}.customers WHERE id = 12`,
			`INSERT INTO ${q}.customers VALUES (900, 'ghost@example.com', 'Ghost', 0)`,
		);
		await openConsole(page, t.stack, "operator", `/projects/${id}/verification`);
		await page.getByRole("heading", { level: 1, name: /Verification/ }).waitFor();
		// the first run (by the project's verify step) was clean
		await results()
			.getByRole("row", { name: new RegExp(customers()) })
			.getByText("clean")
			.waitFor();
		await page.getByRole("button", { name: "Verify all tables" }).click();
		await page.getByRole("status").filter({ hasText: "Verification run 2 started" }).waitFor();
		await page.getByRole("heading", { name: "Differences of run 2" }).waitFor({ timeout: 120_000 });

		const row = results().getByRole("row", { name: new RegExp(customers()) });
		const cells = await row.locator("td").allTextContents();
		// choose, checked bar, rows checked, missing, extra, different, columns
		expect(cells.slice(3, 7)).toEqual(["1", "1", "1", "name"]);
		expect(
			await results()
				.getByRole("row", { name: new RegExp(`${db}.orders`) })
				.getByText("clean")
				.count(),
		).toBe(1);

		// what the viewer reads: the rows at both ends, in the API's documented shape (the client checks it)
		const rows = await t.api.get<DifferenceRows>(`/projects/${id}/verification/rows?table=${customers()}`);
		expect(rows).toMatchObject({ run: 2, columns: ["id", "email", "name", "balance"], key: ["id"], more: false });
		expect(rows.rows.find((r) => r.kind === "different")).toMatchObject({
			key: ["7"],
			columns: ["name"],
			source: ["7", "c7@example.com", "Customer 7", "43.50"],
			destination: ["7", "c7@example.com", "Changed by hand", "43.50"],
		});
		expect((await refusal(t.api.get(`/projects/${id}/verification/rows`))).code).toBe("MISSING_TABLE");
		expect((await refusal(t.api.get(`/projects/${id}/verification/rows?table=${db}.nope`))).status).toBe(404);

		// the diff viewer: per-column counts, and each row's two sides with the differing column marked
		const counts = page.getByRole("table", { name: "Mismatches per column" });
		expect(await counts.getByRole("row").allTextContents()).toEqual(["ColumnRows", "name1"]);
		const changed = page.getByRole("table", { name: /different id = 7/ });
		await changed.waitFor();
		const marked = changed.locator("tr.differs");
		expect(await marked.count()).toBe(1);
		expect(await marked.locator("td").allTextContents()).toEqual(["Customer 7", "Changed by hand"]);
		expect(await marked.locator("th").textContent()).toContain("≠");
		expect(await changed.getByRole("row", { name: /email/ }).locator("td").allTextContents()).toEqual([
			"c7@example.com",
			"c7@example.com",
		]);
		const lost = page.getByRole("table", { name: /missing id = 12/ });
		expect(await lost.getByRole("row", { name: /name/ }).locator("td").allTextContents()).toEqual([
			"Customer 12",
			"no such row",
		]);
		const ghost = page.getByRole("table", { name: /extra id = 900/ });
		expect(await ghost.getByRole("row", { name: /name/ }).locator("td").allTextContents()).toEqual([
			"no such row",
			"Ghost",
		]);
		// the kind filter
		await page.getByLabel("Kind").selectOption("extra");
		expect(await page.locator(".diff-pair").count()).toBe(1);
		await page.getByLabel("Kind").selectOption("all");
		await screenshot(page, "verification-differences");
		expect(await seriousViolations(page)).toEqual([]);

		// the download holds the run's differences as the API gives them
		const [download] = await Promise.all([
			page.waitForEvent("download"),
			page.getByRole("button", { name: "Download differences (JSON)" }).click(),
		]);
		expect(download.suggestedFilename()).toMatch(/^ferry-differences-.*-run2\.json$/);
		const saved = JSON.parse(readFileSync(await download.path(), "utf8"));
		expect(saved.run).toBe(2);
		const kinds = saved.tables
			.find((x: { table: string }) => x.table === customers())
			.rows.map((r: { kind: string }) => r.kind);
		expect(kinds.sort()).toEqual(["different", "extra", "missing"]);

		// correction: nothing to apply before reading the SQL
		const apply = page.getByRole("button", { name: "Apply the correction" });
		expect(await apply.isDisabled()).toBe(true);
		await page.getByRole("button", { name: "Preview the correction SQL" }).click();
		const sql = page.getByLabel("Correction SQL for run 2");
		await sql.waitFor();
		const script = await sql.inputValue();
		expect(script).toMatch(/^-- run at the destination/);
		expect(script).toContain("Customer 7");
		expect(script).toContain("Customer 12");
		expect(script).toMatch(/DELETE FROM[^;]*customers[^;]*900/);
		await screenshot(page, "verification-correction-preview");
		expect(await seriousViolations(page)).toEqual([]);
		await apply.click();
		await page.getByRole("button", { name: "Yes" }).click();
		await page.getByText(/Run \d+ verified the corrected tables again: clean\./).waitFor({ timeout: 120_000 });
		expect(await destinationRow(7)).toEqual({ id: 7, name: "Customer 7" });
		expect(await destinationRow(12)).toEqual({ id: 12, name: "Customer 12" });
		expect(await destinationRow(900)).toBeUndefined();
		// the diff viewer is gone with the differences
		expect(await page.getByRole("heading", { name: /Differences of run/ }).count()).toBe(0);
		await screenshot(page, "verification-reverified");
		expect(await seriousViolations(page)).toEqual([]);
	}, 300_000);

	it("a viewer sees the results with every mutating control disabled", async () => {
		const { page } = b;
		await page.evaluate(() => sessionStorage.clear());
		await openConsole(page, t.stack, "viewer", `/projects/${id}/verification`);
		await page.reload(); // a fresh page: the operator's last notice is gone
		await page.getByRole("heading", { name: "Tables" }).waitFor();
		for (const name of ["Verify all tables", "Pause", "Resume"]) {
			const button = page.getByRole("button", { name });
			expect(await button.isDisabled(), name).toBe(true);
			expect(await button.getAttribute("title"), name).toMatch(/needs the operator role; you are viewer/);
		}
		await screenshot(page, "verification-viewer");
		expect(await seriousViolations(page)).toEqual([]);
	});

	it("shows loading, then the API's error with a retry (API failure injected in the browser)", async () => {
		const { page } = b;
		let failing = true;
		// a status call names its page of tables (?tablesFrom=&tablesLimit=)
		const statusCall = /\/api\/projects\/[^/]+\/status(\?|$)/;
		await page.route(statusCall, async (r) => {
			if (!failing) return r.continue();
			await new Promise((res) => setTimeout(res, 1500));
			await r.fulfill({
				status: 500,
				contentType: "application/json",
				body: JSON.stringify({ error: { code: "INTERNAL", message: "the state table did not answer" } }),
			});
		});
		await page.goto(`${t.stack.apiUrl}/#/users`);
		await page.goto(`${t.stack.apiUrl}/#/projects/${id}/verification`);
		await page.getByRole("status").filter({ hasText: "Loading the project's status…" }).waitFor();
		await screenshot(page, "verification-loading");
		const alert = page.getByRole("alert");
		await alert.waitFor();
		expect(await alert.textContent()).toContain("INTERNAL");
		expect(await alert.textContent()).toContain("the state table did not answer");
		await screenshot(page, "verification-error");
		expect(await seriousViolations(page)).toEqual([]);
		failing = false;
		await page.getByRole("button", { name: "Try again" }).click();
		await page.getByRole("heading", { name: "Tables" }).waitFor();
		await page.unroute(statusCall);
	});

	it("an unknown project is the API's error", async () => {
		const { page } = b;
		await page.goto(`${t.stack.apiUrl}/#/projects/p-nope/verification`);
		const alert = page.getByRole("alert");
		await alert.waitFor();
		expect(await alert.textContent()).toContain("NOT_FOUND");
	});
});
