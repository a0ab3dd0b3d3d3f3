import { z } from "zod";
import type { cloneProject, dryRunPrecheck } from "../control/before-start.ts";
import type { dataSourceObjects } from "../control/datasource-objects.ts";
import type { components, openTickets, tableStatistics } from "../control/lists.ts";
import type { projectMetrics } from "../control/metrics.ts";
import { type changeParameters, ParametersPatch, type projectParameters } from "../control/parameters.ts";
import { Count, exactly, Rate, type Returns, Time } from "./responses-base.ts";
import { FindingView, ProjectView, SourcePositionView, TicketView } from "./responses-project.ts";

/** The operations' answers (routes-operations.ts): metrics, the console's lists, dry run and clone, parameters. */

const MetricsView = exactly<Returns<typeof projectMetrics>>()(
	z.object({
		projectId: z.string(),
		from: Time,
		to: Time,
		stepSeconds: z.number().int().positive(),
		source: z.enum(["local", "cloudwatch"]),
		series: z.array(
			z.object({
				group: z.enum(["forward", "reverse", "sink", "copy", "verification"]),
				metric: z.string(),
				unit: z.enum(["Seconds", "Count/Second", "Bytes/Second", "Percent", "Count"]),
				aggregation: z.enum(["avg", "max", "last"]),
				points: z.array(z.object({ at: Time, value: z.number() })),
			}),
		),
	}),
);

const OpenTicketsView = exactly<Returns<typeof openTickets>>()(
	z.array(z.object({ projectId: z.string(), projectName: z.string(), ticket: TicketView })),
);

const ComponentsView = exactly<Returns<typeof components>>()(
	z.object({
		replicationTasks: z.array(
			z.object({
				replicationId: z.string(),
				projectId: z.string(),
				projectName: z.string(),
				stream: z.enum(["forward", "reverse", "sink"]),
				state: z.enum(["starting", "running", "restarting", "dead", "stopped"]),
				stateReason: z.string().optional(),
				heartbeatAgeSeconds: Count.optional(),
				latencySeconds: Rate.optional(),
				session: z.enum(["starting", "running", "retrying", "ended"]).optional(),
				phase: z.enum(["starting", "safe", "exact"]),
				position: SourcePositionView.optional(),
				owner: z.string(),
				tuning: z.object({ parallelApply: Count, replayBatchSize: Count }).optional(),
				lastError: z.string().optional(),
			}),
		),
		queues: z.array(
			z.object({ name: z.enum(["copy", "verify"]), visible: Count, inFlight: Count, deadLetters: Count }),
		),
	}),
);

const TableStatisticsView = exactly<Returns<typeof tableStatistics>>()(
	z.array(
		z.object({
			source: z.string(),
			destination: z.string(),
			copy: z
				.object({
					rows: Count,
					bytes: Count,
					rowsEstimate: Count,
					chunksDone: Count,
					chunksTotal: Count,
					errors: Count,
				})
				.optional(),
			replay: z.object({ inserts: Count, updates: Count, deletes: Count, ddl: Count }).optional(),
			verification: z
				.object({
					rowsChecked: Count,
					missing: Count,
					extra: Count,
					different: Count,
					chunksDone: Count,
					chunksTotal: Count,
				})
				.optional(),
		}),
	),
);

const PrecheckView = exactly<Returns<typeof dryRunPrecheck>>()(
	z.object({ projectId: z.string(), findings: z.array(FindingView), passes: z.boolean() }),
);

const ParameterName = ParametersPatch.keyof();
const ParametersView = exactly<Returns<typeof projectParameters>>()(
	z.object({
		projectId: z.string(),
		state: ProjectView.shape.state,
		/** null where unset: no throttle, or the default. */
		parameters: z.record(ParameterName, z.number().nullable()),
		takesEffect: z.record(ParameterName, z.string()),
	}),
);

const DataSourceObjectsView = exactly<Returns<typeof dataSourceObjects>>()(
	z.object({
		dataSourceId: z.string(),
		databases: z.array(
			z.object({
				name: z.string(),
				tables: z.array(
					z.object({
						name: z.string(),
						kind: z.enum(["table", "view"]),
						rowsEstimate: Count,
						hasKey: z.boolean(),
						columns: z.array(z.string()),
					}),
				),
			}),
		),
	}),
);

export const OPERATIONS_RESPONSES: Record<string, z.ZodType> = {
	listDataSourceObjects: DataSourceObjectsView,
	getProjectMetrics: MetricsView,
	listOpenTickets: OpenTicketsView,
	listComponents: ComponentsView,
	getTableStatistics: TableStatisticsView,
	dryRunPrecheck: PrecheckView,
	cloneProject: exactly<Returns<typeof cloneProject>>()(ProjectView),
	getProjectParameters: ParametersView,
	changeProjectParameters: exactly<Returns<typeof changeParameters>>()(ParametersView),
};
