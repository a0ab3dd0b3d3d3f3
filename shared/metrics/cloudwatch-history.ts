import { CloudWatchClient, GetMetricDataCommand, type MetricDataQuery } from "@aws-sdk/client-cloudwatch";
import { METRICS, type MetricDefinition, type MetricSeries, type MetricsRange, type MetricsReader } from "./series.ts";

/*
 * The metrics history in AWS: what the replication tasks and chunk workers publish through
 * shared/observability.ts (Powertools' embedded metric format, namespace Ferry, dimensions
 * service and project, and stream for replication), read back with GetMetricData. What has no
 * published metric (copied rows, verified rows as totals) has no series here.
 */

/** Names the publishers use (replication/status.ts, scheduler/chunks/copy.ts and progress.ts). */
export const PUBLISHED = {
	latency: "ReplicationLatencySeconds",
	syncLatency: "SyncLatencySeconds",
	replicatedRows: "ReplicatedRows",
	replicatedBytes: "ReplicatedBytes",
	rowsCopied: "RowsCopied",
	bytesCopied: "BytesCopied",
	copyProgress: "CopyProgressPercent",
	verificationProgress: "VerificationProgressPercent",
} as const;

/** How one of our series is read: a statistic of a published metric, or a per-second rate of its sum. */
type Source = { name: string; stat: "Maximum" | "Average" } | { name: string; rateOfSum: true };

function sourceOf(d: MetricDefinition): Source | undefined {
	if (d.group === "forward" || d.group === "reverse" || d.group === "sink") {
		if (d.metric === "latencySeconds") {
			return { name: d.group === "sink" ? PUBLISHED.syncLatency : PUBLISHED.latency, stat: "Maximum" };
		}
		// published every second as that second's rate
		if (d.metric === "rowsPerSecond") return { name: PUBLISHED.replicatedRows, stat: "Average" };
		if (d.metric === "bytesPerSecond") return { name: PUBLISHED.replicatedBytes, stat: "Average" };
	}
	// the share of chunks done (the local history has the status's share of rows)
	if (d.group === "copy" && d.metric === "percent") return { name: PUBLISHED.copyProgress, stat: "Maximum" };
	if (d.group === "verification" && d.metric === "percent") {
		return { name: PUBLISHED.verificationProgress, stat: "Maximum" };
	}
	if (d.group === "copy" && d.metric === "rowsPerSecond") return { name: PUBLISHED.rowsCopied, rateOfSum: true };
	if (d.group === "copy" && d.metric === "bytesPerSecond") return { name: PUBLISHED.bytesCopied, rateOfSum: true };
	return undefined;
}

/** GetMetricData answers at most 500 queries' points per page; a page token continues. */
const MAX_PAGES = 20;

export class CloudWatchMetricsHistory implements MetricsReader {
	readonly source = "cloudwatch" as const;

	constructor(
		private readonly client: CloudWatchClient,
		private readonly namespace: string,
		private readonly service: string,
	) {}

	/** Standard-resolution metrics have one-minute periods at best; CloudWatch keeps coarser ones for older data. */
	stepFor(range: MetricsRange): number {
		const ageDays = (Date.now() - range.from) / 86_400_000;
		const floor = ageDays > 63 ? 3600 : ageDays > 15 ? 300 : 60;
		return Math.ceil(Math.max(range.stepSeconds, floor) / floor) * floor;
	}

	async read(projectId: string, range: MetricsRange): Promise<MetricSeries[]> {
		const period = this.stepFor(range);
		const queries: MetricDataQuery[] = [];
		const wanted = new Map<string, MetricDefinition>();
		for (const [i, d] of METRICS.entries()) {
			const source = sourceOf(d);
			if (!source) continue;
			const id = `m${i}`;
			wanted.set(id, d);
			const dimensions = [
				{ Name: "service", Value: this.service },
				{ Name: "project", Value: projectId },
				...(d.group === "copy" || d.group === "verification" ? [] : [{ Name: "stream", Value: d.group }]),
			];
			const stat = {
				Metric: { Namespace: this.namespace, MetricName: source.name, Dimensions: dimensions },
				Period: period,
				Stat: "rateOfSum" in source ? "Sum" : source.stat,
			};
			if ("rateOfSum" in source) {
				queries.push({ Id: `s${i}`, MetricStat: stat, ReturnData: false });
				queries.push({ Id: id, Expression: `s${i} / PERIOD(s${i})`, Label: `${d.group}.${d.metric}` });
			} else {
				queries.push({ Id: id, MetricStat: stat, Label: `${d.group}.${d.metric}` });
			}
		}
		const points = new Map<string, Map<number, number>>();
		let token: string | undefined;
		for (let page = 0; page < MAX_PAGES; page++) {
			const out = await this.client.send(
				new GetMetricDataCommand({
					MetricDataQueries: queries,
					StartTime: new Date(range.from),
					EndTime: new Date(range.to),
					ScanBy: "TimestampAscending",
					NextToken: token,
				}),
			);
			for (const r of out.MetricDataResults ?? []) {
				if (!r.Id || !wanted.has(r.Id)) continue;
				const series = points.get(r.Id) ?? new Map<number, number>();
				points.set(r.Id, series);
				for (const [j, t] of (r.Timestamps ?? []).entries()) {
					const v = r.Values?.[j];
					if (v !== undefined && Number.isFinite(v)) series.set(t.getTime(), v);
				}
			}
			token = out.NextToken;
			if (!token) break;
		}
		return [...wanted.entries()]
			.map(([id, d]) => ({
				...d,
				points: [...(points.get(id) ?? new Map<number, number>()).entries()]
					.sort(([a], [b]) => a - b)
					.map(([at, value]) => ({ at: new Date(at).toISOString(), value })),
			}))
			.filter((s) => s.points.length > 0);
	}
}

export function cloudWatchHistoryFromEnv(region: string): CloudWatchMetricsHistory {
	const endpoint = process.env.FERRY_CLOUDWATCH_ENDPOINT;
	const client = new CloudWatchClient({
		region,
		...(endpoint ? { endpoint, credentials: { accessKeyId: "local", secretAccessKey: "local" } } : {}),
	});
	return new CloudWatchMetricsHistory(
		client,
		process.env.POWERTOOLS_METRICS_NAMESPACE ?? "Ferry",
		process.env.POWERTOOLS_SERVICE_NAME ?? "ferry",
	);
}
