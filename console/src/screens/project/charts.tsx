import type { MetricsHistory } from "../../../../shared/metrics/series.ts";
import { seg } from "../../api.ts";
import { TimeChart } from "../../ui/chart.tsx";
import { bytes, duration, rate } from "../../ui/format.ts";
import { LIVE_MS, type Resource, useResource } from "../../ui/resource.ts";
import { chartData } from "./series.ts";

/** The project's metrics history of the last hour, polled while the tab is open. */
export const useMetrics = (projectId: string): Resource<MetricsHistory> =>
	useResource<MetricsHistory>(`/projects/${seg(projectId)}/metrics`, LIVE_MS);

const ROWS = "#1849a9";
const BYTES = "#067647";
const LATENCY = "#6941c6";

/** Rows/s and bytes/s of one metrics group (copy, forward, reverse, sink), side by side. */
export function ThroughputCharts({ history, group, what }: { history?: MetricsHistory; group: string; what: string }) {
	const rows = chartData(history, [`${group}.rowsPerSecond`]);
	const size = chartData(history, [`${group}.bytesPerSecond`]);
	return (
		<div class="grid chart-grid">
			<TimeChart
				title={`${what}: rows per second`}
				x={rows.x}
				series={[{ label: "rows/s", values: rows.values[0] ?? [], color: ROWS }]}
				format={(v) => rate(v, "").trim()}
			/>
			<TimeChart
				title={`${what}: bytes per second`}
				x={size.x}
				series={[{ label: "bytes/s", values: size.values[0] ?? [], color: BYTES }]}
				format={(v) => bytes(v)}
			/>
		</div>
	);
}

/** Replay latency with the alert's threshold as a dashed line. */
export function LatencyChart({
	history,
	group,
	threshold,
}: {
	history?: MetricsHistory;
	group: string;
	threshold?: number;
}) {
	const d = chartData(history, [`${group}.latencySeconds`]);
	return (
		<TimeChart
			title="Latency"
			x={d.x}
			series={[{ label: "latency", values: d.values[0] ?? [], color: LATENCY }]}
			format={(v) => duration(v)}
			threshold={threshold === undefined ? undefined : { value: threshold, label: `alert at ${duration(threshold)}` }}
		/>
	);
}
