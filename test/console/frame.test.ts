import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Browser, launchBrowser, openConsole, screenshot, seriousViolations } from "../support/browser.ts";
import { startTestStack, type TestStack } from "../support/stack.ts";

let t: TestStack;
let b: Browser;

beforeAll(async () => {
	t = await startTestStack(1);
	b = await launchBrowser();
}, 120_000);
afterAll(async () => {
	await b?.close();
	await t?.close();
});

/** A raw GET with a chosen Host header (fetch will not send a foreign one). */
function getWithHost(url: string, host: string): Promise<number> {
	return new Promise((resolve, reject) => {
		const req = request(url, { headers: { host } }, (res) => {
			res.resume();
			resolve(res.statusCode ?? 0);
		});
		req.on("error", reject);
		req.end();
	});
}

describe("console frame, sign-in and serving", () => {
	it("serves the console with a CSP and refuses a foreign Host header (DNS rebinding)", async () => {
		const res = await fetch(`${t.stack.apiUrl}/`);
		expect(res.status).toBe(200);
		expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
		expect(await res.text()).toContain('<div id="app">');
		expect(await getWithHost(`${t.stack.apiUrl}/`, "evil.example:80")).toBe(421);
		expect(await getWithHost(`${t.stack.apiUrl}/projects`, "evil.example")).toBe(421);
		// the API answers under /api for the console, as at its root for the CLI
		const me = await fetch(`${t.stack.apiUrl}/api/me`, {
			headers: { authorization: `Bearer ${t.stack.tokens.operator}` },
		});
		expect(await me.json()).toEqual({ name: "local operator", role: "operator" });
	});

	it("survives what any local page or process can send it: a directory, a malformed path, a huge body", async () => {
		const base = t.stack.apiUrl;
		const auth = { authorization: `Bearer ${t.stack.tokens.viewer}` };
		expect((await fetch(`${base}/assets/`)).status).toBe(404);
		expect((await fetch(`${base}/assets/..%2f..%2fpackage.json`)).status).toBe(404);
		expect((await fetch(`${base}/api/projects/%E0%A4%A`, { headers: auth })).status).toBe(404);
		// no token: refused before the body is read; with one, a body over the limit is refused
		const huge = "x".repeat(5 * 1024 * 1024);
		expect((await fetch(`${base}/api/projects`, { method: "POST", body: huge })).status).toBe(401);
		const tooBig = await fetch(`${base}/api/projects`, { method: "POST", body: huge, headers: auth }).then(
			(r) => r.status,
			() => 413,
		);
		expect(tooBig).toBe(413);
		// and the process still answers
		const me = await fetch(`${base}/api/me`, { headers: auth });
		expect(await me.json()).toEqual({ name: "local viewer", role: "viewer" });
	});

	it("takes the token from the fragment, removes it from the address bar, and shows who is signed in", async () => {
		const { page } = b;
		await openConsole(page, t.stack, "viewer", "/users");
		expect(page.url()).not.toContain("token=");
		await expect.poll(() => page.getByRole("heading", { level: 1 }).textContent()).toBe("Users and roles");
		await page.getByRole("cell", { name: "GET /me" }).waitFor();
		expect(await page.locator(".topbar .who").textContent()).toContain("local viewer");
		// a viewer may not delete a project: the table says so
		const row = page.getByRole("row").filter({ hasText: "DELETE /projects/{id}" });
		expect(await row.locator("td").nth(2).textContent()).toBe("no");
		expect(await row.locator("td").nth(4).textContent()).toBe("yes");
		await screenshot(page, "users");
		expect(await seriousViolations(page)).toEqual([]);
	});

	it("shows the sign-in page for a wrong token, and signs in with a pasted one", async () => {
		const { page } = b;
		await page.evaluate(() => sessionStorage.clear());
		await page.goto(`${t.stack.apiUrl}/#token=wrong`);
		await page.getByLabel("API token").waitFor();
		await screenshot(page, "signin");
		expect(await seriousViolations(page)).toEqual([]);
		await page.getByLabel("API token").fill("still-wrong");
		await page.getByRole("button", { name: "Sign in" }).click();
		await page.getByRole("alert").waitFor();
		expect(await page.getByRole("alert").textContent()).toContain("wrong bearer token");
		await page.getByLabel("API token").fill(t.stack.tokens.admin);
		await page.getByRole("button", { name: "Sign in" }).click();
		await page.getByRole("navigation", { name: "Sections" }).waitFor();
		expect(await page.locator(".topbar .who").textContent()).toContain("local admin");
	});
});
