import type { ComponentChildren } from "preact";
import { ApiError } from "../api.ts";
import type { Resource } from "./resource.ts";

export function Loading({ what }: { what: string }) {
	return (
		<div class="state state-loading" role="status" aria-live="polite">
			<span class="spinner" aria-hidden="true" />
			Loading {what}…
		</div>
	);
}

export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
	return (
		<div class="state state-empty">
			<p class="state-title">{title}</p>
			{children}
		</div>
	);
}

/** An error as the API gave it: its code, its message (which says what to do) and a retry. */
export function Failure({ error, retry, what }: { error: Error; retry?: () => void; what?: string }) {
	const code = error instanceof ApiError ? error.code : undefined;
	return (
		<div class="state state-error" role="alert">
			<p class="state-title">{what ? `Could not load ${what}` : "Something went wrong"}</p>
			<p>
				{code && <code class="code-chip">{code}</code>} {error.message}
			</p>
			{retry && (
				<button type="button" onClick={retry}>
					Try again
				</button>
			)}
		</div>
	);
}

/** Loading, then error or data; a failed poll after data keeps the data under a small warning. */
export function Loaded<T>({
	r,
	what,
	children,
}: {
	r: Resource<T>;
	what: string;
	children: (data: T) => ComponentChildren;
}) {
	if (r.data === undefined) {
		if (r.error) return <Failure error={r.error} retry={r.reload} what={what} />;
		return <Loading what={what} />;
	}
	return (
		<>
			{r.error && (
				<p class="stale" role="status">
					Showing the last {what} received: {r.error.message}
				</p>
			)}
			{children(r.data)}
		</>
	);
}
