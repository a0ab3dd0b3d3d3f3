import type { Alert } from "../../../shared/alerts/history.ts";
import type { Project } from "../../../shared/model/project.ts";
import { api, seg } from "../api.ts";
import { href, setQuery } from "../router.ts";
import { StateBadge } from "../ui/badges.tsx";
import { Action } from "../ui/controls.tsx";
import { num, time } from "../ui/format.ts";
import { LIVE_MS, useResource } from "../ui/resource.ts";
import { Empty, Loaded } from "../ui/states.tsx";
import type { ScreenProps } from "./index.ts";

/** OMS's time ranges of its alert centre. */
const RANGES = [
	{ value: "7d", label: "7 days" },
	{ value: "3w", label: "3 weeks" },
	{ value: "1m", label: "1 month" },
	{ value: "3m", label: "3 months" },
];
const STATES = ["firing", "resolved", "acknowledged", "unacknowledged"];

/** The catalogue's alert names, for the name filter. */
interface Catalogue {
	catalogue: { name: string; watches: string }[];
}

/** Where an alert belongs: its project (linked, by name when known) or the whole stack. */
export function AlertScope({ alert, names }: { alert: Alert; names: Map<string, string> }) {
	if (alert.projectId === "stack") return <span>the stack</span>;
	return <a href={href(`/projects/${alert.projectId}`)}>{names.get(alert.projectId) ?? alert.projectId}</a>;
}

export function AcknowledgeAlert({ alert, done }: { alert: Alert; done: () => void }) {
	if (alert.acknowledged)
		return (
			<span title={time(alert.acknowledged.at).title}>
				acknowledged by {alert.acknowledged.by}
				<br />
				<span class="hint">{time(alert.acknowledged.at).text}</span>
			</span>
		);
	return (
		<Action
			access="operate"
			run={async () => {
				await api.post(`/alerts/${seg(alert.projectId)}/${seg(alert.id)}/acknowledge`);
				done();
				return `Alert ${alert.name} acknowledged`;
			}}
		>
			Acknowledge
		</Action>
	);
}

const measured = (a: Alert) =>
	a.value === undefined ? "" : `${num(a.value)}${a.threshold === undefined ? "" : ` (threshold ${num(a.threshold)})`}`;

export function AlertsScreen({ query }: ScreenProps) {
	const range = query.get("range") ?? "7d";
	const state = query.get("state") ?? "";
	const name = query.get("name") ?? "";
	const q = new URLSearchParams({ range });
	if (state) q.set("state", state);
	if (name) q.set("name", name);
	const alerts = useResource<{ alerts: Alert[] }>(`/alerts?${q}`, LIVE_MS);
	const catalogue = useResource<Catalogue>("/alerts/settings");
	const projects = useResource<Project[]>("/projects");
	const names = new Map((projects.data ?? []).map((p) => [p.id, p.name]));
	return (
		<>
			<h1>Alerts</h1>
			<form class="toolbar filters" aria-label="Filter alerts" onSubmit={(e) => e.preventDefault()}>
				<label for="alert-range">Time range</label>
				<select id="alert-range" value={range} onChange={(e) => setQuery({ range: e.currentTarget.value })}>
					{RANGES.map((r) => (
						<option key={r.value} value={r.value}>
							{r.label}
						</option>
					))}
				</select>
				<label for="alert-state">State</label>
				<select id="alert-state" value={state} onChange={(e) => setQuery({ state: e.currentTarget.value })}>
					<option value="">any</option>
					{STATES.map((s) => (
						<option key={s} value={s}>
							{s}
						</option>
					))}
				</select>
				<label for="alert-name">Alert</label>
				<select id="alert-name" value={name} onChange={(e) => setQuery({ name: e.currentTarget.value })}>
					<option value="">any</option>
					{(catalogue.data?.catalogue ?? []).map((c) => (
						<option key={c.name} value={c.name} title={c.watches}>
							{c.name}
						</option>
					))}
				</select>
				<span class="spacer" />
				<a class="button" href={href("/alerts/settings")}>
					Alert settings and webhook
				</a>
			</form>
			<Loaded r={alerts} what="alerts">
				{({ alerts: list }) =>
					list.length === 0 ? (
						<Empty title={state || name ? "No alerts match these filters" : "No alerts in this time range"}>
							<p>
								Ferry raises an alert when a project fails, falls behind, loses a replication task or finds differences;
								its thresholds are in the alert settings.
							</p>
						</Empty>
					) : (
						<div class="table-wrap panel">
							<table class="named-rows">
								<caption class="visually-hidden">Alerts, newest first</caption>
								<thead>
									<tr>
										<th scope="col">Alert</th>
										<th scope="col">Project</th>
										<th scope="col">State</th>
										<th scope="col">Message</th>
										<th scope="col">Fired</th>
										<th scope="col">Resolved</th>
										<th scope="col">Acknowledged</th>
									</tr>
								</thead>
								<tbody>
									{list.map((a) => (
										<tr key={a.id}>
											<th scope="row">
												<code>{a.name}</code>
												{a.subject && <div class="hint">{a.subject}</div>}
											</th>
											<td class="project-cell">
												<AlertScope alert={a} names={names} />
											</td>
											<td>
												<StateBadge state={a.state} />
											</td>
											<td>
												{a.message}
												{measured(a) && <div class="hint">{measured(a)}</div>}
												{a.resolution && <div class="hint">{a.resolution}</div>}
											</td>
											<td class="when" title={time(a.firedAt).title}>
												{time(a.firedAt).text}
											</td>
											<td class="when" title={time(a.resolvedAt).title}>
												{time(a.resolvedAt).text}
											</td>
											<td>
												<AcknowledgeAlert alert={a} done={alerts.reload} />
											</td>
										</tr>
									))}
								</tbody>
							</table>
						</div>
					)
				}
			</Loaded>
		</>
	);
}
