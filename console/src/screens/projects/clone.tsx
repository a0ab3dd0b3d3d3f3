import { useState } from "preact/hooks";
import type { Project } from "../../../../shared/model/project.ts";
import { api, seg } from "../../api.ts";
import { navigate } from "../../router.ts";
import { can, notAllowed } from "../../session.ts";
import { Action } from "../../ui/controls.tsx";

/** "Clone…" opens a name field in place; the clone (state new, same settings) opens when made. */
export function CloneControl({ project }: { project: Project }) {
	const [open, setOpen] = useState(false);
	const [name, setName] = useState(`${project.name} copy`);
	if (!open)
		return (
			<button
				type="button"
				disabled={!can("operate")}
				title={notAllowed("operate")}
				aria-label={`Clone ${project.name}`}
				onClick={() => setOpen(true)}
			>
				Clone…
			</button>
		);
	const field = `clone-${project.id}`;
	return (
		<span class="clone">
			<label class="visually-hidden" for={field}>
				Name of the clone of {project.name}
			</label>
			<input id={field} value={name} maxLength={128} onInput={(e) => setName(e.currentTarget.value)} />
			<Action
				access="operate"
				kind="primary"
				disabled={name.trim() === ""}
				run={async () => {
					const clone = await api.post<Project>(`/projects/${seg(project.id)}/clone`, { name: name.trim() });
					navigate(`/projects/${seg(clone.id)}`);
					return `Cloned ${project.name} as ${clone.name} (${clone.id})`;
				}}
			>
				Create clone
			</Action>
			<button type="button" onClick={() => setOpen(false)}>
				Cancel
			</button>
		</span>
	);
}
