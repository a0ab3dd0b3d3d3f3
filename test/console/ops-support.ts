import type { Page, Route } from "playwright-core";
import { expect } from "vitest";
import type { LocalStack } from "../../shared/local/stack.ts";
import { openConsole, screenshot, seriousViolations } from "../support/browser.ts";

/** Matches the console's call of one API path (any query), e.g. `/datasources`. */
export const apiPath = (path: string) => (url: URL) => url.pathname === `/api${path}`;

/** The page's h1 once the screen shows it. */
export async function heading(page: Page, text: string): Promise<void> {
	await expect.poll(() => page.getByRole("heading", { level: 1 }).textContent()).toContain(text);
}

/** Screenshot plus axe: every state the tests look at is checked for serious violations. */
export async function look(page: Page, name: string): Promise<void> {
	await screenshot(page, name);
	expect(await seriousViolations(page)).toEqual([]);
}

/**
 * A screen's loading state (its first API answer held back 1.5 s) and its error state (a 500
 * from the API, injected in the browser): the status line, then the API's code and message
 * with "Try again".
 */
export async function loadingAndError(
	page: Page,
	stack: LocalStack,
	screen: { path: string; api: string; what: string; name: string },
): Promise<void> {
	const hold = async (r: Route) => {
		await new Promise((res) => setTimeout(res, 1500));
		await r.continue().catch(() => {});
	};
	// unroute finds a route by the same matcher object: keep one
	const matcher = apiPath(screen.api);
	await page.route(matcher, hold);
	await openConsole(page, stack, "admin", screen.path);
	await page.getByText(`Loading ${screen.what}…`).waitFor();
	await look(page, `${screen.name}-loading`);
	await page.unroute(matcher, hold);

	const fail = (r: Route) =>
		r.fulfill({
			status: 500,
			contentType: "application/json",
			body: JSON.stringify({ error: { code: "INJECTED_FAILURE", message: "the test made the API fail" } }),
		});
	await page.route(matcher, fail);
	await page.reload();
	const alert = page.getByRole("alert").filter({ hasText: `Could not load ${screen.what}` });
	await alert.waitFor();
	expect(await alert.textContent()).toContain("INJECTED_FAILURE");
	expect(await alert.getByRole("button", { name: "Try again" }).isVisible()).toBe(true);
	await look(page, `${screen.name}-error`);
	await page.unroute(matcher, fail);
}
