import { useState } from "preact/hooks";
import type { DataSource } from "../../../../shared/model/datasource.ts";
import { href } from "../../router.ts";
import { notice } from "../../ui/controls.tsx";
import { useResource } from "../../ui/resource.ts";
import { Empty, Loaded } from "../../ui/states.tsx";
import { type Draft, emptyDraft, typesProblem } from "./draft.ts";
import { BasicsStep, basicsProblem } from "./step-basics.tsx";
import { ObjectsStep } from "./step-objects.tsx";
import { OptionsStep, optionsProblem } from "./step-options.tsx";
import { type Created, PrecheckStep } from "./step-precheck.tsx";
import { ReviewStep } from "./step-review.tsx";
import { TypesStep } from "./step-types.tsx";
import type { StepProps } from "./steps.ts";

const STEPS = ["Name and data sources", "Migration types", "Objects", "Options", "Precheck", "Review"];

/** The create wizard: six steps over one draft; going back keeps everything entered. */
export function WizardScreen() {
	const sources = useResource<DataSource[]>("/datasources");
	return (
		<>
			<h1>Create project</h1>
			<Loaded r={sources} what="data sources">
				{(list) =>
					list.length < 2 ? (
						<Empty title="A project needs two data sources: a source database and a destination">
							<a href={href("/datasources")}>Add data sources</a>
						</Empty>
					) : (
						<Wizard sources={list} />
					)
				}
			</Loaded>
		</>
	);
}

function Wizard({ sources }: { sources: DataSource[] }) {
	const [draft, setDraft] = useState<Draft>(emptyDraft);
	const [step, setStepNumber] = useState(0);
	// the last step's announcement is about that step
	const setStep = (n: number) => {
		notice.value = undefined;
		setStepNumber(n);
	};
	const [created, setCreated] = useState<Created | undefined>();
	const [passes, setPasses] = useState(false);
	const destination = sources.find((s) => s.id === draft.destinationId);
	const synchronizes = destination?.engine === "kafka" || destination?.engine === "rocketmq";
	const props: StepProps = { draft, update: (c) => setDraft((d) => ({ ...d, ...c })), sources, synchronizes };
	const problems = [
		basicsProblem(props),
		typesProblem(draft, synchronizes),
		draft.rules.some((r) => !r.exclude) ? undefined : "choose at least one table",
		optionsProblem(props),
		passes ? undefined : "the precheck must pass (fix or waive its blocking findings)",
		undefined,
	];
	const problem = problems[step];
	return (
		<section class="panel wizard" aria-label="Create project wizard">
			<ol class="wizard-steps">
				{STEPS.map((label, i) => (
					<li key={label} aria-current={i === step ? "step" : undefined} class={i < step ? "done" : undefined}>
						{i < step ? (
							<button type="button" class="link" onClick={() => setStep(i)}>
								{i + 1}. {label}
							</button>
						) : (
							<span>
								{i + 1}. {label}
							</span>
						)}
					</li>
				))}
			</ol>
			{step === 0 && <BasicsStep {...props} />}
			{step === 1 && <TypesStep {...props} />}
			{step === 2 && <ObjectsStep {...props} />}
			{step === 3 && <OptionsStep {...props} />}
			{step === 4 && <PrecheckStep {...props} created={created} setCreated={setCreated} setPasses={setPasses} />}
			{step === 5 && <ReviewStep {...props} created={created} />}
			<div class="wizard-nav">
				<button type="button" disabled={step === 0} onClick={() => setStep(step - 1)}>
					Back
				</button>
				{step < STEPS.length - 1 && (
					<button type="button" class="primary" disabled={problem !== undefined} onClick={() => setStep(step + 1)}>
						Next: {STEPS[step + 1]}
					</button>
				)}
				{problem && step !== 1 && <span class="hint">To go on: {problem}.</span>}
			</div>
		</section>
	);
}
