import { useEffect, useRef, useState } from "preact/hooks";
import type { ProjectStatus } from "../../../../shared/control/status.ts";
import { api, seg } from "../../api.ts";
import { LIVE_MS } from "../../ui/resource.ts";

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
	const [streams, setStreams] = useState(new Map<string, LiveStream>());
	const key = ids.slice(0, LIVE_LIMIT).join(",");
	const seq = useRef(0);
	useEffect(() => {
		const wanted = key ? key.split(",") : [];
		if (wanted.length === 0) {
			setStreams(new Map());
			return;
		}
		const load = async () => {
			const mine = ++seq.current;
			const answers = await Promise.allSettled(
				wanted.map((id) => api.get<ProjectStatus>(`/projects/${seg(id)}/status`)),
			);
			if (mine !== seq.current) return;
			const next = new Map<string, LiveStream>();
			answers.forEach((a, i) => {
				const stream = a.status === "fulfilled" ? a.value.incremental : undefined;
				const id = wanted[i];
				if (stream && id) next.set(id, { latencySeconds: stream.latencySeconds, rowsPerSecond: stream.rowsPerSecond });
			});
			setStreams(next);
		};
		load();
		const timer = setInterval(() => document.visibilityState === "visible" && load(), LIVE_MS);
		return () => {
			clearInterval(timer);
			seq.current++;
		};
	}, [key]);
	return streams;
}
