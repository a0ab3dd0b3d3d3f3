import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProjectStatus } from "../../shared/control/status.ts";
import { connect } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import type { Credentials } from "../../shared/model/datasource.ts";
import type { Project } from "../../shared/model/project.ts";
import { type Browser, launchBrowser, openConsole, screenshot, seriousViolations } from "../support/browser.ts";
import { seedShop } from "../support/console-project.ts";
import {
	destinationCredentials,
	dropDatabase,
	execute,
	sourceCredentials,
	uniqueDatabase,
} from "../support/databases.ts";
import { writtenOffsets } from "../support/kafka.ts";
import { startTestStack, type TestStack, waitFor } from "../support/stack.ts";

/**
 * The console's golden path, all of it in the browser against the real local stack and MariaDB:
 * two data sources added through the form, a project made by the wizard, copy and replay
 * watched, a planted difference found, shown and corrected, the switchover run to the end; then
 * a synchronization to the real Kafka made the same way.
 */
const db = uniqueDatabase("golden");
let t: TestStack;
let b: Browser;

beforeAll(async () => {
	await seedShop(db);
	// enough rows that the copy is seen under way
	const rows = Array.from({ length: 5000 }, (_, i) => `(${i + 1}, REPEAT('x', 200))`).join(", ");
	await execute(
		sourceCredentials,
		`CREATE TABLE ${quoteId(db)}.events (id INT PRIMARY KEY, payload TEXT NOT NULL)`,
		`INSERT INTO ${quoteId(db)}.events VALUES ${rows}`,
	);
	t = await startTestStack(2);
	b = await launchBrowser();
}, 180_000);
afterAll(async () => {
	await b?.close();
	await t?.close();
	await dropDatabase(db, sourceCredentials, destinationCredentials);
});

async function addDataSource(name: string, creds: Credentials): Promise<void> {
	const { page } = b;
	await page.goto(`${t.stack.apiUrl}/#/datasources/new`);
	await page.getByLabel("Engine").selectOption("mariadb");
	await page.getByLabel("Name", { exact: true }).fill(name);
	await page.getByLabel("Host").fill(creds.host);
	await page.getByLabel("Port").fill(String(creds.port));
	await page.getByLabel("User").fill(creds.user);
	await page.getByLabel("Password").fill(creds.password);
	const add = page.getByRole("button", { name: "Add data source" });
	expect(await add.isDisabled()).toBe(true);
	await page.getByRole("button", { name: "Test connection" }).click();
	await page.getByText(/Connected: the server is version/).waitFor();
	await add.click();
	await page.getByRole("heading", { level: 1, name }).waitFor();
}

const status = (id: string) => t.api.get<ProjectStatus>(`/projects/${id}/status`);
const stepState = (s: ProjectStatus, name: string) => s.steps.find((x) => x.name === name)?.state;

describe("the console's golden path (real local stack, MariaDB and Kafka)", () => {
	let id = "";

	it("adds two data sources, creates a project with the wizard, watches copy and replay, corrects a planted difference and switches over", async () => {
		const { page } = b;
		await openConsole(page, t.stack, "admin");
		await page.getByText("Welcome to Ferry: no projects yet").waitFor();
		await screenshot(page, "golden-0-fresh");

		await addDataSource("golden src", sourceCredentials);
		await addDataSource("golden dst", destinationCredentials);
		await page.goto(`${t.stack.apiUrl}/#/datasources`);
		await page.getByRole("link", { name: "golden dst" }).waitFor();
		await screenshot(page, "golden-1-datasources");

		// the wizard: everything but reverse
		await page.goto(`${t.stack.apiUrl}/#/projects/new`);
		const next = page.getByRole("button", { name: /^Next:/ });
		await page.getByLabel("Project name").fill("golden shop");
		await page.getByLabel("Source (a database)").selectOption({ label: "golden src (mariadb)" });
		await page.getByLabel(/^Destination/).selectOption({ label: "golden dst (mariadb)" });
		await next.click();
		await page.getByLabel(/Full verification/).check();
		await page.getByLabel(/Switchover/).check();
		await next.click();
		await page.getByRole("button", { name: `Expand database ${db}` }).click();
		await page.getByLabel(`Migrate every table of database ${db}`).check();
		await next.click();
		await page.getByLabel("Rows per chunk").fill("500");
		await page.getByLabel("Max rows/s").fill("2000");
		await next.click();
		await page.getByText(/^The precheck passes/).waitFor({ timeout: 60_000 });
		await next.click();
		await page.getByRole("heading", { name: "Review" }).waitFor();
		await page.getByRole("button", { name: "Start project" }).click();
		await page.waitForURL(/#\/projects\/(?!new$)[^/?]+$/);
		id = decodeURIComponent(page.url().split("#/projects/")[1] ?? "");
		const project = await t.api.get<Project>(`/projects/${id}`);
		expect(project).toMatchObject({
			name: "golden shop",
			types: expect.arrayContaining(["verification", "switchover"]),
		});

		// the copy under way, then done, table by table
		await page.goto(`${t.stack.apiUrl}/#/projects/${id}?tab=full`);
		const events = page
			.locator("table.progress-table")
			.getByRole("row")
			.filter({ hasText: `${db}.events` });
		await events.waitFor({ timeout: 60_000 });
		await screenshot(page, "golden-2-copy");
		await events.getByText("done").first().waitFor({ timeout: 120_000 });

		// replay: writes at the source reach the destination, the incremental tab shows the stream
		await waitFor("replay to run", async () =>
			stepState(await status(id), "incremental") === "running" ? true : undefined,
		);
		await execute(sourceCredentials, `UPDATE ${quoteId(db)}.customers SET balance = balance + 1 WHERE id <= 10`);
		await page.goto(`${t.stack.apiUrl}/#/projects/${id}?tab=incremental`);
		const facts = page.locator("dl.stream-facts");
		await facts.getByText("running").first().waitFor({ timeout: 60_000 });
		await expect
			.poll(() => facts.locator("div", { hasText: "Applied" }).locator("dd").textContent(), { timeout: 60_000 })
			.not.toMatch(/^0 transactions/);
		await screenshot(page, "golden-3-incremental");
		expect(await seriousViolations(page)).toEqual([]);

		// a difference planted at the destination, found by a run started here, shown side by side, corrected
		await waitFor("the first verification", async () =>
			stepState(await status(id), "verify") === "done" ? true : undefined,
		);
		await execute(destinationCredentials, `UPDATE ${quoteId(db)}.customers SET name = 'Planted' WHERE id = 5`);
		await page.goto(`${t.stack.apiUrl}/#/projects/${id}?tab=verification`);
		await page.getByRole("button", { name: "Verify all tables" }).click();
		await page.getByRole("heading", { name: /Differences of run/ }).waitFor({ timeout: 120_000 });
		const changed = page.getByRole("table", { name: /different id = 5/ });
		await expect.poll(() => changed.locator("tr.differs td").allTextContents()).toEqual(["Customer 5", "Planted"]);
		await screenshot(page, "golden-4-differences");
		await page.getByRole("button", { name: "Preview the correction SQL" }).click();
		await page.getByRole("button", { name: "Apply the correction" }).click();
		await page.getByRole("button", { name: "Yes" }).click();
		await page.getByText(/Run \d+ verified the corrected tables again: clean\./).waitFor({ timeout: 120_000 });
		const dst = await connect(destinationCredentials);
		try {
			const [rows] = await dst.query(`SELECT name FROM ${quoteId(db)}.customers WHERE id = 5`);
			expect(rows).toEqual([{ name: "Customer 5" }]);
		} finally {
			await dst.end();
		}

		// the switchover, from the checklist to the end
		await page.goto(`${t.stack.apiUrl}/#/projects/${id}?tab=switchover`);
		await page.getByRole("heading", { name: "Readiness" }).waitFor();
		await page.getByLabel("Largest replay latency to switch at (seconds)").fill("30");
		await page.getByRole("button", { name: "Start the switchover" }).click();
		await page.getByRole("heading", { name: "Confirm writes stopped" }).waitFor({ timeout: 60_000 });
		await page.getByRole("button", { name: "Writes to the source have stopped" }).click();
		await page.getByRole("button", { name: "Yes" }).click();
		await page.getByText("The switchover is done: the destination takes the writes.").waitFor({ timeout: 180_000 });
		await screenshot(page, "golden-5-switched");
		expect(await seriousViolations(page)).toEqual([]);
		const after = await status(id);
		expect(after.state).toBe("completed");
		expect(after.steps.filter((x) => x.name.startsWith("switch-")).map((x) => x.state)).toEqual(Array(6).fill("done"));
		expect(after.ticket).toBeUndefined();
	}, 600_000);

	it("adds a Kafka data source after its connection test and runs a synchronization made by the wizard", async () => {
		const { page } = b;
		const brokers = (process.env.FERRY_KAFKA_BROKERS ?? "127.0.0.1:19092").split(",")[0] ?? "";
		await page.goto(`${t.stack.apiUrl}/#/datasources/new`);
		await page.getByLabel("Engine").selectOption("kafka");
		await page.getByLabel("Name", { exact: true }).fill("golden kafka");
		await page.getByLabel("Brokers").fill(brokers);
		await page.getByRole("button", { name: "Test connection" }).click();
		await page.getByText(/Connected: the server is version .*clusterId/).waitFor();
		await screenshot(page, "golden-6-kafka-tested");
		expect(await page.getByLabel("SASL password").count()).toBe(0);
		await page.getByRole("button", { name: "Add data source" }).click();
		await page.getByRole("heading", { level: 1, name: "golden kafka" }).waitFor();

		await page.goto(`${t.stack.apiUrl}/#/projects/new`);
		const next = page.getByRole("button", { name: /^Next:/ });
		await page.getByLabel("Project name").fill("golden stream");
		await page.getByLabel("Source (a database)").selectOption({ label: "golden src (mariadb)" });
		await page.getByLabel(/^Destination/).selectOption({ label: "golden kafka (kafka)" });
		await page.getByText("Type: synchronization.").waitFor();
		await next.click();
		await page.getByLabel(/Incremental synchronization/).check();
		await next.click();
		await page.getByRole("button", { name: `Expand database ${db}` }).click();
		await page.getByLabel(`Migrate every table of database ${db}`).check();
		await next.click();
		expect(await page.getByLabel("Topic pattern").inputValue()).toBe("{database}.{table}");
		await next.click();
		await page.getByText(/^The precheck passes/).waitFor({ timeout: 60_000 });
		await next.click();
		await page.getByRole("button", { name: "Start project" }).click();
		await page.waitForURL(/#\/projects\/(?!new$)[^/?]+$/);
		const sid = decodeURIComponent(page.url().split("#/projects/")[1] ?? "");
		await waitFor("the synchronization to stream", async () => {
			const s = await status(sid);
			if (s.ticket) throw new Error(`ticket: ${s.ticket.message}`);
			return s.incremental?.state === "running" && s.incremental.phase !== "snapshot" ? s : undefined;
		});
		await page.goto(`${t.stack.apiUrl}/#/projects/${sid}?tab=sync`);
		const facts = page.locator("dl.stream-facts");
		await facts.getByText("running").first().waitFor({ timeout: 60_000 });
		// the snapshot's rows went to the table's topic as messages
		expect(await writtenOffsets(`${db}.events`)).toBeGreaterThanOrEqual(5000n);
		await screenshot(page, "golden-6-sync");
		expect(await seriousViolations(page)).toEqual([]);
	}, 300_000);
});
