import { useState } from "preact/hooks";
import type { Project } from "../../../../shared/model/project.ts";
import { type ProjectAction, TRANSITIONS, UNDELETABLE } from "../../../../shared/model/transitions.ts";
import { api, seg } from "../../api.ts";
import { Action } from "../../ui/controls.tsx";

type BatchAction = ProjectAction | "delete";

const PAST: Record<BatchAction, string> = {
	start: "started",
	pause: "paused",
	resume: "resumed",
	release: "released",
	delete: "deleted",
};

/** Whether the API allows the action in the project's state (the same table it checks). */
export function allows(action: BatchAction, p: Project): boolean {
	return action === "delete" ? !UNDELETABLE.includes(p.state) : TRANSITIONS[action].from.includes(p.state);
}

interface Outcome {
	id: string;
	name: string;
	ok: boolean;
	text: string;
}

/**
 * Start, pause, resume, release or delete the selected projects: each button is enabled when at
 * least one selected project's state allows it; projects it does not apply to are reported as
 * left alone, and each call's answer (or refusal) is listed per project.
 */
export function BatchBar({ selected, reload }: { selected: Project[]; reload: () => void }) {
	const [outcomes, setOutcomes] = useState<{ action: BatchAction; list: Outcome[] } | undefined>();
	const run = (action: BatchAction) => async () => {
		const list = await Promise.all(
			selected.map(async (p): Promise<Outcome> => {
				const base = { id: p.id, name: p.name };
				if (!allows(action, p)) return { ...base, ok: false, text: `left alone: it is ${p.state}` };
				try {
					if (action === "delete") await api.del(`/projects/${seg(p.id)}`);
					else await api.post(`/projects/${seg(p.id)}/actions/${action}`);
					return { ...base, ok: true, text: PAST[action] };
				} catch (err) {
					return { ...base, ok: false, text: (err as Error).message };
				}
			}),
		);
		setOutcomes({ action, list });
		reload();
		const done = list.filter((o) => o.ok).length;
		return `${action}: ${done} of ${list.length} selected project(s) ${PAST[action]}`;
	};
	const count = (action: BatchAction) => selected.filter((p) => allows(action, p)).length;
	const button = (action: BatchAction, label: string, access: "operate" | "admin", confirm?: string) => {
		const n = count(action);
		return (
			<Action
				access={access}
				run={run(action)}
				disabled={n === 0}
				title={n === 0 ? `no selected project can be ${PAST[action]} in its state` : undefined}
				kind={action === "delete" ? "danger" : "plain"}
				confirm={confirm?.replace("N", String(n))}
			>
				{label}
				{n > 0 ? ` (${n})` : ""}
			</Action>
		);
	};
	return (
		<div class="batch">
			<div class="toolbar" role="toolbar" aria-label="Actions on the selected projects">
				<span>{selected.length === 0 ? "Select projects to act on them." : `${selected.length} selected:`}</span>
				{button("start", "Start", "operate")}
				{button("pause", "Pause", "operate")}
				{button("resume", "Resume", "operate")}
				{button("release", "Release", "operate", "Release N project(s) for good?")}
				{button("delete", "Delete", "admin", "Delete N project(s)?")}
			</div>
			{outcomes && (
				<section class="batch-outcomes" aria-label="What the last batch action did">
					<h2 class="visually-hidden">What the last batch action did</h2>
					<ul>
						{outcomes.list.map((o) => (
							<li key={o.id} class={o.ok ? "yes" : "no"}>
								<strong>{o.name}</strong> ({o.id}): {o.ok ? "" : `not ${PAST[outcomes.action]}, `}
								{o.text}
							</li>
						))}
					</ul>
					<button type="button" class="link" onClick={() => setOutcomes(undefined)}>
						Clear
					</button>
				</section>
			)}
		</div>
	);
}
