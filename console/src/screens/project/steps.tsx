import type { ProjectStatus } from "../../../../shared/control/status.ts";
import { StateBadge } from "../../ui/badges.tsx";
import { duration, time } from "../../ui/format.ts";

/** The project's steps in order: state, start, end and how long each took (or has taken so far). */
export function StepTimeline({ steps, now = Date.now() }: { steps: ProjectStatus["steps"]; now?: number }) {
	return (
		<section class="panel" aria-labelledby="steps-title">
			<h2 id="steps-title">Steps</h2>
			<ol class="step-timeline">
				{steps.map((s) => {
					const start = time(s.startedAt);
					const end = time(s.finishedAt);
					// a step that stopped without finishing (failed, skipped) has no duration to give
					const until = s.finishedAt ? Date.parse(s.finishedAt) : s.state === "running" ? now : undefined;
					const seconds = s.startedAt && until !== undefined ? (until - Date.parse(s.startedAt)) / 1000 : undefined;
					return (
						<li key={s.name} class={`st st-${s.state}`}>
							<span class="st-name">{s.name}</span>
							<StateBadge state={s.state} />
							<span class="st-time" title={start.title}>
								{s.startedAt ? start.text : "not started"}
							</span>
							<span class="st-time" title={end.title}>
								{s.finishedAt ? `→ ${end.text}` : ""}
							</span>
							<span class="st-dur">
								{seconds === undefined ? "" : `${duration(seconds)}${s.finishedAt ? "" : " so far"}`}
							</span>
						</li>
					);
				})}
			</ol>
		</section>
	);
}
