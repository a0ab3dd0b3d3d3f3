import { existsSync, readFileSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize } from "node:path";
import { dispatch } from "../api/dispatch.ts";
import type { Context } from "../context.ts";
import type { Role } from "../model/actor.ts";
import { logger } from "../observability.ts";
import { localCaller } from "./tokens.ts";

/**
 * Local mode's one HTTP server: the API for the CLI (root paths) and the console (under /api),
 * and the console's files. The console's token travels in the URL fragment and then in the
 * Authorization header, never in a cookie, so another site cannot make the browser call the API
 * with it; a request whose Host is not this server's own loopback name is refused, so a page on
 * another site that rebinds its DNS name to 127.0.0.1 cannot reach the API either.
 */
export interface LocalHttpOptions {
	ctx: Context;
	tokens: Record<Role, string>;
	/** The built console (console/dist); absent: the console's paths answer 503 with what to run. */
	consoleDir?: string;
}

const TYPES: Record<string, string> = {
	".html": "text/html; charset=utf-8",
	".js": "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8",
	".json": "application/json",
	".map": "application/json",
	".svg": "image/svg+xml",
};

/** uPlot sizes its canvas with style attributes, hence 'unsafe-inline' for styles only. */
export const CONSOLE_CSP =
	"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const SECURITY_HEADERS = {
	"content-security-policy": CONSOLE_CSP,
	"x-content-type-options": "nosniff",
	"referrer-policy": "no-referrer",
	"x-frame-options": "DENY",
};

/** The paths the console's files live at; every other path is the API's. */
const isConsolePath = (path: string) =>
	path === "/" || path === "/index.html" || path === "/config.json" || path.startsWith("/assets/");

/** Local mode's console configuration: sign in with a local token. */
const LOCAL_CONFIG = JSON.stringify({ apiBase: "/api", auth: { kind: "token" } });

export function localHttpServer(options: LocalHttpOptions): Server {
	const server: Server = createServer((req, res) => {
		const port = (server.address() as AddressInfo | null)?.port;
		const host = req.headers.host ?? "";
		if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) {
			sendJson(res, 421, {
				error: {
					code: "WRONG_HOST",
					message: `this server answers only to 127.0.0.1:${port} or localhost:${port}, not to Host '${host.slice(0, 100)}'`,
				},
			});
			return;
		}
		const url = new URL(req.url ?? "/", "http://local");
		// whatever one request does wrong, the process (API, scheduler, workers) keeps running
		try {
			if (req.method === "GET" && isConsolePath(url.pathname)) serveConsole(options.consoleDir, url.pathname, res);
			else serveApi(options, req, url, res);
		} catch (err) {
			internalError(res, err);
		}
	});
	// a slow or silent client cannot hold a connection for long
	server.headersTimeout = 10_000;
	server.requestTimeout = 60_000;
	return server;
}

/** The largest request body the API reads (object settings of thousands of tables fit easily). */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

function serveApi(options: LocalHttpOptions, req: IncomingMessage, url: URL, res: ServerResponse): void {
	// the token is checked before anything is read: a caller without one costs nothing
	const actor = localCaller(options.tokens, req.headers.authorization);
	if (!actor) {
		sendJson(res, 401, { error: { code: "UNAUTHENTICATED", message: "missing or wrong bearer token" } });
		req.resume();
		return;
	}
	const chunks: Buffer[] = [];
	let size = 0;
	req.on("data", (c: Buffer) => {
		size += c.length;
		if (size > MAX_BODY_BYTES) {
			sendJson(res, 413, {
				error: { code: "BODY_TOO_LARGE", message: `the request body is over ${MAX_BODY_BYTES} bytes` },
			});
			req.destroy();
			return;
		}
		chunks.push(c);
	});
	req.on("end", () => {
		if (res.headersSent) return;
		dispatch(options.ctx, {
			method: req.method ?? "GET",
			path: url.pathname,
			query: Object.fromEntries(url.searchParams),
			body: chunks.length ? Buffer.concat(chunks).toString("utf8") : null,
			actor,
		}).then(
			(out) => sendJson(res, out.status, out.body),
			(err) => internalError(res, err),
		);
	});
}

function internalError(res: ServerResponse, err: unknown): void {
	logger.error("local HTTP request failed", { error: (err as Error).stack ?? String(err) });
	if (!res.headersSent) sendJson(res, 500, { error: { code: "INTERNAL", message: "internal error; see the log" } });
	else res.destroy();
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
	res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
	res.end(body === undefined ? "" : JSON.stringify(body));
}

function serveConsole(dir: string | undefined, path: string, res: ServerResponse): void {
	if (path === "/config.json") {
		res.writeHead(200, { "content-type": TYPES[".json"], "cache-control": "no-cache", ...SECURITY_HEADERS });
		res.end(LOCAL_CONFIG);
		return;
	}
	const file = dir && join(dir, normalize(path === "/" ? "/index.html" : path));
	// a directory (/assets/) or a file a rebuild just removed is not found, never a thrown error
	const content = file?.startsWith(`${dir}/`) ? readIfFile(file) : undefined;
	if (!dir || !file || content === undefined) {
		const missing = !dir || !existsSync(join(dir, "index.html"));
		res.writeHead(missing ? 503 : 404, { "content-type": "text/plain; charset=utf-8", ...SECURITY_HEADERS });
		res.end(missing ? "The console is not built: run `npm run build:console`, then reload.\n" : "Not found\n");
		return;
	}
	// hashed asset names never change content; index.html names the current ones
	const immutable = path.startsWith("/assets/");
	res.writeHead(200, {
		"content-type": TYPES[extname(file)] ?? "application/octet-stream",
		"cache-control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
		...SECURITY_HEADERS,
	});
	res.end(content);
}

function readIfFile(file: string): Buffer | undefined {
	try {
		return statSync(file).isFile() ? readFileSync(file) : undefined;
	} catch {
		return undefined;
	}
}
