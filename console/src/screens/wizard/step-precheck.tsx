import { useEffect, useState } from "preact/hooks";
import type { PrecheckDryRun } from "../../../../shared/control/before-start.ts";
import type { Finding, Project } from "../../../../shared/model/project.ts";
import { api, seg } from "../../api.ts";
import { can, notAllowed } from "../../session.ts";
import { Action } from "../../ui/controls.tsx";
import { Empty, Failure, Loading } from "../../ui/states.tsx";
import { projectInput } from "./draft.ts";
import type { StepProps } from "./steps.ts";

/** The project the wizard created, and the input it was created from (to tell whether it is stale). */
export interface Created {
	project: Project;
	sent: string;
}

interface PrecheckProps extends StepProps {
	created?: Created;
	setCreated: (c: Created | undefined) => void;
	setPasses: (passes: boolean) => void;
}

/**
 * Makes the project (state new) match the draft: created the first time; after going back, its
 * objects are replaced when only they changed, otherwise a new project replaces it (the old one
 * deleted by an admin, released by an operator). Says what it did.
 */
async function ensureProject(props: PrecheckProps): Promise<{ created: Created; note?: string }> {
	const input = projectInput(props.draft, props.synchronizes);
	const sent = JSON.stringify(input);
	const old = props.created;
	if (old && old.sent === sent) return { created: old };
	if (old) {
		const before = JSON.parse(old.sent) as typeof input;
		if (JSON.stringify({ ...before, objects: input.objects }) === sent) {
			const project = await api.put<Project>(`/projects/${seg(old.project.id)}/objects`, {
				format: "ferry-objects/1",
				objects: input.objects,
			});
			return { created: { project, sent }, note: `objects of ${project.id} replaced` };
		}
	}
	const project = await api.post<Project>("/projects", input);
	let note: string | undefined;
	if (old) {
		// the new project is kept whatever happens to the old one: a failed clean-up is said, not thrown
		const id = seg(old.project.id);
		const how = can("admin") ? "deleted" : "released";
		try {
			if (can("admin")) await api.del(`/projects/${id}`);
			else await api.post(`/projects/${id}/actions/release`);
			note = `${project.id} replaces ${old.project.id} (${how}): its settings changed`;
		} catch (err) {
			note = `${project.id} replaces ${old.project.id}, which could not be ${how} (${(err as Error).message}): remove it from the projects list`;
		}
	}
	return { created: { project, sent }, note };
}

const LEVEL: Record<string, { text: string; badge: string }> = {
	error: { text: "blocking", badge: "bad" },
	warning: { text: "warning", badge: "warn" },
	waived: { text: "waived", badge: "neutral" },
};

/** Step 5: create the project (not started) and dry-run its precheck; blocking findings can be waived one by one. */
export function PrecheckStep(props: PrecheckProps) {
	const [run, setRun] = useState<{ result?: PrecheckDryRun; error?: Error; note?: string; busy: boolean }>({
		busy: false,
	});
	const check = async () => {
		setRun((r) => ({ ...r, busy: true, error: undefined }));
		try {
			const { created, note } = await ensureProject(props);
			props.setCreated(created);
			const result = await api.post<PrecheckDryRun>(`/projects/${seg(created.project.id)}/precheck`);
			props.setPasses(result.passes);
			setRun({ result, note, busy: false });
		} catch (error) {
			props.setPasses(false);
			setRun({ error: error as Error, busy: false });
		}
	};
	const allowed = can("operate");
	// runs on arrival for a role that may create projects; a viewer sees why it cannot
	useEffect(() => {
		if (allowed) check();
	}, []);
	if (!allowed)
		return (
			<>
				<h2>Precheck</h2>
				<Empty title="Creating the project and running its precheck needs the operator role">
					<button type="button" disabled title={notAllowed("operate")}>
						Create the project and run the precheck
					</button>
				</Empty>
			</>
		);
	const id = props.created?.project.id;
	return (
		<>
			<h2>Precheck</h2>
			{id && (
				<p class="hint">
					Project <code>{id}</code> is created and not started; the precheck below is a dry run that changes nothing.
					{run.note && ` (${run.note})`}
				</p>
			)}
			{run.busy && <Loading what="the precheck's findings (connecting to both data sources)" />}
			{run.error && <Failure error={run.error} retry={check} />}
			{run.result && !run.busy && (
				<Findings findings={run.result.findings} passes={run.result.passes} projectId={id ?? ""} recheck={check} />
			)}
		</>
	);
}

function Findings(props: { findings: Finding[]; passes: boolean; projectId: string; recheck: () => Promise<void> }) {
	// blocking ones first, then warnings, each in the order the precheck found them
	const findings = [...props.findings].sort((a, b) => Number(b.level === "error") - Number(a.level === "error"));
	return (
		<>
			<p class={props.passes ? "verdict verdict-ok" : "verdict verdict-bad"} role="status">
				{props.passes
					? `The precheck passes${findings.length ? ` with ${findings.length} warning(s)` : ""}.`
					: `${findings.filter((f) => f.level === "error").length} blocking finding(s): fix them (go back and change the objects or options) or waive them.`}
			</p>
			{findings.length === 0 ? (
				<Empty title="No findings: nothing stands in the way." />
			) : (
				<div class="table-wrap">
					<table class="findings">
						<caption class="visually-hidden">Precheck findings</caption>
						<thead>
							<tr>
								<th scope="col">Level</th>
								<th scope="col">Object</th>
								<th scope="col">Finding</th>
								<th scope="col">Fix</th>
								<th scope="col">
									<span class="visually-hidden">Waive</span>
								</th>
							</tr>
						</thead>
						<tbody>
							{findings.map((f) => {
								const level = LEVEL[f.waived ? "waived" : f.level] ?? { text: f.level, badge: "neutral" };
								return (
									<tr key={f.id ?? `${f.object}:${f.message}`}>
										<td>
											<span class={`badge badge-${level.badge}`}>{level.text}</span>
										</td>
										<td>
											<code>{f.object}</code>
										</td>
										<td>{f.message}</td>
										<td>{f.fix}</td>
										<td>
											{f.level === "error" && f.id && (
												<Action
													access="operate"
													confirm="Accept this risk and let the precheck pass it?"
													run={async () => {
														await api.post(`/projects/${seg(props.projectId)}/findings/${seg(f.id ?? "")}/waive`);
														await props.recheck();
														return `Waived: ${f.object}`;
													}}
												>
													Waive<span class="visually-hidden"> {f.object}</span>
												</Action>
											)}
										</td>
									</tr>
								);
							})}
						</tbody>
					</table>
				</div>
			)}
			<button type="button" class="after-table" onClick={() => props.recheck()}>
				Run the precheck again
			</button>
		</>
	);
}
