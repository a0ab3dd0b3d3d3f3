import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { api } from "../api.ts";

export interface Resource<T> {
	data?: T;
	error?: Error;
	/** True until the first answer (or error); a poll keeps showing the last data meanwhile. */
	loading: boolean;
	reload(): void;
}

/** How often screens with live numbers poll. */
export const LIVE_MS = 3000;

/**
 * Runs `load` now and, with `pollMs`, again `pollMs` after each load settles, while the tab is
 * visible: a slow answer is never overtaken and thrown away by the next request, and requests
 * never pile up on a slow API. `load` asks `current()` whether its answer is still wanted (the
 * inputs have not changed since). Returns a function that loads again at once.
 */
export function usePolling(
	load: (current: () => boolean) => Promise<unknown>,
	inputs: unknown[],
	pollMs?: number,
): () => void {
	const generation = useRef(0);
	const again = useRef<() => void>(() => {});
	useEffect(() => {
		const mine = ++generation.current;
		const current = () => mine === generation.current;
		let timer: ReturnType<typeof setTimeout> | undefined;
		const schedule = () => {
			if (timer) clearTimeout(timer);
			timer = pollMs && current() ? setTimeout(tick, pollMs) : undefined;
		};
		const tick = () => {
			if (!current()) return;
			if (document.visibilityState !== "visible") schedule();
			else load(current).finally(schedule);
		};
		again.current = () => {
			if (timer) clearTimeout(timer);
			load(current).finally(schedule);
		};
		load(current).finally(schedule);
		return () => {
			generation.current++;
			if (timer) clearTimeout(timer);
		};
	}, [...inputs, pollMs]);
	return useCallback(() => again.current(), []);
}

/**
 * GETs an API path and, with `pollMs`, again while the tab is visible. A failed poll keeps the
 * last data and shows the error beside it; data of another path (a screen reused for another
 * project) is never shown.
 */
export function useResource<T>(path: string | null, pollMs?: number): Resource<T> {
	const [state, setState] = useState<{ path: string | null; data?: T; error?: Error; loading: boolean }>({
		path,
		loading: path !== null,
	});
	const reload = usePolling(
		async (current) => {
			if (path === null) return;
			try {
				const data = await api.get<T>(path);
				if (current()) setState({ path, data, loading: false });
			} catch (error) {
				if (current())
					setState((s) => ({
						path,
						data: s.path === path ? s.data : undefined,
						error: error as Error,
						loading: false,
					}));
			}
		},
		[path],
		pollMs,
	);
	const mine = state.path === path ? state : { loading: path !== null };
	return { ...mine, reload };
}

/** GETs each path (again every `pollMs` while the tab is visible); a path that fails is left out. */
export function useEach<T>(paths: string[], pollMs: number): Map<string, T> {
	const [found, setFound] = useState(new Map<string, T>());
	const key = paths.join("\n");
	usePolling(
		async (current) => {
			const list = key ? key.split("\n") : [];
			const answers = await Promise.all(
				list.map((p) =>
					api.get<T>(p).then(
						(v) => [p, v] as const,
						() => undefined,
					),
				),
			);
			if (current()) setFound(new Map(answers.filter((a) => a !== undefined)));
		},
		[key],
		pollMs,
	);
	return found;
}
