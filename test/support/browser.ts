import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import type { LocalStack } from "../../shared/local/stack.ts";
import type { Role } from "../../shared/model/actor.ts";

/**
 * The console's browser tests drive Debian's Chromium (installed by scripts/setup.sh; nothing
 * downloads a browser) through playwright-core, headless, with a fresh profile each time.
 */

const ARGS = [
	"--headless",
	"--no-sandbox",
	"--disable-gpu",
	"--disable-quic",
	"--no-first-run",
	"--disable-background-networking",
	"--disable-component-update",
	"--disable-sync",
];

export interface Browser {
	context: BrowserContext;
	page: Page;
	close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
	const profile = mkdtempSync(join(tmpdir(), "ferry-chromium-"));
	const context = await chromium.launchPersistentContext(profile, {
		executablePath: "/usr/bin/chromium",
		headless: true,
		args: ARGS,
		viewport: { width: 1360, height: 860 },
		locale: "en-GB",
		timezoneId: "UTC",
	});
	const page = context.pages()[0] ?? (await context.newPage());
	page.setDefaultTimeout(15_000);
	return {
		context,
		page,
		async close() {
			await context.close();
			rmSync(profile, { recursive: true, force: true });
		},
	};
}

/** Opens the console as `ferry local up`'s link does: the role's token in the fragment. */
export async function openConsole(page: Page, stack: LocalStack, role: Role = "admin", path = "/"): Promise<void> {
	await page.goto(`${stack.apiUrl}/#token=${stack.tokens[role]}`);
	await page.getByRole("navigation", { name: "Sections" }).waitFor();
	if (path !== "/") await page.goto(`${stack.apiUrl}/#${path}`);
}

/** Where the tests leave their screenshots, for a person to look at. */
export const SCREENSHOTS = process.env.FERRY_SCREENSHOTS ?? join(homedir(), ".ferry", "run", "console-screens");

export async function screenshot(page: Page, name: string): Promise<void> {
	mkdirSync(SCREENSHOTS, { recursive: true });
	await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

export interface Violation {
	id: string;
	impact: string;
	help: string;
	targets: string[];
}

/**
 * axe-core's WCAG 2 A/AA rules on the page as it is; the serious and critical violations. Run
 * through the debugging protocol, so the console's CSP (no inline scripts) stays on.
 */
export async function seriousViolations(page: Page): Promise<Violation[]> {
	await page.evaluate(AXE);
	const found = await page.evaluate(async () => {
		const axe = (globalThis as unknown as { axe: { run(options: unknown): Promise<{ violations: unknown[] }> } }).axe;
		const r = await axe.run({ runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21aa"] } });
		return r.violations as { id: string; impact: string; help: string; nodes: { target: string[] }[] }[];
	});
	return found
		.filter((v) => v.impact === "serious" || v.impact === "critical")
		.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(" ")) }));
}
