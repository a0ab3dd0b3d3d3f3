import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProjectStatus } from "../../shared/control/status.ts";
import { quoteId } from "../../shared/db/sql.ts";
import { type Browser, launchBrowser, openConsole, screenshot, seriousViolations } from "../support/browser.ts";
import { seedShop, startVerifiedProject, stepState } from "../support/console-project.ts";
import {
	destinationCredentials,
	dropDatabase,
	execute,
	sourceCredentials,
	uniqueDatabase,
} from "../support/databases.ts";
import { addLocalDataSources, startTestStack, type TestStack, waitFor } from "../support/stack.ts";

let t: TestStack;
let b: Browser;
let id: string;
const db = uniqueDatabase("verify_sw");

beforeAll(async () => {
	await seedShop(db);
	t = await startTestStack(1);
	const ids = await addLocalDataSources(t.api);
	id = await startVerifiedProject(t.api, ids, db, [
		"schema",
		"full",
		"incremental",
		"verification",
		"switchover",
		"reverse",
	]);
	b = await launchBrowser();
}, 300_000);
afterAll(async () => {
	await b?.close();
	await t?.close();
	await dropDatabase(db, sourceCredentials, destinationCredentials);
});

const status = () => t.api.get<ProjectStatus>(`/projects/${id}/status`);

/** Runs verification over every table through the API and waits for it to finish. */
async function verifiedRun(): Promise<void> {
	const started = await t.api.post<{ verification: { run: number } }>(`/projects/${id}/verification`, {});
	await waitFor("the verification run", async () => {
		const v = (await status()).verification?.run;
		return v?.run === started.verification.run && v.state === "done" ? true : undefined;
	});
}

/** The checklist item's badge word (ready, not yet, blocked, waived) and its detail. */
async function item(name: string): Promise<{ word: string; detail: string }> {
	const li = b.page.getByRole("listitem").filter({ hasText: name });
	return {
		word: (await li.locator(".badge").textContent()) ?? "",
		detail: (await li.locator(".check-detail").textContent()) ?? "",
	};
}

describe("switchover tab: readiness, start, writes stopped, steps to the end (real local stack and MariaDB)", () => {
	it("turns the checklist green, then runs the switchover to the end from the console", async () => {
		const { page } = b;
		await waitFor("the switchover to wait for the user", async () =>
			stepState(await status(), "switch-check") === "running" ? true : undefined,
		);
		// a difference at the destination, found by a new run: the verification item is not green ...
		await execute(destinationCredentials, `UPDATE ${quoteId(db)}.orders SET quantity = 0 WHERE id = 3`);
		await verifiedRun();
		await openConsole(page, t.stack, "operator", `/projects/${id}/switchover`);
		await page.getByRole("heading", { name: "Readiness" }).waitFor();
		await page.getByLabel("Largest replay latency to switch at (seconds)").fill("30");
		await expect.poll(async () => (await item("Verification clean")).word).toBe("not yet");
		expect((await item("Verification clean")).detail).toBe(`differences remain in ${db}.orders`);
		await screenshot(page, "switchover-not-ready");
		expect(await seriousViolations(page)).toEqual([]);
		// ... until the correction's re-verification comes back clean
		await t.api.post(`/projects/${id}/verification/correction`);
		const names = [
			"Replay latency under the threshold",
			"Verification clean",
			"Reverse replication ready",
			"No open ticket",
		];
		for (const name of names) {
			await expect.poll(async () => (await item(name)).word, { timeout: 60_000, message: name }).toBe("ready");
		}
		expect((await item("Verification clean")).detail).toMatch(/^clean since run 2 over every table \(and run 3\)/);
		expect((await item("Replay latency under the threshold")).detail).toMatch(
			/latency [\d.]+ s \(threshold 30 s\); applied up to /,
		);
		await screenshot(page, "switchover-ready");
		expect(await seriousViolations(page)).toEqual([]);

		await page.getByRole("button", { name: "Start the switchover" }).click();
		await page.getByRole("heading", { name: "Confirm writes stopped" }).waitFor();
		const settings = (await status()).switchover;
		expect(settings).toMatchObject({ maxLatencySeconds: 30, waiveVerification: false });
		await page.getByText(/The switchover waits: .*stop writes/).waitFor({ timeout: 60_000 });
		expect(await page.getByRole("button", { name: "Change the settings" }).isEnabled()).toBe(true);
		await screenshot(page, "switchover-writes-stopped-warning");
		expect(await seriousViolations(page)).toEqual([]);

		// a viewer (another tab: its own session) sees the same with every control disabled
		const viewer = await b.context.newPage();
		await openConsole(viewer, t.stack, "viewer", `/projects/${id}/switchover`);
		await viewer.getByRole("heading", { name: "Confirm writes stopped" }).waitFor();
		for (const name of ["Change the settings", "Writes to the source have stopped"]) {
			const button = viewer.getByRole("button", { name });
			expect(await button.isDisabled(), name).toBe(true);
			expect(await button.getAttribute("title"), name).toMatch(/needs the operator role; you are viewer/);
		}
		expect(await viewer.getByLabel("Largest replay latency to switch at (seconds)").isDisabled()).toBe(true);
		expect(await viewer.getByLabel("Switch without a clean verification (waive it)").isDisabled()).toBe(true);
		await screenshot(viewer, "switchover-viewer");
		expect(await seriousViolations(viewer)).toEqual([]);
		await viewer.close();

		await page.getByRole("button", { name: "Writes to the source have stopped" }).click();
		await page.getByText("Every application has stopped writing to the source?").waitFor();
		await page.getByRole("button", { name: "Yes" }).click();
		await page.getByRole("heading", { name: "Writes stopped" }).waitFor();
		await page.getByText("The switchover is done: the destination takes the writes.").waitFor({ timeout: 180_000 });
		const done = await status();
		for (const step of done.steps.filter((s) => s.name.startsWith("switch-")))
			expect(step.state, step.name).toBe("done");
		expect(done.switchover?.forwardStopped).toBe(true);
		expect(await page.getByRole("button", { name: "Change the settings" }).isDisabled()).toBe(true);
		await screenshot(page, "switchover-done");
		expect(await seriousViolations(page)).toEqual([]);
	}, 400_000);

	it("shows the API's error with a retry (API failure injected in the browser)", async () => {
		const { page } = b;
		let failing = true;
		await page.route("**/api/projects/*", async (r) => {
			if (!failing) return r.continue();
			await r.fulfill({
				status: 503,
				contentType: "application/json",
				body: JSON.stringify({ error: { code: "UNAVAILABLE", message: "the API is restarting" } }),
			});
		});
		await page.goto(`${t.stack.apiUrl}/#/users`);
		await page.goto(`${t.stack.apiUrl}/#/projects/${id}/switchover`);
		const alert = page.getByRole("alert");
		await alert.waitFor();
		expect(await alert.textContent()).toContain("UNAVAILABLE");
		expect(await alert.textContent()).toContain("Could not load the project");
		await screenshot(page, "switchover-error");
		expect(await seriousViolations(page)).toEqual([]);
		failing = false;
		await page.getByRole("button", { name: "Try again" }).click();
		await page.getByRole("heading", { name: "Readiness" }).waitFor();
		await page.unroute("**/api/projects/*");
	});
});
