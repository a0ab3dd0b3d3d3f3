import { useRef } from "preact/hooks";
import type { ProjectStatus } from "../../../../shared/control/status.ts";
import { duration } from "../../ui/format.ts";
import { type Eta, type ProgressSample, windowRates } from "./eta.ts";

/** The copy's rates are measured over windows this long (three polls of the status). */
export const RATE_WINDOW_MS = 9000;
const KEEP = 200;

/**
 * Rows copied per table (and "" for all), sampled at each status poll the page received: the
 * rates a table's ETA comes from. Kept per project for as long as the console is open, so
 * switching tabs does not start the measurement again.
 */
const history = new Map<string, Map<string, ProgressSample[]>>();

function add(samples: Map<string, ProgressSample[]>, key: string, at: number, rows: number) {
	let list = samples.get(key) ?? [];
	const last = list[list.length - 1];
	if (last && last.rows === rows && at - last.at < 1000) return;
	// a table seen again on its page after others were shown: a window over the gap would average
	// it with the time unseen, so its rate is measured afresh
	if (last && at - last.at > RATE_WINDOW_MS) list = [];
	list.push({ at, rows });
	if (list.length > KEEP) list.shift();
	samples.set(key, list);
}

/**
 * Records the status's counts once per status object (the copy's total and the tables of the page
 * shown), and answers each table's recent rates (rows/s).
 */
export function useCopyRates(status: ProjectStatus): (table: string) => number[] {
	const seen = useRef<ProjectStatus | undefined>(undefined);
	const samples = history.get(status.id) ?? new Map<string, ProgressSample[]>();
	history.set(status.id, samples);
	if (seen.current !== status && status.full) {
		seen.current = status;
		const at = Date.now();
		add(samples, "", at, status.full.rowsCopied);
		for (const t of status.full.tables) add(samples, t.source, at, t.rowsCopied);
	}
	return (table) => windowRates(samples.get(table) ?? [], RATE_WINDOW_MS);
}

/** "about 2 min 10 s" and its range "1 min 50 s – 2 min 40 s", or why there is no ETA. */
export function etaParts(e: Eta): { value: string; range?: string } {
	if (e.kind === "done") return { value: "done" };
	if (e.kind === "unknown") return { value: e.why };
	const latest = e.latest === undefined ? "or longer: the rate is unsteady" : `to ${duration(e.latest)}`;
	return { value: `about ${duration(e.likely)}`, range: `${duration(e.soonest)} ${latest}` };
}

export function etaText(e: Eta): string {
	const { value, range } = etaParts(e);
	return range ? `${value} (${range})` : value;
}
