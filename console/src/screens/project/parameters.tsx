import { useState } from "preact/hooks";
import type { ProjectParameters } from "../../../../shared/control/parameters.ts";
import { api, seg } from "../../api.ts";
import { can } from "../../session.ts";
import { Action } from "../../ui/controls.tsx";
import { useResource } from "../../ui/resource.ts";
import { Loaded } from "../../ui/states.tsx";
import type { TabProps } from "./tab.ts";

type Name = keyof ProjectParameters["parameters"];

const LABELS: Record<Name, string> = {
	parallelism: "Copy parallelism (chunks at once)",
	maxRowsPerSecond: "Copy throttle, rows per second",
	maxBytesPerSecond: "Copy throttle, bytes per second",
	verifyConcurrency: "Verification chunks at once",
	replayBatchSize: "Replay batch (source transactions per commit)",
	parallelApply: "Parallel apply connections",
};

/** States in which Ferry accepts a change (shared/control/parameters.ts CHANGEABLE). */
const CHANGEABLE = ["new", "running", "paused", "failed"];

/** Runtime parameters, changed while the project runs; an empty field removes a throttle or goes back to the default. */
export function ParametersTab({ project, reload }: TabProps) {
	const params = useResource<ProjectParameters>(`/projects/${seg(project.id)}/parameters`);
	return (
		<Loaded r={params} what="the parameters">
			{(p) => (
				<Form
					key={JSON.stringify(p.parameters)}
					current={p}
					save={async (patch) => {
						await api.patch(`/projects/${seg(project.id)}/parameters`, patch);
						params.reload();
						reload();
					}}
				/>
			)}
		</Loaded>
	);
}

function Form({
	current,
	save,
}: {
	current: ProjectParameters;
	save(patch: Record<string, number | null>): Promise<void>;
}) {
	const names = Object.keys(current.parameters) as Name[];
	const text = (v: number | null) => (v === null ? "" : String(v));
	const [values, setValues] = useState<Record<string, string>>(
		Object.fromEntries(names.map((n) => [n, text(current.parameters[n])])),
	);
	const changed = names.filter((n) => values[n] !== text(current.parameters[n]));
	const open = CHANGEABLE.includes(current.state);
	return (
		<form class="panel params" onSubmit={(e) => e.preventDefault()}>
			{!open && <p class="hint">The parameters cannot change while the project is {current.state}.</p>}
			{names.map((n) => (
				<div class="form-row" key={n}>
					<label for={`param-${n}`}>{LABELS[n] ?? n}</label>
					<input
						id={`param-${n}`}
						type="number"
						min={1}
						step={1}
						value={values[n]}
						placeholder={n === "parallelism" ? "" : "unset"}
						disabled={!can("operate") || !open}
						aria-describedby={`param-${n}-when`}
						onInput={(e) => setValues({ ...values, [n]: (e.target as HTMLInputElement).value })}
					/>
					<p class="hint" id={`param-${n}-when`}>
						Takes effect: {current.takesEffect[n]}
					</p>
				</div>
			))}
			<div class="toolbar">
				<Action
					access="operate"
					kind="primary"
					disabled={changed.length === 0 || !open}
					title={changed.length === 0 ? "change a value first" : undefined}
					run={async () => {
						const patch = Object.fromEntries(changed.map((n) => [n, values[n]?.trim() ? Number(values[n]) : null]));
						await save(patch);
						return `Parameters changed: ${changed.join(", ")}`;
					}}
				>
					Save {changed.length > 0 ? `${changed.length} change(s)` : "changes"}
				</Action>
			</div>
		</form>
	);
}
