/**
 * Copy progress as a person can trust it: rates measured over windows of time, and an ETA that
 * is a range (from the rate's spread) or says plainly why there is none.
 */

/** Rows copied by a moment (epoch ms). */
export interface ProgressSample {
	at: number;
	rows: number;
}

export type Eta =
	| { kind: "done" }
	/** No ETA, and why, in words the page shows. */
	| { kind: "unknown"; why: string }
	/** `likely` seconds at the mean rate; `soonest` at the mean plus one standard deviation; `latest` at the mean minus one (absent when that rate is 0 or less). */
	| { kind: "range"; likely: number; soonest: number; latest?: number };

/**
 * Rows per second over consecutive windows of `windowMs`, newest last, from samples oldest first.
 * Copies finish chunk by chunk, so a rate between two polls is mostly 0 or a burst; over a window
 * of several polls it is what the copy does.
 */
export function windowRates(samples: readonly ProgressSample[], windowMs: number, maxWindows = 8): number[] {
	const rates: number[] = [];
	let end = samples.length - 1;
	while (end > 0 && rates.length < maxWindows) {
		const last = samples[end] as ProgressSample;
		let start = end - 1;
		while (start > 0 && last.at - (samples[start] as ProgressSample).at < windowMs) start--;
		const first = samples[start] as ProgressSample;
		const seconds = (last.at - first.at) / 1000;
		if (seconds < windowMs / 1000 / 2) break;
		rates.unshift(Math.max(0, (last.rows - first.rows) / seconds));
		end = start;
	}
	return rates;
}

export function meanAndDeviation(values: readonly number[]): { mean: number; deviation: number } {
	const mean = values.reduce((a, b) => a + b, 0) / values.length;
	const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length;
	return { mean, deviation: Math.sqrt(variance) };
}

/**
 * The time left for `remaining` rows at the measured rates. Two windows at least: one rate says
 * nothing of how steady it is.
 */
export function eta(remaining: number | undefined, rates: readonly number[]): Eta {
	if (remaining === undefined) return { kind: "unknown", why: "estimate unknown" };
	if (remaining <= 0) return { kind: "done" };
	if (rates.length < 2) return { kind: "unknown", why: "measuring the rate" };
	const { mean, deviation } = meanAndDeviation(rates);
	if (mean <= 0) return { kind: "unknown", why: "no rows copied lately" };
	const slow = mean - deviation;
	return {
		kind: "range",
		likely: remaining / mean,
		soonest: remaining / (mean + deviation),
		...(slow > 0 ? { latest: remaining / slow } : {}),
	};
}

/** A table's progress as the status gives it. */
export interface TableCounts {
	rowsCopied: number;
	rowsEstimate: number;
	chunksDone: number;
	chunksTotal: number;
	planned: boolean;
}

/** Done as soon as its chunks are, whatever the estimate said. */
export const tableDone = (t: TableCounts) => t.planned && t.chunksTotal > 0 && t.chunksDone === t.chunksTotal;

/** Whether chunks were copied: from then on they measure the table better than the estimate. */
const measured = (t: TableCounts) => t.planned && t.chunksTotal > 0 && t.chunksDone > 0;

/**
 * Rows still to copy; undefined when unknown. The estimate is the server's TABLE_ROWS, often 30-50%
 * off either way: once chunks are done, the chunks left at the rows per chunk so far say more.
 */
export function remainingRows(t: TableCounts): number | undefined {
	if (tableDone(t)) return 0;
	if (measured(t)) return ((t.chunksTotal - t.chunksDone) * t.rowsCopied) / t.chunksDone;
	if (t.rowsEstimate <= 0) return undefined;
	return Math.max(0, t.rowsEstimate - t.rowsCopied);
}

/** Share copied, 0 to 100 (by chunks once some are done, by the estimate before); undefined when unknown. */
export function tablePercent(t: TableCounts): number | undefined {
	if (tableDone(t)) return 100;
	if (measured(t)) return Math.min(99, (t.chunksDone / t.chunksTotal) * 100);
	if (t.rowsEstimate > 0) return Math.min(99, (t.rowsCopied / t.rowsEstimate) * 100);
	return undefined;
}
