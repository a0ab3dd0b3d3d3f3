import type { Conversion } from "../../../../shared/schema/dialect/rules.ts";
import type { ReportEntry } from "../../../../shared/schema/plan.ts";
import { seg } from "../../api.ts";
import { here, setQuery } from "../../router.ts";
import { useResource } from "../../ui/resource.ts";
import { Empty, Loaded } from "../../ui/states.tsx";
import type { TabProps } from "./tab.ts";

const STATUSES = ["converted", "changed", "refused"] as const;
const TONE: Record<ReportEntry["status"], string> = { converted: "ok", changed: "warn", refused: "bad" };

/** The schema report: every object converted, changed (what and why) or refused (why), filterable by outcome. */
export function SchemaTab({ project, status }: TabProps) {
	const step = status.steps.find((s) => s.name === "schema");
	const report = useResource<ReportEntry[]>(
		`/projects/${seg(project.id)}/schema-report`,
		step?.state === "running" ? 3000 : undefined,
	);
	const only = here.value.query.get("outcome") ?? "";
	return (
		<Loaded r={report} what="the schema report">
			{(entries) => {
				if (entries.length === 0) return <Empty title="No schema report yet: the schema step has not run" />;
				const count = (s: string) => entries.filter((e) => e.status === s).length;
				const shown = only ? entries.filter((e) => e.status === only) : entries;
				return (
					<>
						<div class="toolbar">
							<label for="schema-outcome">Show</label>
							<select
								id="schema-outcome"
								value={only}
								onChange={(e) => setQuery({ outcome: (e.target as HTMLSelectElement).value })}
							>
								<option value="">all {entries.length} objects</option>
								{STATUSES.map((s) => (
									<option key={s} value={s}>
										{s} ({count(s)})
									</option>
								))}
							</select>
						</div>
						{shown.length === 0 ? (
							<Empty title={`No ${only} objects`} />
						) : (
							<div class="table-wrap">
								<table>
									<thead>
										<tr>
											<th scope="col">Object at the destination</th>
											<th scope="col">Kind</th>
											<th scope="col">Outcome</th>
											<th scope="col">What changed, and why</th>
										</tr>
									</thead>
									<tbody>
										{shown.map((e) => (
											<tr key={`${e.kind}:${e.object}`}>
												<th scope="row">
													<code>{e.object}</code>
													{e.source !== e.object && <div class="muted">from {e.source}</div>}
												</th>
												<td>{e.kind}</td>
												<td>
													<span class={`badge badge-${TONE[e.status]}`}>{e.status}</span>
												</td>
												<td>
													<Details e={e} />
												</td>
											</tr>
										))}
									</tbody>
								</table>
							</div>
						)}
					</>
				);
			}}
		</Loaded>
	);
}

function Details({ e }: { e: ReportEntry }) {
	if (e.status === "refused") return <p class="refused">{e.reason}</p>;
	if (e.changes.length === 0 && e.warnings.length === 0) return <span class="muted">as at the source</span>;
	return (
		<ul class="changes">
			{e.changes.map((c) => (
				<li key={`${c.what}:${c.why}`}>
					<ConversionText c={c} />
				</li>
			))}
			{e.warnings.map((w) => (
				<li key={w} class="warning">
					{w}
				</li>
			))}
		</ul>
	);
}

function ConversionText({ c }: { c: Conversion }) {
	return (
		<>
			{c.what}
			<span class="muted">: {c.why}</span>
		</>
	);
}
