import { signal } from "@preact/signals";

/**
 * Hash routing (`#/projects/p-1?tab=verification`): the server only ever serves `/`, so the same
 * files work from the local API process and from S3 without rewrite rules, and a path never
 * reaches a server log.
 */

export interface Location {
	path: string;
	query: URLSearchParams;
}

const read = (): Location => {
	const raw = location.hash.replace(/^#/, "") || "/";
	const [path = "/", query = ""] = raw.split("?");
	return { path, query: new URLSearchParams(query) };
};

export const here = signal<Location>(read());
addEventListener("hashchange", () => {
	here.value = read();
});

/** Reads the address again after something rewrote it without a hashchange (the token taken from the fragment). */
export function rereadLocation(): void {
	here.value = read();
}

export function navigate(path: string): void {
	location.hash = path;
}

/** Replaces the query of the current route (filters, tabs) without a new history entry. */
export function setQuery(values: Record<string, string | undefined>): void {
	const q = new URLSearchParams(here.value.query);
	for (const [k, v] of Object.entries(values)) {
		if (v === undefined || v === "") q.delete(k);
		else q.set(k, v);
	}
	const s = q.toString();
	history.replaceState(null, "", `#${here.value.path}${s ? `?${s}` : ""}`);
	here.value = read();
}

/** A path segment's value; a malformed escape (typed by hand) stays as it is and names nothing. */
function decodeSegment(segment: string): string {
	try {
		return decodeURIComponent(segment);
	} catch {
		return segment;
	}
}

/** `/projects/:id` against `/projects/p-1` gives `{id: "p-1"}`; undefined when it does not match. */
export function matchPath(pattern: string, path: string): Record<string, string> | undefined {
	const p = pattern.split("/");
	const a = path.split("/");
	if (p.length !== a.length) return undefined;
	const params: Record<string, string> = {};
	for (let i = 0; i < p.length; i++) {
		const want = p[i] ?? "";
		const got = a[i] ?? "";
		if (want.startsWith(":")) params[want.slice(1)] = decodeSegment(got);
		else if (want !== got) return undefined;
	}
	return params;
}

export const href = (path: string) => `#${path}`;
