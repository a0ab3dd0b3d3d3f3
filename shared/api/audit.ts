import type { Context } from "../context.ts";
import { GLOBAL_TIMELINE, recordEvent } from "../state/events.ts";
import type { Request, Route } from "./route.ts";

/**
 * The timeline a successful change belongs to: a project's routes (under /projects/{id}) record
 * in that project's, a call that creates a project in the new one's, and everything else (data
 * sources) in the global timeline. Deleting a project deletes its timeline, so the deletion is
 * kept in the global one.
 */
function timelineOf(route: Route, params: Record<string, string>, result: unknown): string {
	const own = route.path.startsWith("/projects/{id}") ? params.id : undefined;
	if (own && !(route.method === "DELETE" && route.path === "/projects/{id}")) return own;
	const created = route.path === "/projects" ? (result as { id?: unknown } | undefined)?.id : undefined;
	return typeof created === "string" ? created : GLOBAL_TIMELINE;
}

/**
 * Records a change made through the API with its author: the route's summary and the call's
 * method and path. Bodies stay out (a data source's carries its password); a command that has
 * more to say records its own event instead (`Route.recordsOwnEvent`).
 */
export async function recordCall(ctx: Context, route: Route, req: Request<unknown>, path: string, result: unknown) {
	if (route.method === "GET" || route.recordsOwnEvent) return;
	// what a call made has an id its path could not name yet (a data source added, copied)
	const made = (result as { id?: unknown } | undefined)?.id;
	await recordEvent(ctx, timelineOf(route, req.params, result), {
		kind: "action",
		message: `${route.summary} (${route.method} ${path})`,
		actor: req.actor,
		subject: route.operationId,
		...(route.status === 201 && typeof made === "string" ? { details: { id: made } } : {}),
	});
}
