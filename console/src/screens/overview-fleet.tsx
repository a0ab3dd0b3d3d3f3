import type { ProjectStatus } from "../../../shared/control/status.ts";
import type { MetricsHistory } from "../../../shared/metrics/series.ts";
import type { Project } from "../../../shared/model/project.ts";
import { seg, statusPath } from "../api.ts";
import { href } from "../router.ts";
import { StateBadge } from "../ui/badges.tsx";
import { TimeChart } from "../ui/chart.tsx";
import { duration, rate } from "../ui/format.ts";
import { useEach } from "../ui/resource.ts";

/** The overview asks about this many running projects at most, so a big fleet does not flood the API. */
export const FLEET_STATUS_LIMIT = 20;
/** Lines one chart can keep readable. */
const FLEET_CHART_LIMIT = 8;
const METRICS_POLL_MS = 15_000;
const COLOURS = ["#1849a9", "#067647", "#93370d", "#6941c6", "#c11574", "#0e7090", "#344054", "#b54708"];

/** A project's replication stream: forward replay, or a synchronization's stream to its broker. */
export const streamOf = (s: ProjectStatus | undefined) => s?.incremental;

/** The per-project latency lines and the fleet's summed rows/s, aligned on the metrics' times. */
function fleetSeries(histories: { name: string; h: MetricsHistory }[]) {
	const times = new Set<number>();
	const byProject = histories.map(({ name, h }) => {
		const pick = (metric: string) =>
			new Map(
				(h.series.find((s) => (s.group === "forward" || s.group === "sink") && s.metric === metric)?.points ?? []).map(
					(p) => [Math.floor(Date.parse(p.at) / 1000), p.value],
				),
			);
		const latency = pick("latencySeconds");
		const rows = pick("rowsPerSecond");
		for (const t of [...latency.keys(), ...rows.keys()]) times.add(t);
		return { name, latency, rows };
	});
	const x = [...times].sort((a, b) => a - b);
	const latency = byProject.map((p, i) => ({
		label: p.name,
		color: COLOURS[i % COLOURS.length] ?? "#344054",
		values: x.map((t) => p.latency.get(t) ?? null),
	}));
	const total = x.map((t) => {
		const known = byProject.map((p) => p.rows.get(t)).filter((v): v is number => v !== undefined);
		return known.length ? known.reduce((a, b) => a + b, 0) : null;
	});
	return { x, latency, rows: [{ label: "all running projects", color: "#1849a9", values: total }] };
}

/** Latency and rows/s of the running projects: now (a table) and over the last hour (charts). */
export function Fleet({
	running,
	statuses,
	threshold,
}: {
	running: Project[];
	statuses: Map<string, ProjectStatus>;
	threshold: number | undefined;
}) {
	const charted = running.slice(0, FLEET_CHART_LIMIT);
	const metrics = useEach<MetricsHistory>(
		charted.map((p) => `/projects/${seg(p.id)}/metrics`),
		METRICS_POLL_MS,
	);
	const histories = charted.flatMap((p) => {
		const h = metrics.get(`/projects/${seg(p.id)}/metrics`);
		return h ? [{ name: p.name, h }] : [];
	});
	const { x, latency, rows } = fleetSeries(histories);
	const statusOf = (p: Project) => statuses.get(statusPath(p.id));
	return (
		<>
			<div class="table-wrap">
				<table class="named-rows">
					<caption class="visually-hidden">Running projects: latency and throughput now</caption>
					<thead>
						<tr>
							<th scope="col">Running project</th>
							<th scope="col">Stream</th>
							<th scope="col" class="num">
								Latency
							</th>
							<th scope="col" class="num">
								Replay rows/s
							</th>
							<th scope="col" class="num">
								Copy rows/s
							</th>
						</tr>
					</thead>
					<tbody>
						{running.slice(0, FLEET_STATUS_LIMIT).map((p) => {
							const s = statusOf(p);
							const stream = streamOf(s);
							const over = threshold !== undefined && (stream?.latencySeconds ?? 0) > threshold;
							return (
								<tr key={p.id}>
									<th scope="row">
										<a href={href(`/projects/${p.id}`)}>{p.name}</a>
									</th>
									<td>{stream ? <StateBadge state={stream.state} /> : <span class="no">not replaying yet</span>}</td>
									<td class={`num ${over ? "bad-text" : ""}`}>
										{duration(stream?.latencySeconds)}
										{over && " (over threshold)"}
									</td>
									<td class="num">{stream ? rate(stream.rowsPerSecond) : "–"}</td>
									<td class="num">{s?.full ? rate(s.full.rowsPerSecond) : "–"}</td>
								</tr>
							);
						})}
					</tbody>
				</table>
			</div>
			{running.length > FLEET_STATUS_LIMIT && (
				<p class="hint">
					The first {FLEET_STATUS_LIMIT} of {running.length} running projects; the{" "}
					<a href={href("/projects?state=running")}>projects list</a> has them all.
				</p>
			)}
			{x.length < 2 ? (
				<p class="no">No metrics history yet: the charts fill in as the running projects report.</p>
			) : (
				<div class="grid fleet-charts">
					<TimeChart
						title="Replay latency, last hour"
						x={x}
						series={latency}
						format={(v) => duration(v)}
						threshold={threshold === undefined ? undefined : { value: threshold, label: "alert threshold" }}
					/>
					<TimeChart title="Replay rows/s, last hour" x={x} series={rows} format={(v) => rate(v, "")} />
				</div>
			)}
			{running.length > FLEET_CHART_LIMIT && (
				<p class="hint">The charts show the first {FLEET_CHART_LIMIT} running projects.</p>
			)}
		</>
	);
}
