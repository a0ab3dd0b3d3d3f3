import {
	type Aggregation,
	METRICS,
	type MetricSample,
	type MetricSeries,
	type MetricsRange,
	type MetricsReader,
	metricKey,
} from "./series.ts";

/*
 * Local mode's metrics history, in the main process: per project, two tiers of fixed-size
 * buckets (fine for the last hours, coarse for days), each dropping what is older than its
 * retention, and at most `maxProjects` projects. Memory stays bounded however long a project
 * runs: decisions/2026-12-06-metrics-history.md says why it is not in the state table.
 */

export interface HistoryLimits {
	fineStepMs: number;
	fineRetentionMs: number;
	coarseStepMs: number;
	coarseRetentionMs: number;
	maxProjects: number;
}

export const DEFAULT_LIMITS: HistoryLimits = {
	fineStepMs: 10_000,
	fineRetentionMs: 2 * 3600_000,
	coarseStepMs: 5 * 60_000,
	coarseRetentionMs: 14 * 86_400_000,
	maxProjects: 50,
};

const KEYS = METRICS.map(metricKey);
const AGGREGATIONS: Aggregation[] = METRICS.map((m) => m.aggregation);

/** One bucket: per metric, the sum (avg), the maximum (max) or the latest value (last), and how many values came. */
interface Bucket {
	at: number;
	values: Float64Array;
	counts: Uint32Array;
}

function emptyBucket(at: number): Bucket {
	return { at, values: new Float64Array(KEYS.length), counts: new Uint32Array(KEYS.length) };
}

/** Adds `value` (or another bucket's aggregate of `count` values) for metric `i` into `b`. */
function merge(b: Bucket, i: number, value: number, count: number): void {
	const had = b.counts[i] ?? 0;
	const cur = b.values[i] ?? 0;
	const aggregation = AGGREGATIONS[i];
	b.values[i] =
		had === 0 ? value : aggregation === "avg" ? cur + value : aggregation === "max" ? Math.max(cur, value) : value;
	b.counts[i] = had + count;
}

function bucketValue(b: Bucket, i: number): number | undefined {
	const n = b.counts[i] ?? 0;
	if (n === 0) return undefined;
	const v = b.values[i] ?? 0;
	return AGGREGATIONS[i] === "avg" ? v / n : v;
}

/** Buckets of `stepMs`, oldest first, none older than `retentionMs` before the newest and at most as many as fit in it. */
class Tier {
	readonly buckets: Bucket[] = [];
	private readonly capacity: number;

	constructor(
		readonly stepMs: number,
		private readonly retentionMs: number,
	) {
		this.capacity = Math.ceil(retentionMs / stepMs) + 1;
	}

	add(sample: MetricSample): void {
		const at = Math.floor(sample.at / this.stepMs) * this.stepMs;
		let last = this.buckets[this.buckets.length - 1];
		// a sample older than the newest bucket (a clock step back) joins the newest
		if (!last || last.at < at) {
			last = emptyBucket(at);
			this.buckets.push(last);
		}
		for (const [i, key] of KEYS.entries()) {
			const v = sample.values[key];
			if (v !== undefined && Number.isFinite(v)) merge(last, i, v, 1);
		}
		this.dropBefore(at - this.retentionMs);
		if (this.buckets.length > this.capacity) this.buckets.splice(0, this.buckets.length - this.capacity);
	}

	dropBefore(t: number): void {
		let n = 0;
		while (n < this.buckets.length && (this.buckets[n]?.at ?? 0) < t) n++;
		if (n > 0) this.buckets.splice(0, n);
	}

	newest(): number {
		return this.buckets[this.buckets.length - 1]?.at ?? 0;
	}
}

interface ProjectHistory {
	fine: Tier;
	coarse: Tier;
}

export class LocalMetricsHistory implements MetricsReader {
	readonly source = "local" as const;
	private readonly projects = new Map<string, ProjectHistory>();

	constructor(
		private readonly limits: HistoryLimits = DEFAULT_LIMITS,
		private readonly now: () => number = Date.now,
	) {}

	record(projectId: string, sample: MetricSample): void {
		let h = this.projects.get(projectId);
		if (!h) {
			this.evict();
			h = {
				fine: new Tier(this.limits.fineStepMs, this.limits.fineRetentionMs),
				coarse: new Tier(this.limits.coarseStepMs, this.limits.coarseRetentionMs),
			};
			this.projects.set(projectId, h);
		}
		h.fine.add(sample);
		h.coarse.add(sample);
	}

	/** Makes room for one more project: drops those with nothing left in retention, else the one sampled least recently. */
	private evict(): void {
		const horizon = this.now() - this.limits.coarseRetentionMs;
		for (const [id, h] of this.projects) if (h.coarse.newest() < horizon) this.projects.delete(id);
		if (this.projects.size < this.limits.maxProjects) return;
		let oldest: [string, number] | undefined;
		for (const [id, h] of this.projects) {
			if (!oldest || h.coarse.newest() < oldest[1]) oldest = [id, h.coarse.newest()];
		}
		if (oldest) this.projects.delete(oldest[0]);
	}

	forget(projectId: string): void {
		this.projects.delete(projectId);
	}

	/** What the store holds: projects and buckets (the unit test's measure of memory). */
	size(): { projects: number; buckets: number } {
		let buckets = 0;
		for (const h of this.projects.values()) buckets += h.fine.buckets.length + h.coarse.buckets.length;
		return { projects: this.projects.size, buckets };
	}

	/** The fine tier while the range lies within its retention and the step is finer than the coarse tier's. */
	private fine(range: MetricsRange): boolean {
		return (
			range.from >= this.now() - this.limits.fineRetentionMs && range.stepSeconds * 1000 < this.limits.coarseStepMs
		);
	}

	stepFor(range: MetricsRange): number {
		const tierMs = this.fine(range) ? this.limits.fineStepMs : this.limits.coarseStepMs;
		return Math.ceil(Math.max(range.stepSeconds * 1000, tierMs) / tierMs) * (tierMs / 1000);
	}

	async read(projectId: string, range: MetricsRange): Promise<MetricSeries[]> {
		const h = this.projects.get(projectId);
		if (!h) return [];
		const tier = this.fine(range) ? h.fine : h.coarse;
		tier.dropBefore(this.now() - (tier === h.fine ? this.limits.fineRetentionMs : this.limits.coarseRetentionMs));
		const stepMs = this.stepFor(range) * 1000;
		const out: Bucket[] = [];
		for (const b of tier.buckets) {
			if (b.at < range.from || b.at > range.to) continue;
			const at = range.from + Math.floor((b.at - range.from) / stepMs) * stepMs;
			let target = out[out.length - 1];
			if (!target || target.at !== at) {
				target = emptyBucket(at);
				out.push(target);
			}
			for (let i = 0; i < KEYS.length; i++) {
				const n = b.counts[i] ?? 0;
				if (n > 0) merge(target, i, b.values[i] ?? 0, n);
			}
		}
		return METRICS.map((d, i) => ({
			...d,
			points: out.flatMap((b) => {
				const value = bucketValue(b, i);
				return value === undefined ? [] : [{ at: new Date(b.at).toISOString(), value }];
			}),
		})).filter((s) => s.points.length > 0);
	}
}
