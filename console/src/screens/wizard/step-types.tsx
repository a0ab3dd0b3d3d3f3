import type { MigrationType } from "../../../../shared/model/project.ts";
import { MIGRATION_TYPES, SYNC_TYPES, typesProblem } from "./draft.ts";
import type { StepProps } from "./steps.ts";

/** Step 2: the migration types; a synchronization project offers full and incremental only. */
export function TypesStep({ draft, update, synchronizes }: StepProps) {
	const flip = (t: MigrationType, on: boolean) => {
		const set = new Set(draft.types);
		if (on) set.add(t);
		else set.delete(t);
		update({ types: MIGRATION_TYPES.map((m) => m.type).filter((m) => set.has(m)) });
	};
	const problem = typesProblem(draft, synchronizes);
	return (
		<>
			<h2>Migration types</h2>
			<fieldset class="types">
				<legend>What the project does, in this order</legend>
				{MIGRATION_TYPES.map((m) => {
					const off = synchronizes && !SYNC_TYPES.includes(m.type);
					return (
						<label key={m.type} class="check">
							<input
								type="checkbox"
								checked={draft.types.includes(m.type)}
								disabled={off}
								onChange={(e) => flip(m.type, e.currentTarget.checked)}
							/>{" "}
							{synchronizes && m.type === "full"
								? "Full synchronization"
								: synchronizes && m.type === "incremental"
									? "Incremental synchronization"
									: m.label}
							<span class="hint">{off ? " (not for a message-queue destination)" : `: ${m.what}`}</span>
						</label>
					);
				})}
			</fieldset>
			<label class="check">
				<input
					type="checkbox"
					checked={draft.twoWay}
					disabled={synchronizes}
					onChange={(e) => update({ twoWay: e.currentTarget.checked })}
				/>{" "}
				Two-way synchronization
				<span class="hint"> (both databases take writes; each direction skips what the other wrote)</span>
			</label>
			{problem && (
				<p class="problem" role="alert">
					{problem}
				</p>
			)}
		</>
	);
}
