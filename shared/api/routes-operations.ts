import { z } from "zod";
import { cloneProject, dryRunPrecheck } from "../control/before-start.ts";
import { components, openTickets, tableStatistics } from "../control/lists.ts";
import { projectMetrics } from "../control/metrics.ts";
import { changeParameters, ParametersPatch, projectParameters } from "../control/parameters.ts";
import { type Route, route } from "./route.ts";

const CloneRequest = z.object({ name: z.string().min(1).max(128) }).strict();

/**
 * Operations: metrics history, the console's lists, precheck dry run and clone, runtime
 * parameters. Access (route.ts): reading is `read`; the dry run (it connects to both servers),
 * a clone and a parameter change are `operate`, as running projects is. A parameter change
 * records its own event (old and new values); the others are recorded by dispatch.
 */
export const OPERATIONS_ROUTES: Route[] = [
	route({
		method: "GET",
		path: "/projects/{id}/metrics",
		operationId: "getProjectMetrics",
		access: "read",
		summary:
			"Metrics history (?from=&to= ISO times, default the last hour; &step= seconds per point): latency, rows/s and bytes/s per stream (forward, reverse, sink), copy and verification progress, as series",
		status: 200,
		handle: (ctx, req) => projectMetrics(ctx, req.params.id ?? "", req.query),
	}),
	route({
		method: "GET",
		path: "/tickets",
		operationId: "listOpenTickets",
		access: "read",
		summary: "Open tickets across projects, newest first",
		status: 200,
		handle: (ctx) => openTickets(ctx),
	}),
	route({
		method: "GET",
		path: "/components",
		operationId: "listComponents",
		access: "read",
		summary:
			"Replication tasks (state, heartbeat age, session, position, last error) and the chunk workers' queues (depth, in flight, dead letters)",
		status: 200,
		handle: (ctx) => components(ctx),
	}),
	route({
		method: "GET",
		path: "/projects/{id}/tables",
		operationId: "getTableStatistics",
		access: "read",
		summary:
			"Per-table statistics: copy (rows, bytes, chunks), replay (inserts, updates, deletes, DDL) and the current verification run (rows checked, differences)",
		status: 200,
		handle: (ctx, req) => tableStatistics(ctx, req.params.id ?? ""),
	}),
	route({
		method: "POST",
		path: "/projects/{id}/precheck",
		operationId: "dryRunPrecheck",
		access: "operate",
		summary: "Run the precheck's checks on a project that has not started, changing nothing: its findings",
		status: 200,
		handle: (ctx, req) => dryRunPrecheck(ctx, req.params.id ?? ""),
	}),
	route({
		method: "POST",
		path: "/projects/{id}/clone",
		operationId: "cloneProject",
		access: "operate",
		summary: "Create a new project with the same settings (state new)",
		body: CloneRequest,
		status: 201,
		handle: (ctx, req) => cloneProject(ctx, req.params.id ?? "", req.body.name, req.actor),
	}),
	route({
		method: "GET",
		path: "/projects/{id}/parameters",
		operationId: "getProjectParameters",
		access: "read",
		summary:
			"A project's runtime parameters (throttle, parallelism, replay batch and parallel apply, verification concurrency) and when a change takes effect",
		status: 200,
		handle: (ctx, req) => projectParameters(ctx, req.params.id ?? ""),
	}),
	route({
		method: "PATCH",
		path: "/projects/{id}/parameters",
		operationId: "changeProjectParameters",
		access: "operate",
		recordsOwnEvent: true,
		summary:
			"Change runtime parameters, also while the project runs: workers and replication tasks pick the change up without a restart; the timeline records it",
		body: ParametersPatch,
		status: 200,
		handle: (ctx, req) => changeParameters(ctx, req.params.id ?? "", req.body, req.actor),
	}),
];
