import type { ProjectStatus } from "../shared/control/status.ts";

const bar = (percent: number, width = 24) => {
	const full = Math.round((percent / 100) * width);
	return `[${"#".repeat(full)}${".".repeat(width - full)}]`;
};

const n = (v: number) => v.toLocaleString("en");
/** Differing tables named in the verification's line; the rest are counted. */
const DIFFERING_NAMED = 10;

/** Which of the copy's tables the status shows, and the command that shows the next ones. */
function pageLine(s: ProjectStatus): string | undefined {
	const f = s.full;
	if (!f) return undefined;
	const { tablesFrom: from, tablesTotal: total } = f;
	const shown = f.tables.length;
	if (from === 0 && shown >= total) return `  all ${n(total)} tables shown`;
	if (shown === 0)
		return from < total
			? `  no table shown of ${n(total)}: ferry project status ${s.id} --tables-from ${from} shows them`
			: `  no table from ${n(from + 1)} on: the project has ${n(total)}`;
	const range = `tables ${n(from + 1)}-${n(from + shown)} of ${n(total)} shown`;
	const next = from + shown < total ? `; next: ferry project status ${s.id} --tables-from ${from + shown}` : "";
	return `  ${range}${next} (--tables-limit: at most 500 a page)`;
}

/**
 * The status as a DBA reads it in a terminal: steps, then one line per table of the page shown
 * (`limit` tables from the status's first; the verification's tables of the same page).
 */
export function renderStatus(s: ProjectStatus, limit = Number.MAX_SAFE_INTEGER): string {
	const lines = [`project ${s.name} (${s.id}): ${s.state}`];
	lines.push(`steps: ${s.steps.map((st) => `${st.name}=${st.state}`).join("  ")}`);
	if (s.ticket)
		lines.push(
			`TICKET ${s.ticket.id} on step ${s.ticket.step}: ${s.ticket.message}  (ferry project retry|skip ${s.id})`,
		);
	if (s.full) {
		const f = s.full;
		lines.push(
			`full migration ${bar(f.percent)} ${f.percent}%  ${f.rowsCopied.toLocaleString("en")} rows  ${f.rowsPerSecond.toLocaleString("en")} rows/s  ${(f.bytesPerSecond / 1048576).toFixed(1)} MB/s`,
		);
		for (const t of f.tables) {
			const pct = t.chunksTotal ? Math.floor((t.chunksDone / t.chunksTotal) * 100) : 0;
			lines.push(
				`  ${t.source} -> ${t.destination}  ${bar(pct, 12)} ${t.rowsCopied.toLocaleString("en")}/${t.rowsEstimate.toLocaleString("en")} rows  chunks ${t.chunksDone}/${t.chunksTotal}${t.planned ? "" : " (planning)"}`,
			);
			for (const e of t.errors.slice(0, 3)) lines.push(`    ! ${e}`);
			for (const w of t.waiting ?? []) lines.push(`    … ${w}`);
		}
		const page = pageLine(s);
		if (page) lines.push(page);
	}
	for (const [label, i] of [
		[s.steps.some((st) => st.name === "sync") ? "sync" : "incremental", s.incremental],
		["reverse", s.reverse],
	] as const) {
		if (!i) continue;
		// a stream that is not running says so first: its latency is a bound that grows
		const state = i.state === "running" ? "" : ` ${i.state.toUpperCase()}`;
		const latency = `${i.state === "running" ? "" : "up to "}${i.latencySeconds ?? "-"} s`;
		lines.push(
			`${label} ${i.phase}${state}: latency ${latency}  heartbeat ${i.heartbeatAgeSeconds ?? "-"} s ago  ${i.rowsPerSecond.toLocaleString("en")} rows/s  ${(i.bytesPerSecond / 1024).toFixed(1)} KB/s  ${i.transactions.toLocaleString("en")} transactions  position ${i.position?.gtid || (i.position ? `${i.position.file}:${i.position.pos}` : "-")}${i.inconsistencies ? `  ${i.inconsistencies} inconsistencies` : ""}`,
		);
		if (i.stateReason) lines.push(`    ${i.state}: ${i.stateReason}`);
		else if (i.lastError) lines.push(`    ! ${i.lastError}`);
	}
	if (s.verification) {
		const { run: v, tables } = s.verification;
		const t = v.totals;
		lines.push(
			`verification run ${v.run} ${v.state}${v.truth === "destination" ? " (the destination is the truth)" : ""}${t ? `: ${t.rowsChecked.toLocaleString("en")} rows, ${t.missing} missing, ${t.extra} extra, ${t.different} different` : ""}${t?.schema ? `, ${t.schema} in the tables themselves` : ""}${v.error ? ` (${v.error})` : ""}`,
		);
		const from = s.full?.tablesFrom ?? 0;
		const shown = tables.slice(from, from + limit);
		const differing = v.differing ?? [];
		if (differing.length > 0)
			lines.push(
				`  differences in ${differing.slice(0, DIFFERING_NAMED).join(", ")}${differing.length > DIFFERING_NAMED ? ` and ${n(differing.length - DIFFERING_NAMED)} more` : ""}`,
			);
		if (shown.length > 0 && shown.length < tables.length)
			lines.push(`  results of tables ${n(from + 1)}-${n(from + shown.length)} of ${n(tables.length)}:`);
		for (const r of shown) {
			const diffs = r.missing + r.extra + r.different;
			lines.push(
				`  ${r.table}  chunks ${r.chunksDone}/${r.chunksTotal}${r.chunksRechecking ? ` (${r.chunksRechecking} rechecking)` : ""}  ${r.rowsChecked.toLocaleString("en")} rows${diffs ? `  ${r.missing} missing ${r.extra} extra ${r.different} different${r.columns.length ? ` in ${r.columns.join(", ")}` : ""}` : ""}`,
			);
			for (const x of r.schema ?? []) lines.push(`    ! ${x}`);
		}
	}
	if (s.switchover?.blocked) lines.push(`switchover waits: ${s.switchover.blocked}`);
	return lines.join("\n");
}
