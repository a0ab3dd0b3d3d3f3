import { z } from "zod";
import type { Context } from "../context.ts";
import { invalid } from "../errors.ts";
import { type MetricSample, type MetricStream, type MetricsHistory, metricKey } from "../metrics/series.ts";
import type { Project } from "../model/project.ts";
import { getProject } from "../state/projects.ts";
import type { ProjectStatus, StreamStatus } from "./status.ts";

/** GET /projects/{id}/metrics?from&to&step: ISO times (default: the last hour until now) and seconds per point. */
export const MetricsQuery = z
	.object({
		from: z.iso.datetime({ offset: true }).optional(),
		to: z.iso.datetime({ offset: true }).optional(),
		step: z.coerce.number().int().min(1).max(86_400).optional(),
	})
	.strict();
export type MetricsQuery = z.infer<typeof MetricsQuery>;

/** Most points one series answers: a finer step asked for a long range is coarsened to it. */
const MAX_POINTS = 1440;
const MAX_RANGE_MS = 93 * 86_400_000;

export async function projectMetrics(
	ctx: Context,
	id: string,
	query: Record<string, unknown>,
): Promise<MetricsHistory> {
	const parsed = MetricsQuery.safeParse(query);
	if (!parsed.success) {
		throw invalid(
			"INVALID_QUERY",
			`the query is invalid: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
		);
	}
	await getProject(ctx, id);
	const to = parsed.data.to ? Date.parse(parsed.data.to) : Date.now();
	const from = parsed.data.from ? Date.parse(parsed.data.from) : to - 3600_000;
	if (from >= to) throw invalid("INVALID_QUERY", "from must be before to");
	if (to - from > MAX_RANGE_MS) throw invalid("INVALID_QUERY", "the range is longer than 93 days: ask for less");
	const asked = parsed.data.step ?? 0;
	const range = { from, to, stepSeconds: Math.max(asked, Math.ceil((to - from) / 1000 / MAX_POINTS)) };
	const stepSeconds = ctx.metrics.stepFor(range);
	const series = await ctx.metrics.read(id, { ...range, stepSeconds });
	return {
		projectId: id,
		from: new Date(from).toISOString(),
		to: new Date(to).toISOString(),
		stepSeconds,
		source: ctx.metrics.source,
		series,
	};
}

function streamValues(group: MetricStream, s: StreamStatus | undefined): Record<string, number> {
	if (!s) return {};
	const values: Record<string, number> = {
		[metricKey({ group, metric: "rowsPerSecond" })]: s.rowsPerSecond,
		[metricKey({ group, metric: "bytesPerSecond" })]: s.bytesPerSecond,
	};
	if (s.latencySeconds !== undefined) values[metricKey({ group, metric: "latencySeconds" })] = s.latencySeconds;
	return values;
}

/**
 * What the project's status shows now, as one sample of its metrics history; a verification run
 * under way gives its progress apart (scheduler/verification.ts `runProgress`).
 */
export function sampleOf(
	project: Project,
	status: ProjectStatus,
	at: number,
	verifying?: { percent: number; rowsChecked: number },
): MetricSample {
	const values: Record<string, number> = {
		...streamValues(project.sync ? "sink" : "forward", status.incremental),
		...streamValues("reverse", status.reverse),
	};
	if (status.full) {
		values["copy.percent"] = status.full.percent;
		values["copy.rowsCopied"] = status.full.rowsCopied;
		values["copy.rowsPerSecond"] = status.full.rowsPerSecond;
		values["copy.bytesPerSecond"] = status.full.bytesPerSecond;
	}
	if (verifying) {
		values["verification.percent"] = verifying.percent;
		values["verification.rowsChecked"] = verifying.rowsChecked;
	} else {
		const run = status.verification?.run;
		if (run?.state === "done" && run.totals) {
			values["verification.percent"] = 100;
			values["verification.rowsChecked"] = run.totals.rowsChecked;
		}
	}
	return { at, values };
}
