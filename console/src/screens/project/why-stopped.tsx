import type { ProjectStatus } from "../../../../shared/control/status.ts";
import type { Project } from "../../../../shared/model/project.ts";
import { api, seg } from "../../api.ts";
import { can } from "../../session.ts";
import { Action } from "../../ui/controls.tsx";
import { duration, time } from "../../ui/format.ts";
import { stoppages, waivable } from "./diagnose.ts";

/**
 * One card on top of the page whenever something stops the project: for each cause the failing
 * object, the error, when it was seen, the retries, a suggested fix, and the decisions in place.
 */
export function WhyStopped({ project, status, reload }: { project: Project; status: ProjectStatus; reload(): void }) {
	const list = stoppages(project, status);
	if (list.length === 0) return null;
	const ticket = status.state === "failed" ? status.ticket : undefined;
	const findings = waivable(project);
	const decide = (decision: "retry" | "skip") => async () => {
		await api.post(`/projects/${seg(project.id)}/ticket`, { decision });
		reload();
		return decision === "retry" ? `Retrying step ${ticket?.step}` : `Skipped step ${ticket?.step}`;
	};
	return (
		<section class="panel why-stopped" aria-labelledby="why-title">
			<h2 id="why-title">{ticket ? "Why it is stopped" : "What is going wrong"}</h2>
			{list.map((s) => {
				const first = time(s.firstSeen);
				return (
					<div key={s.what} class="why-item">
						<dl class="facts why-facts">
							<div>
								<dt>What</dt>
								<dd>{s.what}</dd>
							</div>
							{s.object && (
								<div>
									<dt>Failing object</dt>
									<dd>
										<code>{s.object}</code>
									</dd>
								</div>
							)}
							<div class="why-error">
								<dt>Error</dt>
								<dd>{s.error}</dd>
							</div>
							{s.firstSeen && (
								<div>
									<dt>First seen</dt>
									<dd title={first.title}>{first.text}</dd>
								</div>
							)}
							{(s.firstSeen || s.heartbeatAgeSeconds !== undefined) && (
								<div>
									<dt>Last seen</dt>
									<dd>
										{s.heartbeatAgeSeconds !== undefined
											? `last report ${duration(s.heartbeatAgeSeconds)} ago`
											: "still open now"}
									</dd>
								</div>
							)}
							{s.retries && (
								<div>
									<dt>Retries</dt>
									<dd>{s.retries}</dd>
								</div>
							)}
						</dl>
						<p class="why-fix">
							<strong>Suggested fix:</strong> {s.fix}
						</p>
					</div>
				);
			})}
			{ticket && (
				<div class="toolbar">
					<Action access="operate" kind={can("operate") ? "primary" : "plain"} run={decide("retry")}>
						Retry step {ticket.step}
					</Action>
					<Action
						access="operate"
						run={decide("skip")}
						disabled={ticket.step.endsWith("precheck")}
						title={
							ticket.step.endsWith("precheck")
								? "the precheck records the tables to migrate: waive findings and retry instead"
								: undefined
						}
						confirm={`Skip step ${ticket.step}? Ferry will not do it.`}
					>
						Skip step {ticket.step}
					</Action>
				</div>
			)}
			{findings.length > 0 && (
				<div class="table-wrap">
					<table>
						<caption>Blocking precheck findings: waive one to accept it, then retry</caption>
						<thead>
							<tr>
								<th scope="col">Object</th>
								<th scope="col">Problem</th>
								<th scope="col">Fix</th>
								<th scope="col">Decision</th>
							</tr>
						</thead>
						<tbody>
							{findings.map((f) => (
								<tr key={f.id}>
									<td>
										<code>{f.object}</code>
									</td>
									<td>{f.message}</td>
									<td>{f.fix}</td>
									<td>
										<Action
											access="operate"
											confirm="Accept this problem? The retried precheck keeps it as a warning."
											run={async () => {
												await api.post(`/projects/${seg(project.id)}/findings/${seg(f.id ?? "")}/waive`);
												reload();
												return `Waived ${f.id}: retry the precheck to go on`;
											}}
										>
											Waive {f.id}
										</Action>
									</td>
								</tr>
							))}
						</tbody>
					</table>
				</div>
			)}
		</section>
	);
}
