/** State words as coloured chips, with the word always written (colour is never the only cue). */

const TONE: Record<string, string> = {
	running: "info",
	done: "ok",
	completed: "ok",
	succeeded: "ok",
	resolved: "ok",
	clean: "ok",
	failed: "bad",
	firing: "bad",
	dead: "bad",
	error: "bad",
	paused: "warn",
	waiting: "warn",
	restarting: "warn",
	new: "neutral",
	pending: "neutral",
	released: "neutral",
	stopped: "neutral",
	skipped: "neutral",
};

export function StateBadge({ state }: { state: string }) {
	return <span class={`badge badge-${TONE[state] ?? "neutral"}`}>{state}</span>;
}

/** A project's steps in order, each with its state: the strip of OMS's project list. */
export function StepStrip({ steps }: { steps: { name: string; state: string }[] }) {
	return (
		<ol class="steps" aria-label="steps">
			{steps.map((s) => (
				<li key={s.name} class={`step step-${TONE[s.state] ?? "neutral"}`} title={`${s.name}: ${s.state}`}>
					<span class="step-name">{s.name}</span>
					<span class="visually-hidden">: {s.state}</span>
				</li>
			))}
		</ol>
	);
}
