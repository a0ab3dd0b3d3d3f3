import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface ChartSeries {
	label: string;
	/** One value per x; null where nothing was measured (the line breaks there). */
	values: (number | null)[];
	color: string;
}

interface TimeChartProps {
	title: string;
	/** Unix seconds. */
	x: number[];
	series: ChartSeries[];
	/** Formats a value on the y axis and in the legend. */
	format: (v: number) => string;
	/** A dashed line, as latency's alert threshold. */
	threshold?: { value: number; label: string };
	height?: number;
}

/**
 * A time series chart (uPlot: small, fast, no animation). Its label says the newest values, so
 * a screen reader gets what the picture shows.
 */
export function TimeChart({ title, x, series, format, threshold, height = 180 }: TimeChartProps) {
	const box = useRef<HTMLDivElement>(null);
	const plot = useRef<uPlot | null>(null);
	const all = threshold
		? [...series, { label: threshold.label, values: x.map(() => threshold.value), color: "#b42318", dash: true }]
		: series;
	const data = [x, ...all.map((s) => s.values)] as uPlot.AlignedData;
	const shape = all.map((s) => s.label).join("|");
	const empty = x.length === 0;

	useEffect(() => {
		const el = box.current;
		if (!el) return;
		const opts: uPlot.Options = {
			width: Math.max(el.clientWidth, 200),
			height,
			legend: { show: true },
			cursor: { drag: { x: false, y: false } },
			scales: { x: { time: true } },
			axes: [
				{ stroke: "#475467", grid: { stroke: "#eaecf0" } },
				{
					stroke: "#475467",
					grid: { stroke: "#eaecf0" },
					size: 70,
					values: (_u, vals) => vals.map((v) => (v == null ? "" : format(v))),
				},
			],
			series: [
				{},
				...all.map((s) => ({
					label: s.label,
					stroke: s.color,
					width: 2,
					dash: "dash" in s ? [6, 4] : undefined,
					value: (_u: uPlot, v: number | null) => (v == null ? "–" : format(v)),
					spanGaps: false,
				})),
			],
		};
		plot.current = new uPlot(opts, data, el);
		const resize = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(el.clientWidth, 200), height }));
		resize.observe(el);
		return () => {
			resize.disconnect();
			plot.current?.destroy();
			plot.current = null;
		};
		// rebuilt only when the series change (or the first points come), not on every new point
	}, [shape, height, empty]);

	useEffect(() => {
		plot.current?.setData(data);
	});

	const newest = series
		.map((s) => {
			const v = [...s.values].reverse().find((n) => n != null);
			return `${s.label} ${v == null ? "no data" : format(v)}`;
		})
		.join(", ");
	return (
		<figure class="chart">
			<figcaption>{title}</figcaption>
			{empty ? (
				<p class="chart-empty">No points yet in this time range.</p>
			) : (
				<div ref={box} role="img" aria-label={`${title}: newest ${newest}`} />
			)}
		</figure>
	);
}
