import { z } from "zod";
import { UserError } from "../errors.ts";
import { GLOBAL_TIMELINE, listEvents } from "../state/events.ts";
import { getProject } from "../state/projects.ts";
import { type Request, type Route, route } from "./route.ts";

const Time = z.iso.datetime({ offset: true });

/** `from` and `to` of the query, ISO times (either may be left out), as UTC for comparison with the stored times. */
function range(req: Request<unknown>): { from?: string; to?: string } {
	const out: { from?: string; to?: string } = {};
	for (const bound of ["from", "to"] as const) {
		const value = req.query[bound];
		if (value === undefined) continue;
		if (!Time.safeParse(value).success) {
			throw new UserError(
				400,
				"INVALID_TIME",
				`${bound} must be an ISO time such as 2026-12-06T09:00:00Z, not '${value}'`,
			);
		}
		out[bound] = new Date(value).toISOString();
	}
	return out;
}

/** The timelines: a project's, and the global one of data sources and deleted projects (state/events.ts). */
export const EVENT_ROUTES: Route[] = [
	route({
		method: "GET",
		path: "/projects/{id}/events",
		operationId: "listProjectEvents",
		summary:
			"The project's timeline between ?from and ?to (ISO times, both optional), oldest first: steps, tickets, DDL, replication tasks, alerts and every change made through the API, each with its author",
		access: "read",
		status: 200,
		handle: async (ctx, req) => {
			const id = req.params.id ?? "";
			const bounds = range(req);
			await getProject(ctx, id);
			return listEvents(ctx, id, bounds);
		},
	}),
	route({
		method: "GET",
		path: "/events",
		operationId: "listGlobalEvents",
		summary:
			"The timeline of what belongs to no project between ?from and ?to: data sources added, edited, copied and deleted, projects deleted, each with its author",
		access: "read",
		status: 200,
		handle: (ctx, req) => listEvents(ctx, GLOBAL_TIMELINE, range(req)),
	}),
];
