import { StateBadge } from "../../ui/badges.tsx";
import { duration, num, percent, time } from "../../ui/format.ts";
import type { TabProps } from "./tab.ts";

/** The project at a glance: its settings, where each part stands, and the precheck's warnings. */
export function OverviewTab({ project, status }: TabProps) {
	const created = time(project.createdAt);
	const updated = time(project.updatedAt);
	const warnings = (project.findings ?? []).filter((f) => f.level === "warning");
	const v = status.verification;
	return (
		<>
			<dl class="facts overview-facts panel">
				<div>
					<dt>Created</dt>
					<dd title={created.title}>{created.text}</dd>
				</div>
				<div>
					<dt>Last change</dt>
					<dd title={updated.title}>{updated.text}</dd>
				</div>
				<div>
					<dt>Migration types</dt>
					<dd>{project.types.join(", ")}</dd>
				</div>
				<div>
					<dt>Objects</dt>
					<dd>
						{project.objects.length} rule(s):{" "}
						{project.objects
							.map((o) => `${o.exclude ? "not " : ""}${o.database}.${o.table}${o.where ? " (filtered)" : ""}`)
							.join(", ")}
					</dd>
				</div>
				<div>
					<dt>Full copy</dt>
					<dd>
						{status.full
							? `${percent(status.full.percent)} · ${num(status.full.rowsCopied)} rows in ${num(status.full.tablesTotal)} table(s)`
							: "not started"}
					</dd>
				</div>
				<div>
					<dt>{project.sync ? "Synchronization" : "Forward replay"}</dt>
					<dd>
						{status.incremental ? (
							<>
								<StateBadge state={status.incremental.state} /> {status.incremental.phase}, latency{" "}
								{duration(status.incremental.latencySeconds)}
							</>
						) : (
							"not started"
						)}
					</dd>
				</div>
				{status.reverse && (
					<div>
						<dt>Reverse replay</dt>
						<dd>
							<StateBadge state={status.reverse.state} /> latency {duration(status.reverse.latencySeconds)}
						</dd>
					</div>
				)}
				{v && (
					<div>
						<dt>Verification</dt>
						<dd>
							run {v.run.run} <StateBadge state={v.run.state} />
						</dd>
					</div>
				)}
				<div>
					<dt>Options</dt>
					<dd>
						parallelism {project.options.parallelism}, chunks of {num(project.options.chunkRows)} rows
						{project.options.maxRowsPerSecond ? `, at most ${num(project.options.maxRowsPerSecond)} rows/s` : ""}
						{project.options.twoWay ? ", two-way" : ""}
					</dd>
				</div>
			</dl>
			{warnings.length > 0 && (
				<section class="panel" aria-labelledby="ov-warnings">
					<h3 id="ov-warnings">Precheck warnings</h3>
					<ul>
						{warnings.map((f) => (
							<li key={f.id ?? f.object + f.message}>
								<code>{f.object}</code>: {f.message} <span class="muted">({f.fix})</span>
								{f.waived && <span class="badge badge-warn">waived</span>}
							</li>
						))}
					</ul>
				</section>
			)}
		</>
	);
}
