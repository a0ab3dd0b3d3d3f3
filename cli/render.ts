import type { ProjectStatus } from "../shared/control/status.ts";

const bar = (percent: number, width = 24) => {
	const full = Math.round((percent / 100) * width);
	return `[${"#".repeat(full)}${".".repeat(width - full)}]`;
};

/** The status as a DBA reads it in a terminal: steps, then one line per table. */
export function renderStatus(s: ProjectStatus): string {
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
		for (const r of tables) {
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
