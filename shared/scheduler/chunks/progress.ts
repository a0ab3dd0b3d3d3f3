import { metrics } from "../../observability.ts";
import type { ChunkItem } from "../../state/chunks.ts";

/**
 * Publishes a chunk job's progress, the share of its chunks done, with the project's dimension:
 * in AWS the metrics history reads it back (metrics/cloudwatch-history.ts). The scheduler calls
 * this on its tick (each minute in AWS), which is the metric's resolution.
 */
export function publishProgress(
	projectId: string,
	metric: "CopyProgressPercent" | "VerificationProgressPercent",
	chunks: readonly ChunkItem[],
): void {
	const done = chunks.filter((c) => c.state === "done").length;
	const m = metrics.singleMetric();
	m.addDimension("project", projectId);
	m.addMetric(metric, "Percent", chunks.length === 0 ? 0 : Math.floor((done / chunks.length) * 100));
}
