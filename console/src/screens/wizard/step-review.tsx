import type { ProjectInput } from "../../../../shared/model/project.ts";
import { api, seg } from "../../api.ts";
import { navigate } from "../../router.ts";
import { Action, notice } from "../../ui/controls.tsx";
import { MIGRATION_TYPES, NUMBER_OPTIONS, type NumberOption } from "./draft.ts";
import type { Created } from "./step-precheck.tsx";
import type { StepProps } from "./steps.ts";

/** Step 6: everything chosen, then start the project or leave it created and not started. */
export function ReviewStep({ draft, sources, synchronizes, created }: StepProps & { created?: Created }) {
	const name = (id: string) => sources.find((s) => s.id === id)?.name ?? id;
	if (!created) return <p class="problem">Run the precheck first: it creates the project.</p>;
	const input = JSON.parse(created.sent) as ProjectInput;
	const id = created.project.id;
	const types = MIGRATION_TYPES.filter((m) => input.types.includes(m.type)).map((m) => m.label);
	const numbers = (Object.keys(NUMBER_OPTIONS) as NumberOption[]).map(
		(k) => `${NUMBER_OPTIONS[k].label}: ${draft.numbers[k].trim() || `${NUMBER_OPTIONS[k].empty} (default)`}`,
	);
	return (
		<>
			<h2>Review</h2>
			<dl class="facts review">
				<div>
					<dt>Project</dt>
					<dd>
						{input.name} (<code>{id}</code>, {synchronizes ? "synchronization" : "migration"}, not started)
					</dd>
				</div>
				<div>
					<dt>Tags</dt>
					<dd>{input.tags.length ? input.tags.join(", ") : "none"}</dd>
				</div>
				<div>
					<dt>From → to</dt>
					<dd>
						{name(input.sourceId)} → {name(input.destinationId)}
					</dd>
				</div>
				<div>
					<dt>Types</dt>
					<dd>
						{types.join(", ")}
						{input.options.twoWay ? ", two-way" : ""}
					</dd>
				</div>
				<div>
					<dt>Object rules</dt>
					<dd>
						<ol class="review-rules">
							{input.objects.map((r, i) => (
								<li key={i}>
									<code>
										{r.database}.{r.table}
									</code>
									{r.exclude ? " excluded" : ""}
									{r.renameDatabase || r.renameTable
										? ` → ${r.renameDatabase ?? r.database}.${r.renameTable ?? r.table}`
										: ""}
									{r.where ? ` where ${r.where}` : ""}
									{r.columns ? ` (columns ${r.columns.join(", ")})` : ""}
								</li>
							))}
						</ol>
					</dd>
				</div>
				<div>
					<dt>Options</dt>
					<dd>
						<ul class="plain">
							{numbers.map((n) => (
								<li key={n}>{n}</li>
							))}
							<li>Secondary indexes after the copy: {input.options.deferSecondaryIndexes ? "yes" : "no"}</li>
							{input.sync && (
								<li>
									Messages: {input.sync.format} to <code>{input.sync.topic}</code>, partitioned by{" "}
									{input.sync.partitioning}, sending {input.sync.operations.join(", ")}
								</li>
							)}
						</ul>
					</dd>
				</div>
			</dl>
			<div class="toolbar">
				<Action
					access="operate"
					kind="primary"
					run={async () => {
						await api.post(`/projects/${seg(id)}/actions/start`);
						navigate(`/projects/${seg(id)}`);
						return `Project ${input.name} started`;
					}}
				>
					Start project
				</Action>
				<button
					type="button"
					onClick={() => {
						notice.value = { kind: "ok", text: `Project ${input.name} (${id}) is created and not started` };
						navigate("/projects");
					}}
				>
					Leave it not started
				</button>
			</div>
		</>
	);
}
