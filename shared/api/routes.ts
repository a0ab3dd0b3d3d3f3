import { z } from "zod";
import { dataSourceObjects } from "../control/datasource-objects.ts";
import {
	addDataSource,
	ConnectionTestInput,
	copyDataSource,
	DataSourceInput,
	DataSourcePatch,
	deleteDataSource,
	testDataSource,
	updateDataSource,
} from "../control/datasources.ts";
import { waiveFinding } from "../control/findings.ts";
import {
	actOnProject,
	createProject,
	deleteProject,
	exportObjects,
	importObjects,
	ObjectSettings,
	resolveTicket,
	schemaReport,
} from "../control/projects.ts";
import { projectStatus, type TablesPage } from "../control/status.ts";
import { confirmWritesStopped, requestSwitchover } from "../control/switchover.ts";
import {
	correctionSql,
	pauseVerification,
	requestCorrection,
	verificationDifferences,
	verificationResults,
} from "../control/verification.ts";
import { differenceRows } from "../control/verification-rows.ts";
import { UserError } from "../errors.ts";
import { ProjectInput } from "../model/project.ts";
import { startVerification } from "../scheduler/verification.ts";
import { getDataSource, listDataSources } from "../state/datasources.ts";
import { getProject, listProjects } from "../state/projects.ts";
import { roleMatrix, whoAmI } from "./access.ts";
import { type Route, route } from "./route.ts";
import { ALERT_ROUTES } from "./routes-alerts.ts";
import { EVENT_ROUTES } from "./routes-events.ts";
import { OPERATIONS_ROUTES } from "./routes-operations.ts";

const CopyRequest = z.object({ name: z.string().min(1).max(128) }).strict();
const VerificationRequest = z
	.object({ tables: z.array(z.string().min(3).max(257)).min(1).max(10_000).optional() })
	.strict();
const SwitchoverRequest = z
	.object({
		maxLatencySeconds: z.number().min(0).max(3600).default(5),
		waiveVerification: z.boolean().default(false),
	})
	.strict();
/** `run`: the run whose correction SQL the caller read; refused when the last run is another one. */
const CorrectionRequest = z.object({ run: z.number().int().positive().optional() }).strict();
const TicketDecision = z.object({ decision: z.enum(["retry", "skip"]) }).strict();

/** Most tables one status page holds. */
const MAX_TABLES_PAGE = 500;

/**
 * `?tablesFrom` and `?tablesLimit` of a status call: a page of tables, or undefined for all of
 * them. `tablesLimit=0` asks for the totals alone (the console's lists poll the stream and steps).
 */
function tablesPage(query: Record<string, string | undefined>): TablesPage | undefined {
	const { tablesFrom, tablesLimit } = query;
	if (tablesFrom === undefined && tablesLimit === undefined) return undefined;
	const whole = (name: string, v: string, min: number, max: number) => {
		const n = Number(v);
		if (!/^\d+$/.test(v) || n < min || n > max)
			throw new UserError(400, "INVALID_PAGE", `${name} must be a whole number from ${min} to ${max}, not '${v}'`);
		return n;
	};
	return {
		from: whole("tablesFrom", tablesFrom ?? "0", 0, Number.MAX_SAFE_INTEGER),
		limit: whole("tablesLimit", tablesLimit ?? "100", 0, MAX_TABLES_PAGE),
	};
}

/**
 * The routes of data sources, projects, verification and switchover. Access (route.ts): every
 * GET is `read`; running projects is `operate`; data sources and deleting a project are `admin`.
 * The cases that could go either way:
 * - testing a connection (POST /datasources/test) is `operate`: it saves nothing, and an
 *   operator checks a server before asking an admin for the data source, as OMS's create wizard
 *   tests first;
 * - release is `operate`: it stops a project for good but deletes nothing (its tables, timeline
 *   and results stay); deleting it is `admin`;
 * - waiving a blocking finding and applying correction SQL are `operate`: both are decisions on
 *   a running migration, like a ticket's retry or skip, which OMS leaves to whoever runs it;
 * - the differences and the correction SQL (GET) are `read` although they show row values: a
 *   viewer's job is to check the migration, and passwords are never in any answer.
 */
const CORE_ROUTES: Route[] = [
	route({
		method: "GET",
		path: "/me",
		operationId: "whoAmI",
		access: "read",
		summary: "The caller's name and role (the console offers only what the role may do)",
		status: 200,
		handle: (_ctx, req) => whoAmI(req.actor),
	}),
	route({
		method: "GET",
		path: "/roles",
		operationId: "listRoleAccess",
		access: "read",
		summary: "Every operation of the API with the least role that may call it (viewer, operator, admin)",
		status: 200,
		handle: () => roleMatrix(ROUTES),
	}),
	route({
		method: "POST",
		path: "/datasources/test",
		operationId: "testConnection",
		access: "operate",
		summary: "Test a connection without saving a data source",
		body: ConnectionTestInput,
		status: 200,
		handle: (_ctx, req) => testDataSource(req.body),
	}),
	route({
		method: "GET",
		path: "/datasources",
		operationId: "listDataSources",
		access: "read",
		summary: "List data sources (passwords are never returned)",
		status: 200,
		handle: (ctx) => listDataSources(ctx),
	}),
	route({
		method: "POST",
		path: "/datasources",
		operationId: "addDataSource",
		access: "admin",
		summary: "Add a data source after a connection test; the password goes to the secret store",
		body: DataSourceInput,
		status: 201,
		handle: (ctx, req) => addDataSource(ctx, req.body),
	}),
	route({
		method: "GET",
		path: "/datasources/{id}",
		operationId: "getDataSource",
		access: "read",
		summary: "View a data source",
		status: 200,
		handle: (ctx, req) => getDataSource(ctx, req.params.id ?? ""),
	}),
	route({
		method: "GET",
		path: "/datasources/{id}/objects",
		operationId: "listDataSourceObjects",
		access: "read",
		summary:
			"A database data source's databases and tables (kind, estimated rows, whether it has a primary or unique key, columns), for choosing a project's objects",
		status: 200,
		handle: (ctx, req) => dataSourceObjects(ctx, req.params.id ?? ""),
	}),
	route({
		method: "PATCH",
		path: "/datasources/{id}",
		operationId: "updateDataSource",
		access: "admin",
		summary: "Edit a data source (connection tested again)",
		body: DataSourcePatch,
		status: 200,
		recordsOwnEvent: true,
		handle: (ctx, req) => updateDataSource(ctx, req.params.id ?? "", req.body, req.actor),
	}),
	route({
		method: "POST",
		path: "/datasources/{id}/copy",
		operationId: "copyDataSource",
		access: "admin",
		summary: "Copy a data source under a new name",
		body: CopyRequest,
		status: 201,
		handle: (ctx, req) => copyDataSource(ctx, req.params.id ?? "", req.body.name),
	}),
	route({
		method: "DELETE",
		path: "/datasources/{id}",
		operationId: "deleteDataSource",
		access: "admin",
		summary: "Delete a data source not used by an active project",
		status: 204,
		handle: (ctx, req) => deleteDataSource(ctx, req.params.id ?? ""),
	}),
	route({
		method: "GET",
		path: "/projects",
		operationId: "listProjects",
		access: "read",
		summary: "List projects, optionally by tag (?tag=)",
		status: 200,
		handle: (ctx, req) => listProjects(ctx, req.query.tag),
	}),
	route({
		method: "POST",
		path: "/projects",
		operationId: "createProject",
		access: "operate",
		summary: "Create a migration project",
		body: ProjectInput,
		status: 201,
		handle: (ctx, req) => createProject(ctx, req.body),
	}),
	route({
		method: "GET",
		path: "/projects/{id}",
		operationId: "getProject",
		access: "read",
		summary: "View a project's settings and steps",
		status: 200,
		handle: (ctx, req) => getProject(ctx, req.params.id ?? ""),
	}),
	route({
		method: "DELETE",
		path: "/projects/{id}",
		operationId: "deleteProject",
		access: "admin",
		summary: "Delete a project that is not running or paused",
		status: 204,
		handle: (ctx, req) => deleteProject(ctx, req.params.id ?? ""),
	}),
	route({
		method: "GET",
		path: "/projects/{id}/status",
		operationId: "getProjectStatus",
		access: "read",
		summary:
			"Obtain the status of a migration project: state, steps, per-table progress, throughput, errors; ?tablesFrom=<table index>&tablesLimit=<n> gives one page of the tables (tablesLimit=0: the totals alone) and the verification run without its tables, read at a cost that does not grow with the project's tables",
		status: 200,
		handle: (ctx, req) => projectStatus(ctx, req.params.id ?? "", tablesPage(req.query)),
	}),
	route({
		method: "POST",
		path: "/projects/{id}/actions/{action}",
		operationId: "actOnProject",
		access: "operate",
		summary: "start, pause, resume or release a project",
		status: 200,
		handle: (ctx, req) => actOnProject(ctx, req.params.id ?? "", req.params.action ?? ""),
	}),
	route({
		method: "POST",
		path: "/projects/{id}/ticket",
		operationId: "resolveTicket",
		access: "operate",
		summary: "Retry or skip the failed step of a project",
		body: TicketDecision,
		status: 200,
		recordsOwnEvent: true,
		handle: (ctx, req) => resolveTicket(ctx, req.params.id ?? "", req.body.decision, req.actor),
	}),
	route({
		method: "POST",
		path: "/projects/{id}/findings/{finding}/waive",
		operationId: "waiveFinding",
		access: "operate",
		summary: "Accept one blocking precheck finding (by its id): the retried precheck keeps it as a warning",
		status: 200,
		handle: (ctx, req) => waiveFinding(ctx, req.params.id ?? "", req.params.finding ?? ""),
	}),
	route({
		method: "GET",
		path: "/projects/{id}/schema-report",
		operationId: "getSchemaReport",
		access: "read",
		summary: "Every schema object converted, changed or refused at the destination, and why",
		status: 200,
		handle: (ctx, req) => schemaReport(ctx, req.params.id ?? ""),
	}),
	route({
		method: "GET",
		path: "/projects/{id}/objects",
		operationId: "exportObjects",
		access: "read",
		summary: "Export the project's object settings as a file",
		status: 200,
		handle: (ctx, req) => exportObjects(ctx, req.params.id ?? ""),
	}),
	route({
		method: "PUT",
		path: "/projects/{id}/objects",
		operationId: "importObjects",
		access: "operate",
		summary: "Import object settings into a project that has not started",
		body: ObjectSettings,
		status: 200,
		recordsOwnEvent: true,
		handle: (ctx, req) => importObjects(ctx, req.params.id ?? "", req.body, req.actor),
	}),
	route({
		method: "POST",
		path: "/projects/{id}/verification",
		operationId: "startVerification",
		access: "operate",
		summary: "Start (or re-run) full verification of every table, or of the chosen source tables (database.table)",
		body: VerificationRequest,
		status: 200,
		handle: (ctx, req) => startVerification(ctx, req.params.id ?? "", req.body.tables),
	}),
	route({
		method: "GET",
		path: "/projects/{id}/verification",
		operationId: "getVerification",
		access: "read",
		summary:
			"The current verification run and per-table results: rows checked, missing, extra, different (with columns), and differences in the tables themselves (a table or column at one end only)",
		status: 200,
		handle: (ctx, req) => verificationResults(ctx, req.params.id ?? ""),
	}),
	route({
		method: "POST",
		path: "/projects/{id}/verification/pause",
		operationId: "pauseVerification",
		access: "operate",
		summary: "Pause the running verification",
		status: 200,
		handle: (ctx, req) => pauseVerification(ctx, req.params.id ?? "", true),
	}),
	route({
		method: "POST",
		path: "/projects/{id}/verification/resume",
		operationId: "resumeVerification",
		access: "operate",
		summary: "Resume a paused verification",
		status: 200,
		handle: (ctx, req) => pauseVerification(ctx, req.params.id ?? "", false),
	}),
	route({
		method: "GET",
		path: "/projects/{id}/verification/differences",
		operationId: "getVerificationDifferences",
		access: "read",
		summary: "Download the inconsistent rows of the last run (keys, kind, differing columns)",
		status: 200,
		handle: (ctx, req) => verificationDifferences(ctx, req.params.id ?? ""),
	}),
	route({
		method: "GET",
		path: "/projects/{id}/verification/rows",
		operationId: "getDifferenceRows",
		access: "read",
		summary:
			"One table's differences of the last run (?table= its source database.table) with each row's values at both ends as they are now (the first 100)",
		status: 200,
		handle: (ctx, req) => differenceRows(ctx, req.params.id ?? "", req.query.table),
	}),
	route({
		method: "GET",
		path: "/projects/{id}/verification/correction",
		operationId: "getCorrectionSql",
		access: "read",
		summary:
			"Download the correction SQL for the last run, built from the current data of the run's truth (the source; the destination after the switchover) for the other side",
		status: 200,
		handle: (ctx, req) => correctionSql(ctx, req.params.id ?? ""),
	}),
	route({
		method: "POST",
		path: "/projects/{id}/verification/correction",
		operationId: "applyCorrection",
		access: "operate",
		summary:
			"Apply the correction SQL at the side that is not the run's truth (the destination; the source after the switchover), then re-verify the corrected tables",
		body: CorrectionRequest,
		status: 200,
		handle: (ctx, req) => requestCorrection(ctx, req.params.id ?? "", req.body.run),
	}),
	route({
		method: "POST",
		path: "/projects/{id}/switchover",
		operationId: "startSwitchover",
		access: "operate",
		summary: "Start the forward switchover: checks latency and verification, then waits for writes to stop",
		body: SwitchoverRequest,
		status: 200,
		handle: (ctx, req) => requestSwitchover(ctx, req.params.id ?? "", req.body),
	}),
	route({
		method: "POST",
		path: "/projects/{id}/switchover/writes-stopped",
		operationId: "confirmWritesStopped",
		access: "operate",
		summary: "Confirm the application stopped writing to the source: replay drains and the switch goes on",
		status: 200,
		handle: (ctx, req) => confirmWritesStopped(ctx, req.params.id ?? ""),
	}),
];

/**
 * Every route of Ferry's REST API; docs/openapi.json is generated from this table. Each area
 * keeps its routes in a file of its own and adds them here.
 */
export const ROUTES: Route[] = [...CORE_ROUTES, ...EVENT_ROUTES, ...ALERT_ROUTES, ...OPERATIONS_ROUTES];
