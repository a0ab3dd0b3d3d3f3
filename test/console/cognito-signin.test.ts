import { createHash, randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Browser, launchBrowser, screenshot, seriousViolations } from "../support/browser.ts";
import { startTestStack, type TestStack } from "../support/stack.ts";

/**
 * The console's Cognito sign-in, end to end on this machine: one node:http server plays the
 * CloudFront origin (the built console, a config.json of kind "cognito", /api/* to a local stack
 * after an authorizer's check of the ID token, as ConsoleApi's Cognito authorizer does) and
 * another plays Cognito's managed login (/oauth2/authorize and /oauth2/token, with PKCE). The
 * console only talks https to Cognito, so the browser reaches the second server through
 * page.route as https://login.ferry.test.
 */

const DIST = fileURLToPath(new URL("../../console/dist", import.meta.url));
const LOGIN = "login.ferry.test";
const CLIENT_ID = "ferry-console-client";
const TYPES: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css" };
const b64url = (b: Buffer) => b.toString("base64url");

interface Issued {
	challenge: string;
	redirectUri: string;
}

let t: TestStack;
let b: Browser;
let site: Server;
let login: Server;
let siteUrl: string;
let loginUrl: string;
const codes = new Map<string, Issued>();
const idToken = `${b64url(Buffer.from('{"alg":"RS256"}'))}.${b64url(
	Buffer.from(JSON.stringify({ "cognito:groups": ["operator"], email: "dba@example.com", token_use: "id" })),
)}.${b64url(Buffer.from("signature"))}`;
const seen = { tokenRequests: 0, verifierChecked: false, apiAuthorizations: [] as string[] };

async function body(req: IncomingMessage): Promise<string> {
	const chunks: Buffer[] = [];
	for await (const c of req) chunks.push(c as Buffer);
	return Buffer.concat(chunks).toString("utf8");
}

/** Cognito's managed login, the two endpoints a public client with PKCE uses. */
async function hostedUi(req: IncomingMessage, res: ServerResponse): Promise<void> {
	const url = new URL(req.url ?? "/", "https://login.ferry.test");
	const cors = { "access-control-allow-origin": siteUrl };
	if (url.pathname === "/oauth2/authorize") {
		const q = url.searchParams;
		if (
			q.get("response_type") !== "code" ||
			q.get("client_id") !== CLIENT_ID ||
			q.get("code_challenge_method") !== "S256" ||
			!q.get("code_challenge") ||
			q.get("redirect_uri") !== `${siteUrl}/`
		) {
			res.writeHead(400).end(`bad authorize request: ${url.search}`);
			return;
		}
		// the user signed in on the managed login page: back to the console with a one-time code
		const code = randomUUID();
		codes.set(code, { challenge: q.get("code_challenge") ?? "", redirectUri: q.get("redirect_uri") ?? "" });
		res.writeHead(302, { location: `${q.get("redirect_uri")}?code=${code}&state=${q.get("state")}` }).end();
		return;
	}
	if (url.pathname === "/oauth2/token" && req.method === "POST") {
		seen.tokenRequests += 1;
		const form = new URLSearchParams(await body(req));
		const issued = codes.get(form.get("code") ?? "");
		codes.delete(form.get("code") ?? "");
		const verifier = form.get("code_verifier") ?? "";
		const ok =
			issued !== undefined &&
			form.get("grant_type") === "authorization_code" &&
			form.get("client_id") === CLIENT_ID &&
			form.get("redirect_uri") === issued.redirectUri &&
			b64url(createHash("sha256").update(verifier).digest()) === issued.challenge;
		if (!ok) {
			res.writeHead(400, { "content-type": "application/json", ...cors }).end('{"error":"invalid_grant"}');
			return;
		}
		seen.verifierChecked = true;
		res
			.writeHead(200, { "content-type": "application/json", ...cors })
			.end(JSON.stringify({ id_token: idToken, access_token: "access", token_type: "Bearer", expires_in: 3600 }));
		return;
	}
	res.writeHead(404).end();
}

/** CloudFront: the console's files with the stack's CSP, and /api/* through the authorizer to the API. */
async function origin(req: IncomingMessage, res: ServerResponse): Promise<void> {
	const url = new URL(req.url ?? "/", siteUrl);
	const csp = `default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self' https://${LOGIN}; frame-ancestors 'none'; base-uri 'none'; form-action 'self' https://${LOGIN}`;
	if (url.pathname.startsWith("/api/")) {
		const auth = req.headers.authorization ?? "";
		seen.apiAuthorizations.push(auth);
		// the Cognito authorizer takes the raw ID token (no "Bearer"); the function then sees the caller's groups
		if (auth !== idToken) {
			res.writeHead(401, { "content-type": "application/json" }).end('{"message":"Unauthorized"}');
			return;
		}
		const answer = await fetch(`${t.stack.apiUrl}${url.pathname}${url.search}`, {
			method: req.method,
			headers: { authorization: `Bearer ${t.stack.tokens.operator}`, "content-type": "application/json" },
			body: req.method === "GET" || req.method === "HEAD" ? undefined : await body(req),
		});
		res.writeHead(answer.status, { "content-type": "application/json" }).end(await answer.text());
		return;
	}
	if (url.pathname === "/config.json") {
		res.writeHead(200, { "content-type": "application/json", "content-security-policy": csp });
		res.end(JSON.stringify({ apiBase: "/api", auth: { kind: "cognito", domain: LOGIN, clientId: CLIENT_ID } }));
		return;
	}
	const file = join(DIST, normalize(url.pathname === "/" ? "/index.html" : url.pathname));
	if (!file.startsWith(DIST) || !existsSync(file)) {
		res.writeHead(404).end();
		return;
	}
	res.writeHead(200, {
		"content-type": TYPES[extname(file)] ?? "application/octet-stream",
		"content-security-policy": csp,
	});
	res.end(readFileSync(file));
}

function listen(handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>): Promise<[Server, string]> {
	const server = createServer((req, res) => {
		handler(req, res).catch((err) => res.writeHead(500).end(String(err)));
	});
	return new Promise((resolve) =>
		server.listen(0, "127.0.0.1", () =>
			resolve([server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`]),
		),
	);
}

beforeAll(async () => {
	t = await startTestStack(1);
	[site, siteUrl] = await listen(origin);
	[login, loginUrl] = await listen(hostedUi);
	b = await launchBrowser();
	// the browser's https://login.ferry.test is the mock hosted UI
	await b.context.route(`https://${LOGIN}/**`, async (route) => {
		const r = route.request();
		const path = r.url().slice(`https://${LOGIN}`.length);
		const answer = await route.fetch({ url: `${loginUrl}${path}`, maxRedirects: 0 });
		await route.fulfill({ response: answer });
	});
}, 120_000);
afterAll(async () => {
	await b?.close();
	site?.close();
	login?.close();
	await t?.close();
});

describe("console sign-in in AWS", () => {
	it("signs in through the managed login with the authorization code and PKCE, then calls the API with the ID token (Cognito's hosted UI mocked)", async () => {
		const { page } = b;
		await page.goto(`${siteUrl}/#/users`);
		const signIn = page.getByRole("button", { name: "Sign in" });
		await signIn.waitFor();
		await screenshot(page, "signin-cognito");
		expect(await seriousViolations(page)).toEqual([]);
		await signIn.click();
		// back from the managed login: the code is exchanged and removed from the address bar; the deep link is kept
		await page.getByRole("heading", { level: 1, name: "Users and roles" }).waitFor();
		expect(page.url()).toBe(`${siteUrl}/#/users`);
		expect(seen.tokenRequests).toBe(1);
		expect(seen.verifierChecked).toBe(true);
		expect(await page.locator(".topbar .who").textContent()).toContain("operator");
		// every API call carried the ID token as the authorizer wants it, and nothing else
		expect(seen.apiAuthorizations.length).toBeGreaterThan(0);
		expect(new Set(seen.apiAuthorizations)).toEqual(new Set([idToken]));
		// the token lives in this tab only
		expect(await page.evaluate(() => sessionStorage.getItem("ferry.token"))).toBe(idToken);
		expect(await page.evaluate(() => localStorage.length)).toBe(0);
	});

	it("the mock refuses a code redeemed with the wrong verifier or twice, as Cognito does", async () => {
		const challenge = b64url(createHash("sha256").update("the-right-verifier").digest());
		codes.set("code-1", { challenge, redirectUri: `${siteUrl}/` });
		const redeem = (verifier: string) =>
			fetch(`${loginUrl}/oauth2/token`, {
				method: "POST",
				body: new URLSearchParams({
					grant_type: "authorization_code",
					client_id: CLIENT_ID,
					code: "code-1",
					redirect_uri: `${siteUrl}/`,
					code_verifier: verifier,
				}),
			});
		expect((await redeem("a-wrong-verifier")).status).toBe(400);
		codes.set("code-1", { challenge, redirectUri: `${siteUrl}/` });
		expect((await redeem("the-right-verifier")).status).toBe(200);
		expect((await redeem("the-right-verifier")).status).toBe(400);
	});
});
