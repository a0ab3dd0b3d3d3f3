import { z } from "zod";
import type { Context } from "../control/context.ts";
import {
	addDataSource,
	copyDataSource,
	DataSourceInput,
	DataSourcePatch,
	deleteDataSource,
	getDataSource,
	listDataSources,
	testConnection,
	updateDataSource,
} from "../control/datasources.ts";
import {
	actOnProject,
	createProject,
	deleteProject,
	exportObjects,
	getProject,
	importObjects,
	listProjects,
	ObjectSettings,
	resolveTicket,
} from "../control/projects.ts";
import { schemaReport } from "../control/reports.ts";
import { projectStatus } from "../control/status.ts";
import { Endpoint } from "../model/datasource.ts";
import { ProjectInput } from "../model/project.ts";

export interface Request<B> {
	params: Record<string, string>;
	query: Record<string, string | undefined>;
	body: B;
}

export interface Route<B = unknown> {
	method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
	path: string;
	operationId: string;
	summary: string;
	body?: z.ZodType<B>;
	/** The status of a successful answer. */
	status: 200 | 201 | 204;
	handle(ctx: Context, req: Request<B>): Promise<unknown>;
}

function route<B>(r: Route<B>): Route<unknown> {
	return r as Route<unknown>;
}

const CopyRequest = z.object({ name: z.string().min(1).max(128) }).strict();
const TicketDecision = z.object({ decision: z.enum(["retry", "skip"]) }).strict();
const ConnectionTest = Endpoint.extend({
	password: z.string().max(1024),
}).strict();

/** Every route of Ferry's REST API; docs/openapi.json is generated from this table. */
export const ROUTES: Route[] = [
	route({
		method: "POST",
		path: "/datasources/test",
		operationId: "testConnection",
		summary: "Test a connection without saving a data source",
		body: ConnectionTest,
		status: 200,
		handle: (_ctx, req) => testConnection(req.body),
	}),
	route({
		method: "GET",
		path: "/datasources",
		operationId: "listDataSources",
		summary: "List data sources (passwords are never returned)",
		status: 200,
		handle: (ctx) => listDataSources(ctx),
	}),
	route({
		method: "POST",
		path: "/datasources",
		operationId: "addDataSource",
		summary: "Add a data source after a connection test; the password goes to the secret store",
		body: DataSourceInput,
		status: 201,
		handle: (ctx, req) => addDataSource(ctx, req.body),
	}),
	route({
		method: "GET",
		path: "/datasources/{id}",
		operationId: "getDataSource",
		summary: "View a data source",
		status: 200,
		handle: (ctx, req) => getDataSource(ctx, req.params.id ?? ""),
	}),
	route({
		method: "PATCH",
		path: "/datasources/{id}",
		operationId: "updateDataSource",
		summary: "Edit a data source (connection tested again)",
		body: DataSourcePatch,
		status: 200,
		handle: (ctx, req) => updateDataSource(ctx, req.params.id ?? "", req.body),
	}),
	route({
		method: "POST",
		path: "/datasources/{id}/copy",
		operationId: "copyDataSource",
		summary: "Copy a data source under a new name",
		body: CopyRequest,
		status: 201,
		handle: (ctx, req) => copyDataSource(ctx, req.params.id ?? "", req.body.name),
	}),
	route({
		method: "DELETE",
		path: "/datasources/{id}",
		operationId: "deleteDataSource",
		summary: "Delete a data source not used by an active project",
		status: 204,
		handle: (ctx, req) => deleteDataSource(ctx, req.params.id ?? ""),
	}),
	route({
		method: "GET",
		path: "/projects",
		operationId: "listProjects",
		summary: "List projects, optionally by tag (?tag=)",
		status: 200,
		handle: (ctx, req) => listProjects(ctx, req.query.tag),
	}),
	route({
		method: "POST",
		path: "/projects",
		operationId: "createProject",
		summary: "Create a migration project",
		body: ProjectInput,
		status: 201,
		handle: (ctx, req) => createProject(ctx, req.body),
	}),
	route({
		method: "GET",
		path: "/projects/{id}",
		operationId: "getProject",
		summary: "View a project's settings and steps",
		status: 200,
		handle: (ctx, req) => getProject(ctx, req.params.id ?? ""),
	}),
	route({
		method: "DELETE",
		path: "/projects/{id}",
		operationId: "deleteProject",
		summary: "Delete a project that is not running or paused",
		status: 204,
		handle: (ctx, req) => deleteProject(ctx, req.params.id ?? ""),
	}),
	route({
		method: "GET",
		path: "/projects/{id}/status",
		operationId: "getProjectStatus",
		summary: "Obtain the status of a migration project: state, steps, per-table progress, throughput, errors",
		status: 200,
		handle: (ctx, req) => projectStatus(ctx, req.params.id ?? ""),
	}),
	route({
		method: "POST",
		path: "/projects/{id}/actions/{action}",
		operationId: "actOnProject",
		summary: "start, pause, resume or release a project",
		status: 200,
		handle: (ctx, req) => actOnProject(ctx, req.params.id ?? "", req.params.action ?? ""),
	}),
	route({
		method: "POST",
		path: "/projects/{id}/ticket",
		operationId: "resolveTicket",
		summary: "Retry or skip the failed step of a project",
		body: TicketDecision,
		status: 200,
		handle: (ctx, req) => resolveTicket(ctx, req.params.id ?? "", req.body.decision),
	}),
	route({
		method: "GET",
		path: "/projects/{id}/schema-report",
		operationId: "getSchemaReport",
		summary: "Every schema object converted, changed or refused at the destination, and why",
		status: 200,
		handle: (ctx, req) => schemaReport(ctx, req.params.id ?? ""),
	}),
	route({
		method: "GET",
		path: "/projects/{id}/objects",
		operationId: "exportObjects",
		summary: "Export the project's object settings as a file",
		status: 200,
		handle: (ctx, req) => exportObjects(ctx, req.params.id ?? ""),
	}),
	route({
		method: "PUT",
		path: "/projects/{id}/objects",
		operationId: "importObjects",
		summary: "Import object settings into a project that has not started",
		body: ObjectSettings,
		status: 200,
		handle: (ctx, req) => importObjects(ctx, req.params.id ?? "", req.body),
	}),
];
