import type { ProjectStatus } from "../../../../shared/control/status.ts";
import { statusPath } from "../../api.ts";
import { LIVE_MS, useEach } from "../../ui/resource.ts";

/** At most this many running projects' streams are polled at once: the list stays cheap with hundreds. */
export const LIVE_LIMIT = 25;

export interface LiveStream {
	latencySeconds?: number;
	rowsPerSecond: number;
}

/**
 * The forward stream (latency, rows/s) of each running project shown, polled every LIVE_MS while
 * the tab is visible; a project whose status fails is left out (the row shows "–").
 */
export function useLiveStreams(ids: string[]): Map<string, LiveStream> {
	const shown = ids.slice(0, LIVE_LIMIT);
	const statuses = useEach<ProjectStatus>(
		// the stream alone: no table of the copy
		shown.map((id) => statusPath(id)),
		LIVE_MS,
	);
	const streams = new Map<string, LiveStream>();
	for (const id of shown) {
		const stream = statuses.get(statusPath(id))?.incremental;
		if (stream) streams.set(id, { latencySeconds: stream.latencySeconds, rowsPerSecond: stream.rowsPerSecond });
	}
	return streams;
}
