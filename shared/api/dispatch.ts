import { z } from "zod";
import type { Context } from "../context.ts";
import { ConnectError } from "../db/connect.ts";
import { UserError } from "../errors.ts";
import type { Actor } from "../model/actor.ts";
import { logger } from "../observability.ts";
import { permits, ROLE_NEEDED } from "./access.ts";
import { recordCall } from "./audit.ts";
import type { Route } from "./route.ts";
import { ROUTES } from "./routes.ts";

export interface HttpRequest {
	method: string;
	path: string;
	query: Record<string, string | undefined>;
	body: string | null;
	/** The caller, as the entry point authenticated them (a local token, IAM or Cognito in AWS). */
	actor: Actor;
}

export interface HttpResponse {
	status: number;
	body?: unknown;
}

interface CompiledRoute {
	route: Route;
	pattern: RegExp;
	names: string[];
}

const COMPILED: CompiledRoute[] = ROUTES.map((route) => {
	const names: string[] = [];
	const source = route.path.replace(/\{(\w+)\}/g, (_m, name: string) => {
		names.push(name);
		return "([^/]+)";
	});
	return { route, pattern: new RegExp(`^${source}/?$`), names };
});

/** A path segment's value; a malformed escape stays as it came (and then names nothing). */
function decodeSegment(segment: string): string {
	try {
		return decodeURIComponent(segment);
	} catch {
		return segment;
	}
}

function match(method: string, path: string): { route: Route; params: Record<string, string> } | "method" | undefined {
	let pathMatched = false;
	for (const c of COMPILED) {
		const m = c.pattern.exec(path);
		if (!m) continue;
		pathMatched = true;
		if (c.route.method !== method) continue;
		const params = Object.fromEntries(c.names.map((n, i) => [n, decodeSegment(m[i + 1] ?? "")]));
		return { route: c.route, params };
	}
	return pathMatched ? "method" : undefined;
}

const error = (status: number, code: string, message: string, details?: unknown): HttpResponse => ({
	status,
	body: { error: { code, message, ...(details ? { details } : {}) } },
});

/**
 * Routes one API request: finds the route, checks the caller's role against its access (before
 * reading the body: a caller who may not change anything learns nothing from validation), parses
 * and validates the body, runs it, records a change in the timeline with its author, and turns
 * every refusal into a 4xx with a code and a message that says what to do. Unexpected errors
 * become a 500 whose details stay in the log.
 */
export async function dispatch(ctx: Context, req: HttpRequest): Promise<HttpResponse> {
	// the console calls the API under /api: the same origin as its files, locally and behind CloudFront
	const path = req.path.startsWith("/api/") ? req.path.slice("/api".length) : req.path;
	const found = match(req.method.toUpperCase(), path);
	if (found === undefined) return error(404, "NO_SUCH_ROUTE", `no route ${req.method} ${path}`);
	if (found === "method") return error(405, "METHOD_NOT_ALLOWED", `${req.method} is not allowed on ${path}`);
	const { route, params } = found;
	if (!permits(req.actor, route.access)) {
		const needed = ROLE_NEEDED[route.access];
		return error(
			403,
			"FORBIDDEN",
			`${route.method} ${route.path} needs the ${needed} role (or higher); ${req.actor.name} is ${req.actor.role}`,
		);
	}
	let body: unknown;
	if (route.body) {
		try {
			body = JSON.parse(req.body ?? "");
		} catch {
			return error(400, "MALFORMED_JSON", "the request body is not valid JSON");
		}
		const parsed = route.body.safeParse(body);
		if (!parsed.success) {
			const issues = parsed.error.issues.map((i) => ({
				path: i.path.join("."),
				message: i.message,
			}));
			return error(
				400,
				"INVALID_BODY",
				`the request body is invalid: ${issues.map((i) => `${i.path || "(body)"}: ${i.message}`).join("; ")}`,
				issues,
			);
		}
		body = parsed.data;
	}
	try {
		const call = { params, query: req.query, body, actor: req.actor };
		const result = await route.handle(ctx, call);
		await recordCall(ctx, route, call, path, result);
		return route.status === 204 ? { status: 204 } : { status: route.status, body: result };
	} catch (err) {
		if (err instanceof UserError) return error(err.status, err.code, err.message);
		if (err instanceof ConnectError) return error(422, err.code, err.message);
		if (err instanceof z.ZodError) return error(400, "INVALID", err.message);
		logger.error("unexpected API error", {
			operation: route.operationId,
			error: (err as Error).stack ?? String(err),
		});
		return error(500, "INTERNAL", "internal error; see the API function's log");
	}
}
