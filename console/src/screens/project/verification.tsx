import { useState } from "preact/hooks";
import type { TableResult, VerificationResults } from "../../../../shared/scheduler/verification-results.ts";
import { api, seg } from "../../api.ts";
import { StateBadge } from "../../ui/badges.tsx";
import { Action } from "../../ui/controls.tsx";
import { num, time } from "../../ui/format.ts";
import { LIVE_MS, useResource } from "../../ui/resource.ts";
import { Empty, Loading } from "../../ui/states.tsx";
import { CorrectionFlow } from "./correction.tsx";
import { DiffViewer } from "./diff-viewer.tsx";
import type { TabProps } from "./tab.ts";

const differences = (t: { missing: number; extra: number; different: number }) => t.missing + t.extra + t.different;

/**
 * The verification tab: the run, each table's result as a bar, the controls (start over all or
 * chosen tables, pause, resume), then the diff viewer and the correction in one place. The
 * project's status gives the run alone (it is paged); the tables' results are read here, and only
 * while this tab is open.
 */
export function VerificationTab({ project, status, reload: reloadStatus }: TabProps) {
	const [chosen, setChosen] = useState<Set<string>>(new Set());
	const path = `/projects/${seg(project.id)}/verification`;
	const fetched = useResource<VerificationResults>(status.verification ? path : null, LIVE_MS);
	const reload = () => {
		reloadStatus();
		fetched.reload();
	};
	// the polled status's run until the first answer, so the controls work at once
	const results = fetched.data ?? (status.verification && { run: status.verification.run, tables: [] });
	if (!project.types.includes("verification"))
		return <Empty title="This project does not verify its data: verification is not among its migration types." />;
	const start = async () => {
		const tables = [...chosen];
		const r = await api.post<{ verification: { run: number } }>(path, tables.length ? { tables } : {});
		setChosen(new Set());
		reload();
		return `Verification run ${r.verification.run} started${tables.length ? ` on ${tables.length} table(s)` : ""}`;
	};
	const state = results?.run.state;
	return (
		<>
			<section class="panel" aria-labelledby="verify-run">
				<h2 id="verify-run">Verification run</h2>
				<div class="toolbar">
					<Action access="operate" kind="primary" run={start} disabled={state === "running" || state === "correcting"}>
						{chosen.size ? `Verify ${chosen.size} chosen table${chosen.size > 1 ? "s" : ""}` : "Verify all tables"}
					</Action>
					<Action
						access="operate"
						disabled={state !== "running"}
						title="Only a running verification pauses"
						run={async () => {
							await api.post(`${path}/pause`);
							reload();
							return "Verification paused";
						}}
					>
						Pause
					</Action>
					<Action
						access="operate"
						disabled={state !== "paused"}
						title="Only a paused verification resumes"
						run={async () => {
							await api.post(`${path}/resume`);
							reload();
							return "Verification resumed";
						}}
					>
						Resume
					</Action>
				</div>
				{results ? <RunSummary results={results} /> : <Empty title="Not verified yet" />}
			</section>
			{results && (
				<section class="panel" aria-labelledby="verify-tables">
					<h2 id="verify-tables">Tables</h2>
					<p class="hint">Tick tables to verify only those again.</p>
					{fetched.data ? (
						<TableBars tables={results.tables} chosen={chosen} setChosen={setChosen} />
					) : (
						<Loading what="the tables' results" />
					)}
				</section>
			)}
			{results?.run.state === "done" && results.run.totals && differences(sum(results.tables)) > 0 && (
				<DiffViewer
					key={results.run.run}
					checked={results.run.truth === "destination" ? "source" : "destination"}
					projectId={project.id}
					projectName={project.name}
					run={results.run.run}
				/>
			)}
			{results && <CorrectionFlow projectId={project.id} results={results} reload={reload} />}
		</>
	);
}

function sum(tables: TableResult[]): { missing: number; extra: number; different: number } {
	const all = { missing: 0, extra: 0, different: 0 };
	for (const t of tables) {
		all.missing += t.missing;
		all.extra += t.extra;
		all.different += t.different;
	}
	return all;
}

function RunSummary({ results }: { results: VerificationResults }) {
	const { run, tables } = results;
	const started = time(run.startedAt);
	const finished = time(run.finishedAt);
	const totals = run.totals;
	const rows = tables.reduce((n, t) => n + t.rowsChecked, 0);
	const all = sum(tables);
	const checked = run.truth === "destination" ? "source" : "destination";
	const cards: [string, number, string][] = [
		["rows checked", totals?.rowsChecked ?? rows, ""],
		["missing", totals?.missing ?? all.missing, `at the ${checked}`],
		["extra", totals?.extra ?? all.extra, `at the ${checked}`],
		["different", totals?.different ?? all.different, "rows with other values"],
		["tables differing", totals?.tablesDiffering ?? tables.filter((t) => differences(t) > 0).length, ""],
	];
	return (
		<>
			<dl class="facts">
				<div>
					<dt>Run</dt>
					<dd>
						{run.run} <StateBadge state={run.state} />
						{!run.tables
							? " over every table"
							: run.tables.length <= 3
								? ` over ${run.tables.join(", ")}`
								: ` over ${run.tables.length} chosen tables`}
					</dd>
				</div>
				<div>
					<dt>Truth</dt>
					<dd>the {run.truth ?? "source"} (differences are counted from it; a correction changes the other side)</dd>
				</div>
				<div>
					<dt>Started</dt>
					<dd title={started.title}>{started.text}</dd>
				</div>
				<div>
					<dt>Finished</dt>
					<dd title={finished.title}>{run.finishedAt ? finished.text : "not yet"}</dd>
				</div>
				{run.error && (
					<div>
						<dt>Error</dt>
						<dd class="bad-text">{run.error}</dd>
					</div>
				)}
			</dl>
			<div class="cards verify-cards">
				{cards.map(([label, value, hint]) => (
					<div class="card" key={label}>
						<div class={`value ${label !== "rows checked" && value > 0 ? "bad-text" : ""}`}>{num(value)}</div>
						<div class="label">
							{label}
							{hint && <span class="visually-hidden"> {hint}</span>}
						</div>
					</div>
				))}
			</div>
		</>
	);
}

function TableBars({
	tables,
	chosen,
	setChosen,
}: {
	tables: TableResult[];
	chosen: Set<string>;
	setChosen: (s: Set<string>) => void;
}) {
	if (tables.length === 0) return <Empty title="No table planned yet" />;
	const toggle = (name: string) => {
		const next = new Set(chosen);
		if (next.has(name)) next.delete(name);
		else next.add(name);
		setChosen(next);
	};
	return (
		<div class="table-wrap">
			<table class="verify-tables">
				<caption class="visually-hidden">Verification result per table</caption>
				<thead>
					<tr>
						<th scope="col">Choose</th>
						<th scope="col">Table</th>
						<th scope="col">Checked</th>
						<th scope="col" class="num">
							Rows checked
						</th>
						<th scope="col" class="num">
							Missing
						</th>
						<th scope="col" class="num">
							Extra
						</th>
						<th scope="col" class="num">
							Different
						</th>
						<th scope="col">Differing columns</th>
					</tr>
				</thead>
				<tbody>
					{tables.map((t) => {
						const pct = t.chunksTotal ? (t.chunksDone / t.chunksTotal) * 100 : 0;
						const bad = differences(t) > 0 || t.schema.length > 0;
						return (
							<tr key={t.table}>
								<td class="center">
									<input
										type="checkbox"
										id={`choose-${t.table}`}
										aria-label={`Choose ${t.table}`}
										checked={chosen.has(t.table)}
										onChange={() => toggle(t.table)}
									/>
								</td>
								<th scope="row">
									{t.table}
									{t.destination !== t.table && <div class="hint">→ {t.destination}</div>}
								</th>
								<td>
									<div
										class={`bar ${bad ? "bad" : pct === 100 ? "done" : ""}`}
										role="img"
										aria-label={`${t.chunksDone} of ${t.chunksTotal} chunks checked${bad ? ", differences found" : ""}`}
									>
										<span style={{ width: `${pct}%` }} />
									</div>
									<div class="hint">
										{t.chunksDone}/{t.chunksTotal} chunks
										{t.chunksRechecking > 0 && `, ${t.chunksRechecking} waiting for replay to recheck`}
									</div>
								</td>
								<td class="num">{num(t.rowsChecked)}</td>
								<Count n={t.missing} />
								<Count n={t.extra} />
								<Count n={t.different} />
								<td>
									{t.columns.map((c) => (
										<code class="col-chip" key={c}>
											{c}
										</code>
									))}
									{t.schema.map((s) => (
										<div class="bad-text" key={s}>
											{s}
										</div>
									))}
									{differences(t) === 0 && t.schema.length === 0 && t.chunksDone === t.chunksTotal && (
										<span class="yes">clean</span>
									)}
								</td>
							</tr>
						);
					})}
				</tbody>
			</table>
		</div>
	);
}

function Count({ n }: { n: number }) {
	return <td class={`num ${n > 0 ? "bad-text" : ""}`}>{num(n)}</td>;
}
