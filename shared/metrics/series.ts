/*
 * A project's metrics history (GET /projects/{id}/metrics): what its status showed over time,
 * as series a chart draws. Local mode keeps it in the main process (local-history.ts), AWS reads
 * it from CloudWatch (cloudwatch-history.ts); both answer with these types.
 */

/** The replication streams: forward and reverse replay, and a synchronization project's stream to its broker. */
export type MetricStream = "forward" | "reverse" | "sink";
export type MetricGroup = MetricStream | "copy" | "verification";

/** How the points of one bucket become one: a rate is averaged, latency keeps its worst, progress its latest. */
export type Aggregation = "avg" | "max" | "last";

export interface MetricDefinition {
	group: MetricGroup;
	metric: string;
	unit: "Seconds" | "Count/Second" | "Bytes/Second" | "Percent" | "Count";
	aggregation: Aggregation;
}

const STREAM_METRICS = (group: MetricStream): MetricDefinition[] => [
	{ group, metric: "latencySeconds", unit: "Seconds", aggregation: "max" },
	{ group, metric: "rowsPerSecond", unit: "Count/Second", aggregation: "avg" },
	{ group, metric: "bytesPerSecond", unit: "Bytes/Second", aggregation: "avg" },
];

/** Every series a project can have, in a fixed order (a point stores its values by this index). */
export const METRICS: readonly MetricDefinition[] = [
	...STREAM_METRICS("forward"),
	...STREAM_METRICS("reverse"),
	...STREAM_METRICS("sink"),
	{ group: "copy", metric: "percent", unit: "Percent", aggregation: "last" },
	{ group: "copy", metric: "rowsCopied", unit: "Count", aggregation: "last" },
	{ group: "copy", metric: "rowsPerSecond", unit: "Count/Second", aggregation: "avg" },
	{ group: "copy", metric: "bytesPerSecond", unit: "Bytes/Second", aggregation: "avg" },
	{ group: "verification", metric: "percent", unit: "Percent", aggregation: "last" },
	{ group: "verification", metric: "rowsChecked", unit: "Count", aggregation: "last" },
];

export const metricKey = (d: Pick<MetricDefinition, "group" | "metric">) => `${d.group}.${d.metric}`;

/** One sample of a project: its values by `metricKey`, those it had then. */
export interface MetricSample {
	at: number;
	values: Partial<Record<string, number>>;
}

export interface MetricPoint {
	at: string;
	value: number;
}

export interface MetricSeries extends MetricDefinition {
	points: MetricPoint[];
}

/** The range asked for, epoch ms and seconds per point. */
export interface MetricsRange {
	from: number;
	to: number;
	stepSeconds: number;
}

export interface MetricsHistory {
	projectId: string;
	from: string;
	to: string;
	/** Seconds per point as answered (CloudWatch's periods are whole minutes). */
	stepSeconds: number;
	source: "local" | "cloudwatch";
	/** The series with at least one point in the range. */
	series: MetricSeries[];
}

/** Where the history of a process's projects is read: the local store or CloudWatch (ports.ts wires it in the context). */
export interface MetricsReader {
	readonly source: MetricsHistory["source"];
	/** Seconds per point this reader can answer for the range (at least the asked step). */
	stepFor(range: MetricsRange): number;
	read(projectId: string, range: MetricsRange): Promise<MetricSeries[]>;
}
