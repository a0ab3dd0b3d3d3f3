import { useState } from "preact/hooks";
import type { DifferenceRow, DifferenceRows } from "../../../../shared/control/verification-rows.ts";
import type { RowDiff } from "../../../../shared/verify/diff.ts";
import { seg } from "../../api.ts";
import { saveFile } from "../../ui/download.ts";
import { num } from "../../ui/format.ts";
import { useResource } from "../../ui/resource.ts";
import { Empty, Loaded } from "../../ui/states.tsx";

interface Differences {
	run: number;
	tables: { table: string; destination: string; truncated: boolean; rows: RowDiff[] }[];
}

type Kind = RowDiff["kind"];
const KINDS: Kind[] = ["missing", "extra", "different"];
/** What each kind means, said of the side the run checks against its truth. */
const kindText = (kind: Kind, checked: string) =>
	kind === "different" ? "with different values" : `${kind} at the ${checked}`;

const rowsText = (n: number) => `${num(n)} ${n === 1 ? "row" : "rows"}`;

/** How many differing rows each column has: where a mismatch comes from at a glance (recce, datacompy). */
export function columnCounts(rows: RowDiff[]): [string, number][] {
	const counts = new Map<string, number>();
	for (const r of rows) for (const c of r.columns ?? []) counts.set(c, (counts.get(c) ?? 0) + 1);
	return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/** Saves the run's differences as a JSON file (keys, kinds, differing columns), as the API gives them. */
function download(projectName: string, d: Differences): void {
	const name = `ferry-differences-${projectName.replace(/[^\w.-]+/g, "_")}-run${d.run}.json`;
	saveFile(name, JSON.stringify(d, null, 2), "application/json");
}

/**
 * The verification diff viewer: per table, each differing row with the source's values beside
 * the destination's, the differing columns marked (colour and a ≠ sign), the kinds, per-column
 * mismatch counts, and a download of every difference of the run.
 */
export function DiffViewer({
	projectId,
	projectName,
	run,
	checked,
}: {
	projectId: string;
	projectName: string;
	run: number;
	/** The side that is not the run's truth: where rows are missing or extra. */
	checked: string;
}) {
	const diffs = useResource<Differences>(`/projects/${seg(projectId)}/verification/differences`);
	const [table, setTable] = useState<string | undefined>(undefined);
	return (
		<section class="panel" aria-labelledby="diff-viewer">
			<h2 id="diff-viewer">Differences of run {run}</h2>
			<Loaded r={diffs} what="the differences">
				{(d) => {
					if (d.tables.length === 0) return <Empty title="No row differs" />;
					const current = d.tables.find((t) => t.table === table) ?? d.tables[0];
					if (!current) return null;
					return (
						<>
							<div class="toolbar">
								<label for="diff-table" class="inline">
									Table
								</label>
								<select id="diff-table" value={current.table} onChange={(e) => setTable(e.currentTarget.value)}>
									{d.tables.map((t) => (
										<option key={t.table} value={t.table}>
											{t.table} ({t.rows.length}
											{t.truncated ? "+" : ""} differences)
										</option>
									))}
								</select>
								<span class="spacer" />
								<button type="button" onClick={() => download(projectName, d)}>
									Download differences (JSON)
								</button>
							</div>
							<KindsAndColumns rows={current.rows} checked={checked} />
							<TableRows projectId={projectId} table={current.table} />
						</>
					);
				}}
			</Loaded>
		</section>
	);
}

function KindsAndColumns({ rows, checked }: { rows: RowDiff[]; checked: string }) {
	const counts = columnCounts(rows);
	return (
		<div class="diff-summary">
			<dl class="facts">
				{KINDS.map((k) => (
					<div key={k}>
						<dt>
							<span class={`kind kind-${k}`}>{k}</span>
						</dt>
						<dd>
							{rowsText(rows.filter((r) => r.kind === k).reduce((n, r) => n + (r.count ?? 1), 0))}{" "}
							{kindText(k, checked)}
						</dd>
					</div>
				))}
			</dl>
			{counts.length > 0 && (
				<table class="column-counts">
					<caption>Mismatches per column</caption>
					<thead>
						<tr>
							<th scope="col">Column</th>
							<th scope="col" class="num">
								Rows
							</th>
						</tr>
					</thead>
					<tbody>
						{counts.map(([c, n]) => (
							<tr key={c}>
								<th scope="row">
									<code>{c}</code>
								</th>
								<td class="num">{num(n)}</td>
							</tr>
						))}
					</tbody>
				</table>
			)}
		</div>
	);
}

function TableRows({ projectId, table }: { projectId: string; table: string }) {
	const rows = useResource<DifferenceRows>(
		`/projects/${seg(projectId)}/verification/rows?table=${encodeURIComponent(table)}`,
	);
	const [kind, setKind] = useState<Kind | "all">("all");
	return (
		<Loaded r={rows} what="the differing rows">
			{(r) => {
				const shown = r.rows.filter((x) => kind === "all" || x.kind === kind);
				return (
					<>
						<div class="toolbar">
							<label for="diff-kind" class="inline">
								Kind
							</label>
							<select id="diff-kind" value={kind} onChange={(e) => setKind(e.currentTarget.value as Kind | "all")}>
								<option value="all">all kinds</option>
								{KINDS.map((k) => (
									<option key={k} value={k}>
										{k}
									</option>
								))}
							</select>
							<span class="hint">
								Values as each side holds them now;{" "}
								{r.more ? `the first ${r.rows.length} differences` : "every difference"}. Marked columns (≠) differ.
							</span>
						</div>
						{shown.length === 0 ? (
							<Empty title={`No ${kind} row`} />
						) : (
							<div class="diff-rows">
								{shown.map((row, i) => (
									<RowPair key={`${i}-${JSON.stringify(row.key ?? row.rowHash)}`} r={r} row={row} />
								))}
							</div>
						)}
					</>
				);
			}}
		</Loaded>
	);
}

/** One difference: the key, its kind, and a table of columns with the source's and destination's values. */
function RowPair({ r, row }: { r: DifferenceRows; row: DifferenceRow }) {
	const marked = new Set(row.columns ?? []);
	const key = row.key ? r.key.map((k, i) => `${k} = ${row.key?.[i]}`).join(", ") : `row hash ${row.rowHash}`;
	return (
		<div class="diff-row">
			<table class="diff-pair">
				<caption>
					<span class={`kind kind-${row.kind}`}>{row.kind}</span> <code>{key}</code>
					{row.count && row.count > 1 ? ` (${row.count} copies)` : ""}
				</caption>
				<thead>
					<tr>
						<th scope="col">Column</th>
						<th scope="col">Source ({r.table})</th>
						<th scope="col">Destination ({r.destination})</th>
					</tr>
				</thead>
				<tbody>
					{r.columns.map((c, i) => {
						const differs = marked.has(c);
						return (
							<tr key={c} class={differs ? "differs" : undefined}>
								<th scope="row">
									{differs && (
										<span class="mark" title="differs">
											≠ <span class="visually-hidden">differs:</span>
										</span>
									)}
									<code>{c}</code>
								</th>
								<Value side={row.source} i={i} />
								<Value side={row.destination} i={i} />
							</tr>
						);
					})}
				</tbody>
			</table>
		</div>
	);
}

function Value({ side, i }: { side: (string | null)[] | null; i: number }) {
	if (side === null) return <td class="absent">no such row</td>;
	const v = side[i];
	return <td>{v === null || v === undefined ? <span class="null">NULL</span> : <code class="value">{v}</code>}</td>;
}
