import type { TableStatistics } from "../../../../shared/control/lists.ts";
import type { ProjectStatus, TableProgress } from "../../../../shared/control/status.ts";
import { seg } from "../../api.ts";
import { setQuery } from "../../router.ts";
import { bytes, num, percent, rate } from "../../ui/format.ts";
import { LIVE_MS, useResource } from "../../ui/resource.ts";
import { Empty, Loaded } from "../../ui/states.tsx";
import { ThroughputCharts, useMetrics } from "./charts.tsx";
import { eta, remainingRows, tableDone, tablePercent } from "./eta.ts";
import { etaParts, etaText, useCopyRates } from "./progress.ts";
import type { TabProps } from "./tab.ts";
import { pageLabel, TABLES_PAGE } from "./tables-page.ts";

type Full = NonNullable<ProjectStatus["full"]>;

/**
 * Rows the whole copy has left, from the totals (the page holds only some tables): the estimates
 * not yet copied; undefined when no table has an estimate.
 */
function totalRemaining(full: Full): number | undefined {
	if (full.tablesTotal > 0 && full.tablesDone === full.tablesTotal) return 0;
	if (full.rowsEstimate <= 0) return undefined;
	return Math.max(0, full.rowsEstimate - full.rowsCopied);
}

/**
 * The full copy: overall progress from the copy's totals, one page of the tables with each one's
 * rate and an honest ETA, its throughput over time, and table statistics.
 */
export function FullTab({ project, status }: TabProps) {
	const metrics = useMetrics(project.id);
	const rates = useCopyRates(status);
	const full = status.full;
	if (!full) return <Empty title="The full copy has not started yet" />;
	const overall = full.percent === 100 ? { kind: "done" as const } : eta(totalRemaining(full), rates(""));
	return (
		<>
			<div class="cards">
				<Card label="Rows copied" value={num(full.rowsCopied)} />
				<Card label="Copied" value={bytes(full.bytesCopied)} />
				<Card label="Progress" value={percent(full.percent)} />
				<Card label="Tables done" value={`${num(full.tablesDone)} of ${num(full.tablesTotal)}`} />
				<Card label="Average rate" value={rate(full.rowsPerSecond)} />
				<Card
					label={`Time left${etaParts(overall).range ? `: ${etaParts(overall).range}` : ""}`}
					value={etaParts(overall).value}
				/>
			</div>
			<ThroughputCharts history={metrics.data} group="copy" what="Copy" />
			<section class="panel" aria-labelledby="full-tables">
				<h3 id="full-tables">Tables</h3>
				<Pager full={full} />
				<div class="table-wrap">
					<table class="progress-table">
						<thead>
							<tr>
								<th scope="col">Table</th>
								<th scope="col" class="num">
									Rows copied / estimate
								</th>
								<th scope="col" class="num">
									Chunks
								</th>
								<th scope="col">Progress</th>
								<th scope="col" class="num">
									Rate
								</th>
								<th scope="col">Time left</th>
								<th scope="col">Errors</th>
							</tr>
						</thead>
						<tbody>
							{full.tables.map((t) => (
								<TableRow key={t.source} t={t} rates={rates(t.source)} />
							))}
						</tbody>
					</table>
				</div>
			</section>
			<Statistics projectId={project.id} />
		</>
	);
}

/** Which tables the page shows of how many, and the way to the pages before and after (kept in the address). */
function Pager({ full }: { full: Full }) {
	const from = full.tablesFrom;
	const to = (f: number) => () => setQuery({ tablesFrom: f === 0 ? undefined : String(f) });
	return (
		<nav class="toolbar pager" aria-label="Pages of tables">
			<span role="status">{pageLabel(from, full.tables.length, full.tablesTotal)}</span>
			<button type="button" disabled={from === 0} onClick={to(Math.max(0, from - TABLES_PAGE))}>
				Previous {TABLES_PAGE}
			</button>
			<button type="button" disabled={from + TABLES_PAGE >= full.tablesTotal} onClick={to(from + TABLES_PAGE)}>
				Next {TABLES_PAGE}
			</button>
		</nav>
	);
}

function Card({ label, value }: { label: string; value: string }) {
	return (
		<div class="card">
			<div class="value">{value}</div>
			<div class="label">{label}</div>
		</div>
	);
}

function TableRow({ t, rates }: { t: TableProgress; rates: number[] }) {
	const done = tableDone(t);
	const share = tablePercent(t);
	const last = rates[rates.length - 1];
	const untouched = t.rowsCopied === 0 && t.chunksDone === 0;
	return (
		<tr class={done ? "row-done" : undefined}>
			<th scope="row">
				<code>{t.source}</code>
				{t.destination !== t.source && <span class="muted"> → {t.destination}</span>}
			</th>
			<td class="num">
				{num(t.rowsCopied)} / {t.rowsEstimate > 0 ? `~${num(t.rowsEstimate)}` : <em>estimate unknown</em>}
			</td>
			<td class="num">{t.planned ? `${num(t.chunksDone)} / ${num(t.chunksTotal)}` : "planning"}</td>
			<td>
				<div class="bar-cell">
					<div
						class={`bar ${done ? "done" : t.errors.length > 0 ? "bad" : ""}`}
						role="progressbar"
						aria-label={`${t.source} copied`}
						aria-valuemin={0}
						aria-valuemax={100}
						aria-valuenow={share === undefined ? undefined : Math.round(share)}
					>
						<span style={{ width: `${share ?? 0}%` }} />
					</div>
					<span>{done ? "done" : share === undefined ? "–" : percent(share)}</span>
				</div>
			</td>
			<td class="num">{done ? "–" : last === undefined ? "measuring" : rate(last)}</td>
			<td>
				{done ? "done" : untouched && t.errors.length === 0 ? "not started" : etaText(eta(remainingRows(t), rates))}
			</td>
			<td class="problems">
				{t.errors.length === 0 ? (
					<span class="muted">none</span>
				) : (
					<ul class="errors">
						{t.errors.map((p) => (
							<li key={p}>{p}</li>
						))}
					</ul>
				)}
				{t.waiting.length > 0 && (
					<details>
						<summary>{t.waiting.length} chunk(s) under way</summary>
						<ul>
							{t.waiting.map((w) => (
								<li key={w}>{w}</li>
							))}
						</ul>
					</details>
				)}
			</td>
		</tr>
	);
}

/** DMS-style table statistics: copy totals and what replay applied to each table. */
function Statistics({ projectId }: { projectId: string }) {
	const stats = useResource<TableStatistics[]>(`/projects/${seg(projectId)}/tables`, LIVE_MS);
	return (
		<section class="panel" aria-labelledby="full-stats">
			<h3 id="full-stats">Table statistics</h3>
			<Loaded r={stats} what="table statistics">
				{(list) =>
					list.length === 0 ? (
						<Empty title="No table statistics yet" />
					) : (
						<div class="table-wrap">
							<table>
								<thead>
									<tr>
										<th scope="col">Table</th>
										<th scope="col" class="num">
											Rows copied
										</th>
										<th scope="col" class="num">
											Bytes copied
										</th>
										<th scope="col" class="num">
											Copy errors
										</th>
										<th scope="col" class="num">
											Inserts
										</th>
										<th scope="col" class="num">
											Updates
										</th>
										<th scope="col" class="num">
											Deletes
										</th>
										<th scope="col" class="num">
											DDL
										</th>
									</tr>
								</thead>
								<tbody>
									{list.map((s) => (
										<tr key={s.source}>
											<th scope="row">
												<code>{s.source}</code>
											</th>
											<td class="num">{num(s.copy?.rows)}</td>
											<td class="num">{bytes(s.copy?.bytes)}</td>
											<td class="num">{num(s.copy?.errors)}</td>
											<td class="num">{num(s.replay?.inserts)}</td>
											<td class="num">{num(s.replay?.updates)}</td>
											<td class="num">{num(s.replay?.deletes)}</td>
											<td class="num">{num(s.replay?.ddl)}</td>
										</tr>
									))}
								</tbody>
							</table>
						</div>
					)
				}
			</Loaded>
		</section>
	);
}
