import type { OpenTicket } from "../../../shared/control/lists.ts";
import { api, seg } from "../api.ts";
import { href } from "../router.ts";
import { Action } from "../ui/controls.tsx";
import { ago, time } from "../ui/format.ts";
import { LIVE_MS, useResource } from "../ui/resource.ts";
import { Empty, Loaded } from "../ui/states.tsx";

/** Retry and Skip of one project's ticket, in place; `done` reloads what shows it. */
export function TicketDecision({ t, done }: { t: OpenTicket; done: () => void }) {
	const decide = (decision: "retry" | "skip") => async () => {
		await api.post(`/projects/${seg(t.projectId)}/ticket`, { decision });
		done();
		return `${decision === "retry" ? "Retrying" : "Skipped"} step ${t.ticket.step} of '${t.projectName}'`;
	};
	return (
		<span class="toolbar inline">
			<Action access="operate" kind="primary" run={decide("retry")}>
				Retry {t.ticket.step}
			</Action>
			<Action access="operate" run={decide("skip")} confirm={`Skip step ${t.ticket.step}? It will not run again.`}>
				Skip {t.ticket.step}
			</Action>
		</span>
	);
}

/** OMS's O&M tickets: every failed step waiting for a person, across projects, newest first. */
export function TicketsScreen() {
	const tickets = useResource<OpenTicket[]>("/tickets", LIVE_MS);
	return (
		<>
			<h1>Tickets</h1>
			<p class="hint">
				A ticket is a step that failed and waits for you: fix the cause, then retry it, or skip it. Replication stays
				stopped until a ticket about it is decided.
			</p>
			<Loaded r={tickets} what="tickets">
				{(list) =>
					list.length === 0 ? (
						<Empty title="No open tickets">
							<p>Every project runs, waits or has finished without a failed step.</p>
						</Empty>
					) : (
						<div class="table-wrap panel">
							<table class="named-rows">
								<caption class="visually-hidden">Open tickets</caption>
								<thead>
									<tr>
										<th scope="col">Project</th>
										<th scope="col">Step</th>
										<th scope="col">Error</th>
										<th scope="col">Opened</th>
										<th scope="col">Decide</th>
									</tr>
								</thead>
								<tbody>
									{list.map((t) => (
										<tr key={t.ticket.id}>
											<th scope="row">
												<a href={href(`/projects/${t.projectId}`)}>{t.projectName}</a>
											</th>
											<td>
												{t.ticket.step}
												{t.ticket.stopsReplication && <span class="badge badge-bad">replication stopped</span>}
											</td>
											<td class="error-text">{t.ticket.message}</td>
											<td class="when" title={time(t.ticket.openedAt).title}>
												{time(t.ticket.openedAt).text}
												<br />
												<span class="hint">{ago(t.ticket.openedAt)}</span>
											</td>
											<td>
												<TicketDecision t={t} done={tickets.reload} />
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
