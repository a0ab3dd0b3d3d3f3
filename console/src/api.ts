import { signal } from "@preact/signals";
import { authorization, type ConsoleConfig } from "./auth.ts";

/** An API refusal with its code and message, as shared/api/dispatch.ts writes them. */
export class ApiError extends Error {
	constructor(
		readonly status: number,
		readonly code: string,
		message: string,
		readonly details?: unknown,
	) {
		super(message);
	}
}

let config: ConsoleConfig = { apiBase: "/api", auth: { kind: "token" } };

/** Turns false when the API refuses the token (401): the console shows its sign-in page. */
export const signedIn = signal(true);

export function configureApi(c: ConsoleConfig): void {
	config = c;
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
	const headers: Record<string, string> = { accept: "application/json" };
	const auth = authorization(config);
	if (auth) headers.authorization = auth;
	if (body !== undefined) headers["content-type"] = "application/json";
	let res: Response;
	try {
		res = await fetch(`${config.apiBase}${path}`, {
			method,
			headers,
			body: body === undefined ? undefined : JSON.stringify(body),
		});
	} catch (err) {
		throw new ApiError(0, "UNREACHABLE", `Ferry's API is not reachable (${(err as Error).message}): is it running?`);
	}
	const text = await res.text();
	const parsed = text ? safeJson(text) : undefined;
	if (!res.ok) {
		if (res.status === 401) signedIn.value = false;
		const e = (parsed as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
		throw new ApiError(
			res.status,
			e?.code ?? `HTTP_${res.status}`,
			e?.message ?? `the API answered ${res.status}`,
			e?.details,
		);
	}
	return parsed as T;
}

function safeJson(text: string): unknown {
	try {
		return JSON.parse(text);
	} catch {
		return undefined;
	}
}

export const api = {
	get: <T>(path: string) => call<T>("GET", path),
	post: <T>(path: string, body?: unknown) => call<T>("POST", path, body ?? {}),
	put: <T>(path: string, body: unknown) => call<T>("PUT", path, body),
	patch: <T>(path: string, body: unknown) => call<T>("PATCH", path, body),
	del: (path: string) => call<void>("DELETE", path),
};

/** A path segment from a value (ids, table names): never pasted raw into a URL. */
export const seg = (value: string) => encodeURIComponent(value);

/**
 * A project's status with `limit` of its tables from the `from`th (`limit` 0: the totals alone):
 * a page costs the same whatever the project's tables, the whole list grows with them (docs/scale.md).
 */
export const statusPath = (id: string, page: { from: number; limit: number } = { from: 0, limit: 0 }) =>
	`/projects/${seg(id)}/status?tablesFrom=${page.from}&tablesLimit=${page.limit}`;
