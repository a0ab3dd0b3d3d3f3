import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { api } from "../api.ts";

export interface Resource<T> {
	data?: T;
	error?: Error;
	/** True until the first answer (or error); a poll keeps showing the last data meanwhile. */
	loading: boolean;
	reload(): void;
}

/**
 * GETs an API path and, with `pollMs`, again every so often while the tab is visible (a hidden
 * tab polls nothing). A failed poll keeps the last data and shows the error beside it.
 */
export function useResource<T>(path: string | null, pollMs?: number): Resource<T> {
	const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: path !== null });
	const seq = useRef(0);
	const load = useCallback(() => {
		if (path === null) return;
		const mine = ++seq.current;
		api.get<T>(path).then(
			(data) => mine === seq.current && setState({ data, loading: false }),
			(error: Error) => mine === seq.current && setState((s) => ({ data: s.data, error, loading: false })),
		);
	}, [path]);
	useEffect(() => {
		setState({ loading: path !== null });
		load();
		if (!pollMs) return;
		const timer = setInterval(() => {
			if (document.visibilityState === "visible") load();
		}, pollMs);
		return () => {
			clearInterval(timer);
			seq.current++;
		};
	}, [load, pollMs, path]);
	return { ...state, reload: load };
}

/** How often screens with live numbers poll. */
export const LIVE_MS = 3000;
