import type { MetricSeries, MetricsHistory } from "../../../../shared/metrics/series.ts";

/** What a TimeChart draws: x in unix seconds, one value list per series, null where nothing was measured. */
export interface ChartData {
	x: number[];
	values: (number | null)[][];
}

/**
 * The series named by `keys` (`group.metric`, e.g. `forward.latencySeconds`) on one time axis:
 * every time any of them has a point, null where one has none, and a null row wherever no series
 * has a point for more than two steps, so the lines break over a pause instead of joining its ends.
 * A lone point gets an empty step either side: a time axis needs a span.
 */
export function chartData(history: MetricsHistory | undefined, keys: readonly string[]): ChartData {
	if (!history) return { x: [], values: keys.map(() => []) };
	const wanted = keys.map((k) => history.series.find((s) => `${s.group}.${s.metric}` === k));
	const byTime = wanted.map((s) => new Map((s?.points ?? []).map((p) => [toSeconds(p.at), p.value])));
	const times = [...new Set(byTime.flatMap((m) => [...m.keys()]))].sort((a, b) => a - b);
	const x: number[] = [];
	const values: (number | null)[][] = keys.map(() => []);
	const gap = history.stepSeconds * 2;
	times.forEach((t, i) => {
		const before = times[i - 1];
		if (before !== undefined && t - before > gap) {
			x.push(before + history.stepSeconds);
			for (const v of values) v.push(null);
		}
		x.push(t);
		byTime.forEach((m, j) => {
			values[j]?.push(m.get(t) ?? null);
		});
	});
	if (x.length === 1) {
		// one point alone would stretch the time axis over years: a step of nothing either side
		const only = x[0] as number;
		return {
			x: [only - history.stepSeconds, only, only + history.stepSeconds],
			values: values.map((v) => [null, ...v, null]),
		};
	}
	return { x, values };
}

const toSeconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

/** Whether a history has any point of the series `keys`. */
export function hasPoints(history: MetricsHistory | undefined, keys: readonly string[]): boolean {
	return !!history?.series.some((s: MetricSeries) => keys.includes(`${s.group}.${s.metric}`) && s.points.length > 0);
}
