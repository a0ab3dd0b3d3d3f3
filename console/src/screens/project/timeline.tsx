import type { ProjectEvent } from "../../../../shared/state/events.ts";
import { seg } from "../../api.ts";
import { here, setQuery } from "../../router.ts";
import { time } from "../../ui/format.ts";
import { LIVE_MS, useResource } from "../../ui/resource.ts";
import { Empty, Loaded } from "../../ui/states.tsx";
import type { TabProps } from "./tab.ts";

/** The project's one timeline: steps, tickets, DDL, tasks, alerts and every change with its author; filterable by kind, exportable. */
export function TimelineTab({ project }: TabProps) {
	const events = useResource<ProjectEvent[]>(`/projects/${seg(project.id)}/events`, LIVE_MS);
	const kind = here.value.query.get("kind") ?? "";
	return (
		<Loaded r={events} what="the timeline">
			{(all) => {
				if (all.length === 0) return <Empty title="Nothing has happened to this project yet" />;
				const kinds = [...new Set(all.map((e) => e.kind))].sort();
				const shown = (kind ? all.filter((e) => e.kind === kind) : all).slice().reverse();
				return (
					<>
						<div class="toolbar">
							<label for="timeline-kind">Kind</label>
							<select
								id="timeline-kind"
								value={kind}
								onChange={(e) => setQuery({ kind: (e.target as HTMLSelectElement).value })}
							>
								<option value="">every kind ({all.length})</option>
								{kinds.map((k) => (
									<option key={k} value={k}>
										{k} ({all.filter((e) => e.kind === k).length})
									</option>
								))}
							</select>
							<span class="spacer" />
							<button type="button" onClick={() => download(`${project.name}-timeline.json`, shown)}>
								Export {shown.length} events as JSON
							</button>
						</div>
						<div class="table-wrap">
							<table>
								<caption class="visually-hidden">Events, newest first</caption>
								<thead>
									<tr>
										<th scope="col">Time</th>
										<th scope="col">Kind</th>
										<th scope="col">What happened</th>
										<th scope="col">By</th>
									</tr>
								</thead>
								<tbody>
									{shown.map((e, i) => {
										const at = time(e.at);
										return (
											<tr key={`${e.at}-${i}`}>
												<td class="nowrap" title={at.title}>
													{at.text}
												</td>
												<td class="nowrap">
													<code>{e.kind}</code>
												</td>
												<td class="wrap">{e.message}</td>
												<td class="nowrap">{e.actor.name}</td>
											</tr>
										);
									})}
								</tbody>
							</table>
						</div>
					</>
				);
			}}
		</Loaded>
	);
}

/** Saves the events as a file (a Blob URL: nothing is sent anywhere). */
function download(name: string, events: ProjectEvent[]) {
	const url = URL.createObjectURL(new Blob([JSON.stringify(events, null, 2)], { type: "application/json" }));
	const a = document.createElement("a");
	a.href = url;
	a.download = name.replace(/[^\w.-]+/g, "_");
	a.click();
	setTimeout(() => URL.revokeObjectURL(url), 1000);
}
