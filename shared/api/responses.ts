import { z } from "zod";
import type { addDataSource, copyDataSource, testDataSource, updateDataSource } from "../control/datasources.ts";
import type { waiveFinding } from "../control/findings.ts";
import {
	type actOnProject,
	type createProject,
	type exportObjects,
	type importObjects,
	ObjectSettings,
	type resolveTicket,
	type schemaReport,
} from "../control/projects.ts";
import type { ProjectStatus, projectStatus, StreamStatus, TableProgress } from "../control/status.ts";
import type { confirmWritesStopped, requestSwitchover } from "../control/switchover.ts";
import type {
	correctionSql,
	pauseVerification,
	requestCorrection,
	verificationDifferences,
	verificationResults,
} from "../control/verification.ts";
import type { differenceRows } from "../control/verification-rows.ts";
import { type DataSource, Endpoint, Engine, KafkaEndpoint, RocketMqEndpoint } from "../model/datasource.ts";
import type { startVerification } from "../scheduler/verification.ts";
import type { TableResult, VerificationResults } from "../scheduler/verification-results.ts";
import type { ReportEntry } from "../schema/report.ts";
import type { getDataSource, listDataSources } from "../state/datasources.ts";
import type { getProject, listProjects } from "../state/projects.ts";
import type { RowDiff } from "../verify/diff.ts";
import type { roleMatrix, whoAmI } from "./access.ts";
import { ALERT_RESPONSES, AlertView } from "./responses-alerts.ts";
import { Count, exactly, Rate, type Returns, RunNumber, Time } from "./responses-base.ts";
import { EVENT_RESPONSES, EventView } from "./responses-events.ts";
import { OPERATIONS_RESPONSES } from "./responses-operations.ts";
import {
	ProjectView,
	SourcePositionView,
	StepView,
	SwitchoverView,
	TicketView,
	VerificationRunView,
} from "./responses-project.ts";

/*
 * What each route answers, as zod schemas: docs/openapi.json documents them (openapi.ts) and the
 * tests validate every answer of the e2e runs against that document. Each schema is tied to the
 * type its handler returns by `exactly` (responses-base.ts), so neither can change without the
 * other. The project's own schemas are in responses-project.ts, the timeline's, the alert
 * centre's and the operations' in responses-events.ts, responses-alerts.ts and
 * responses-operations.ts.
 */

// ---------------------------------------------------------------------------------------------
// Data sources: as stored and shown, never with the password (no schema here has one, and none
// allows a field it does not name).

const Described = {
	id: z.string(),
	name: z.string(),
	description: z.string().optional(),
	createdAt: Time,
	updatedAt: Time,
};

const DatabaseView = Endpoint.extend({ ...Described, engine: Engine });
const KafkaView = KafkaEndpoint.extend({ ...Described, engine: z.literal("kafka") });
const RocketMqView = RocketMqEndpoint.extend({ ...Described, engine: z.literal("rocketmq") });

const DataSourceView = exactly<DataSource>()(z.discriminatedUnion("engine", [DatabaseView, KafkaView, RocketMqView]));

/** A data source just added, with the version its connection test found. */
const withVersion = { serverVersion: z.string() };
const AddedDataSourceView = exactly<Returns<typeof addDataSource>>()(
	z.discriminatedUnion("engine", [
		DatabaseView.extend(withVersion),
		KafkaView.extend(withVersion),
		RocketMqView.extend(withVersion),
	]),
);

// ---------------------------------------------------------------------------------------------
// Verification results.

const TableResultView = exactly<TableResult>()(
	z.object({
		table: z.string(),
		destination: z.string(),
		rowsChecked: Count,
		missing: Count,
		extra: Count,
		different: Count,
		schema: z.array(z.string()),
		columns: z.array(z.string()),
		chunksDone: Count,
		chunksTotal: Count,
		chunksRechecking: Count,
		truncated: z.boolean(),
	}),
);

const VerificationResultsView = exactly<VerificationResults>()(
	z.object({ run: VerificationRunView, tables: z.array(TableResultView) }),
);

const RowDiffView = exactly<RowDiff>()(
	z.object({
		kind: z.enum(["missing", "extra", "different"]),
		key: z.array(z.string()).nullable(),
		columns: z.array(z.string()).optional(),
		rowHash: z.string().optional(),
		count: z.number().int().positive().optional(),
	}),
);

const Values = z.array(z.string().nullable()).nullable();
const DifferenceRowsView = exactly<Returns<typeof differenceRows>>()(
	z.object({
		run: RunNumber,
		table: z.string(),
		destination: z.string(),
		columns: z.array(z.string()),
		key: z.array(z.string()),
		rows: z.array(RowDiffView.extend({ source: Values, destination: Values })),
		more: z.boolean(),
	}),
);

const DifferencesView = exactly<Returns<typeof verificationDifferences>>()(
	z.object({
		run: RunNumber,
		tables: z.array(
			z.object({ table: z.string(), destination: z.string(), truncated: z.boolean(), rows: z.array(RowDiffView) }),
		),
	}),
);

// ---------------------------------------------------------------------------------------------
// The status.

const StreamStatusView = exactly<StreamStatus>()(
	z.object({
		phase: z.enum(["starting", "safe", "exact", "snapshot", "not started"]),
		state: z.enum(["starting", "running", "restarting", "dead", "stopped"]),
		stateReason: z.string().optional(),
		latencySeconds: Rate.optional(),
		rowsPerSecond: Rate,
		bytesPerSecond: Rate,
		transactions: Count,
		rows: Count,
		inconsistencies: Count,
		position: SourcePositionView.optional(),
		heartbeatAgeSeconds: Count.optional(),
		lastError: z.string().optional(),
	}),
);

const TableProgressView = exactly<TableProgress>()(
	z.object({
		source: z.string(),
		destination: z.string(),
		rowsCopied: Count,
		bytesCopied: Count,
		rowsEstimate: Count,
		chunksDone: Count,
		chunksTotal: Count,
		planned: z.boolean(),
		errors: z.array(z.string()),
		waiting: z.array(z.string()),
	}),
);

const ProjectStatusView = exactly<ProjectStatus>()(
	z.object({
		id: z.string(),
		name: z.string(),
		state: ProjectView.shape.state,
		steps: z.array(StepView),
		ticket: TicketView.optional(),
		incremental: StreamStatusView.optional(),
		reverse: StreamStatusView.optional(),
		verification: VerificationResultsView.optional(),
		switchover: SwitchoverView.optional(),
		full: z
			.object({
				rowsCopied: Count,
				bytesCopied: Count,
				rowsPerSecond: Count,
				bytesPerSecond: Count,
				percent: z.number().int().min(0).max(100),
				rowsEstimate: Count,
				tables: z.array(TableProgressView),
				tablesFrom: Count,
				tablesTotal: Count,
				tablesDone: Count,
			})
			.optional(),
	}),
);

// ---------------------------------------------------------------------------------------------
// The schema report.

const ReportEntryView = exactly<ReportEntry>()(
	z.object({
		kind: z.enum([
			"database",
			"table",
			"index",
			"foreignKey",
			"check",
			"view",
			"procedure",
			"function",
			"event",
			"package",
			"trigger",
		]),
		object: z.string(),
		source: z.string(),
		status: z.enum(["converted", "changed", "refused"]),
		changes: z.array(z.object({ what: z.string(), why: z.string() })),
		warnings: z.array(z.string()),
		reason: z.string().optional(),
	}),
);

/**
 * The shared schemas the document lists under components/schemas by these names; the answers
 * refer to them there.
 */
export const NAMED_SCHEMAS: Record<string, z.ZodType> = {
	Time,
	DataSource: DataSourceView,
	SourcePosition: SourcePositionView,
	Step: StepView,
	Ticket: TicketView,
	VerificationRun: VerificationRunView,
	SwitchoverState: SwitchoverView,
	Project: ProjectView,
	StreamStatus: StreamStatusView,
	ProjectStatus: ProjectStatusView,
	VerificationResults: VerificationResultsView,
	ReportEntry: ReportEntryView,
	ProjectEvent: EventView,
	Alert: AlertView,
};

/**
 * The body of each route's successful answer, by operationId, each checked against the type of
 * the command its route calls; a route answering 204 has none (test/api/openapi.test.ts checks
 * that every other route has one here).
 */
export const RESPONSES: Record<string, z.ZodType> = {
	whoAmI: exactly<Returns<typeof whoAmI>>()(
		z.object({ name: z.string(), role: z.enum(["admin", "operator", "viewer"]) }),
	),
	listRoleAccess: exactly<Returns<typeof roleMatrix>>()(
		z.array(
			z.object({
				operationId: z.string(),
				method: z.enum(["GET", "POST", "PUT", "PATCH", "DELETE"]),
				path: z.string(),
				summary: z.string(),
				role: z.enum(["admin", "operator", "viewer"]),
			}),
		),
	),
	testConnection: exactly<Returns<typeof testDataSource>>()(z.object({ version: z.string() })),
	listDataSources: exactly<Returns<typeof listDataSources>>()(z.array(DataSourceView)),
	addDataSource: AddedDataSourceView,
	getDataSource: exactly<Returns<typeof getDataSource>>()(DataSourceView),
	updateDataSource: exactly<Returns<typeof updateDataSource>>()(DataSourceView),
	copyDataSource: exactly<Returns<typeof copyDataSource>>()(DataSourceView),
	listProjects: exactly<Returns<typeof listProjects>>()(z.array(ProjectView)),
	createProject: exactly<Returns<typeof createProject>>()(ProjectView),
	getProject: exactly<Returns<typeof getProject>>()(ProjectView),
	getProjectStatus: exactly<Returns<typeof projectStatus>>()(ProjectStatusView),
	actOnProject: exactly<Returns<typeof actOnProject>>()(ProjectView),
	resolveTicket: exactly<Returns<typeof resolveTicket>>()(ProjectView),
	waiveFinding: exactly<Returns<typeof waiveFinding>>()(ProjectView),
	getSchemaReport: exactly<Returns<typeof schemaReport>>()(z.array(ReportEntryView)),
	exportObjects: exactly<Returns<typeof exportObjects>>()(ObjectSettings),
	importObjects: exactly<Returns<typeof importObjects>>()(ProjectView),
	startVerification: exactly<Returns<typeof startVerification>>()(ProjectView),
	getVerification: exactly<Returns<typeof verificationResults>>()(VerificationResultsView),
	pauseVerification: exactly<Returns<typeof pauseVerification>>()(ProjectView),
	resumeVerification: exactly<Returns<typeof pauseVerification>>()(ProjectView),
	getVerificationDifferences: exactly<Returns<typeof verificationDifferences>>()(DifferencesView),
	getDifferenceRows: exactly<Returns<typeof differenceRows>>()(DifferenceRowsView),
	getCorrectionSql: exactly<Returns<typeof correctionSql>>()(z.object({ run: RunNumber, script: z.string() })),
	applyCorrection: exactly<Returns<typeof requestCorrection>>()(ProjectView),
	startSwitchover: exactly<Returns<typeof requestSwitchover>>()(ProjectView),
	confirmWritesStopped: exactly<Returns<typeof confirmWritesStopped>>()(ProjectView),
	...EVENT_RESPONSES,
	...ALERT_RESPONSES,
	...OPERATIONS_RESPONSES,
};
