import { describe, expect, it } from "vitest";
import { eta, remainingRows, tableDone, tablePercent, windowRates } from "../../console/src/screens/project/eta.ts";
import { chartData } from "../../console/src/screens/project/series.ts";
import type { MetricsHistory } from "../../shared/metrics/series.ts";

const table = (over: Partial<Parameters<typeof remainingRows>[0]>) => ({
	rowsCopied: 0,
	rowsEstimate: 1000,
	chunksDone: 0,
	chunksTotal: 10,
	planned: true,
	...over,
});

describe("copy rates and ETA", () => {
	it("measures rates over windows, so chunk bursts between polls even out", () => {
		// 3 s polls; a 1000-row chunk lands every other poll: 0 or 1000 rows per poll
		const samples = Array.from({ length: 13 }, (_, i) => ({ at: i * 3000, rows: Math.floor(i / 2) * 1000 }));
		const rates = windowRates(samples, 12_000);
		expect(rates.length).toBe(3);
		for (const r of rates) expect(r).toBeGreaterThan(100);
		for (const r of rates) expect(r).toBeLessThan(250);
		expect(windowRates(samples.slice(0, 1), 12_000)).toEqual([]);
	});

	it("gives a range from the rate's spread, and no upper bound when the rate is too unsteady", () => {
		const steady = eta(1000, [100, 100, 100]);
		expect(steady).toEqual({ kind: "range", likely: 10, soonest: 10, latest: 10 });
		const varied = eta(1200, [50, 150]);
		expect(varied.kind).toBe("range");
		if (varied.kind !== "range") return;
		expect(varied.likely).toBe(12);
		expect(varied.soonest).toBe(1200 / 150);
		expect(varied.latest).toBe(1200 / 50);
		const wild = eta(1000, [0, 0, 300]);
		expect(wild.kind === "range" && wild.latest).toBe(undefined);
	});

	it("says why there is no ETA instead of guessing", () => {
		expect(eta(undefined, [10, 10])).toEqual({ kind: "unknown", why: "estimate unknown" });
		expect(eta(500, [10])).toEqual({ kind: "unknown", why: "measuring the rate" });
		expect(eta(500, [0, 0])).toEqual({ kind: "unknown", why: "no rows copied lately" });
		expect(eta(0, [])).toEqual({ kind: "done" });
	});

	it("flips a table to done as soon as its chunks are, whatever the estimate said", () => {
		const t = table({ rowsCopied: 700, rowsEstimate: 1000, chunksDone: 10, chunksTotal: 10 });
		expect(tableDone(t)).toBe(true);
		expect(remainingRows(t)).toBe(0);
		expect(tablePercent(t)).toBe(100);
		// an estimate below the truth: the chunks left say how much remains
		const over = table({ rowsCopied: 1200, rowsEstimate: 1000, chunksDone: 6, chunksTotal: 8 });
		expect(remainingRows(over)).toBe(400);
		expect(tablePercent(over)).toBe(75);
		// an estimate far above the truth (1M said, 100k real, 9 of 10 chunks done): the chunks are believed
		const under = table({ rowsCopied: 90_000, rowsEstimate: 1_000_000, chunksDone: 9, chunksTotal: 10 });
		expect(tablePercent(under)).toBe(90);
		expect(remainingRows(under)).toBe(10_000);
		// before any chunk is done, the estimate is all there is
		expect(tablePercent(table({ rowsCopied: 0, rowsEstimate: 1000, chunksDone: 0, chunksTotal: 10 }))).toBe(0);
		// no estimate (TABLE_ROWS 0): unknown until a chunk is done, then from the chunks
		expect(remainingRows(table({ rowsEstimate: 0, chunksDone: 0 }))).toBe(undefined);
		expect(remainingRows(table({ rowsEstimate: 0, rowsCopied: 300, chunksDone: 3 }))).toBe(700);
		expect(tablePercent(table({ rowsEstimate: 0, planned: false, chunksTotal: 0 }))).toBe(undefined);
	});
});

const history = (stepSeconds: number, series: [string, [number, number][]][]): MetricsHistory => ({
	projectId: "pr-1",
	from: "2026-12-06T10:00:00.000Z",
	to: "2026-12-06T11:00:00.000Z",
	stepSeconds,
	source: "local",
	series: series.map(([key, points]) => {
		const [group, metric] = key.split(".") as [MetricsHistory["series"][number]["group"], string];
		return {
			group,
			metric,
			unit: "Count/Second",
			aggregation: "avg",
			points: points.map(([s, value]) => ({ at: new Date(s * 1000).toISOString(), value })),
		};
	}),
});

describe("metrics series as chart data", () => {
	it("aligns series on one time axis with nulls where one has no point", () => {
		const h = history(10, [
			[
				"forward.latencySeconds",
				[
					[100, 1],
					[110, 2],
					[120, 3],
				],
			],
			[
				"forward.rowsPerSecond",
				[
					[110, 50],
					[120, 60],
				],
			],
		]);
		expect(chartData(h, ["forward.latencySeconds", "forward.rowsPerSecond"])).toEqual({
			x: [100, 110, 120],
			values: [
				[1, 2, 3],
				[null, 50, 60],
			],
		});
	});

	it("breaks the line over a pause longer than two steps", () => {
		const h = history(10, [
			[
				"copy.rowsPerSecond",
				[
					[100, 5],
					[110, 6],
					[200, 7],
				],
			],
		]);
		expect(chartData(h, ["copy.rowsPerSecond"])).toEqual({ x: [100, 110, 120, 200], values: [[5, 6, null, 7]] });
	});

	it("gives a lone point a step either side, so the time axis has a span", () => {
		const h = history(10, [["forward.latencySeconds", [[100, 2]]]]);
		expect(chartData(h, ["forward.latencySeconds"])).toEqual({ x: [90, 100, 110], values: [[null, 2, null]] });
	});

	it("answers empty series for a missing history or a series it lacks", () => {
		expect(chartData(undefined, ["a.b"])).toEqual({ x: [], values: [[]] });
		expect(chartData(history(10, []), ["sink.rowsPerSecond"])).toEqual({ x: [], values: [[]] });
	});
});
