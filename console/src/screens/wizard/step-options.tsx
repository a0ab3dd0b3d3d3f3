import { NUMBER_OPTIONS, type NumberOption, numberProblem } from "./draft.ts";
import type { StepProps } from "./steps.ts";
import { FormatName, SyncOperation } from "./sync-choices.ts";

/** Step 4: the project's options with their defaults shown, and the message options of a synchronization. */
export function OptionsStep({ draft, update, synchronizes }: StepProps) {
	const setNumber = (key: NumberOption, text: string) => update({ numbers: { ...draft.numbers, [key]: text } });
	const sync = draft.sync;
	const setSync = (change: Partial<typeof sync>) => update({ sync: { ...sync, ...change } });
	return (
		<>
			<h2>Options</h2>
			<p class="hint">
				Empty fields take the default shown under them. Most can be changed later while the project runs.
			</p>
			<div class="form-row">
				{(Object.keys(NUMBER_OPTIONS) as NumberOption[]).map((key) => (
					<div key={key}>
						<label for={`o-${key}`}>{NUMBER_OPTIONS[key].label}</label>
						<input
							id={`o-${key}`}
							inputMode="numeric"
							aria-describedby={`o-${key}-default`}
							value={draft.numbers[key]}
							aria-invalid={numberProblem(key, draft.numbers[key]) ? true : undefined}
							onInput={(e) => setNumber(key, e.currentTarget.value)}
						/>
						<div class="hint" id={`o-${key}-default`}>
							{NUMBER_OPTIONS[key].what}; default: {NUMBER_OPTIONS[key].empty}
						</div>
					</div>
				))}
			</div>
			<label class="check">
				<input
					type="checkbox"
					checked={draft.deferSecondaryIndexes}
					onChange={(e) => update({ deferSecondaryIndexes: e.currentTarget.checked })}
				/>{" "}
				Create secondary indexes after the copy (faster for large tables; default on)
			</label>
			{synchronizes && (
				<fieldset class="sync-options">
					<legend>Messages (synchronization)</legend>
					<div class="form-row">
						<div>
							<label for="s-format">Message format</label>
							<select
								id="s-format"
								value={sync.format}
								onChange={(e) => setSync({ format: e.currentTarget.value as typeof sync.format })}
							>
								{FormatName.map((f) => (
									<option key={f}>{f}</option>
								))}
							</select>
						</div>
						<div>
							<label for="s-topic">Topic pattern</label>
							<input id="s-topic" value={sync.topic} onInput={(e) => setSync({ topic: e.currentTarget.value })} />
						</div>
						<div>
							<label for="s-partitioning">Partitioning</label>
							<select
								id="s-partitioning"
								value={sync.partitioning}
								onChange={(e) => setSync({ partitioning: e.currentTarget.value as typeof sync.partitioning })}
							>
								<option value="key">by key (row order)</option>
								<option value="table">by table (table order)</option>
								<option value="one">one (total order)</option>
							</select>
						</div>
						<div>
							<label for="s-heartbeat">Heartbeat (ms; 0: none)</label>
							<input
								id="s-heartbeat"
								inputMode="numeric"
								value={String(sync.heartbeatIntervalMs)}
								onInput={(e) => setSync({ heartbeatIntervalMs: Number(e.currentTarget.value) || 0 })}
							/>
						</div>
						<div>
							<label for="s-server">Server name</label>
							<input
								id="s-server"
								value={sync.serverName}
								onInput={(e) => setSync({ serverName: e.currentTarget.value })}
							/>
						</div>
					</div>
					<fieldset>
						<legend>Operations sent</legend>
						{SyncOperation.map((op) => (
							<label key={op} class="check inline">
								<input
									type="checkbox"
									checked={sync.operations.includes(op)}
									onChange={(e) =>
										setSync({
											operations: e.currentTarget.checked
												? SyncOperation.filter((o) => o === op || sync.operations.includes(o))
												: sync.operations.filter((o) => o !== op),
										})
									}
								/>{" "}
								{op}
							</label>
						))}
					</fieldset>
					{sync.format === "debezium" && (
						<>
							<label class="check">
								<input
									type="checkbox"
									checked={sync.schemas}
									onChange={(e) => setSync({ schemas: e.currentTarget.checked })}
								/>{" "}
								Key and value with their schema
							</label>
							<label class="check">
								<input
									type="checkbox"
									checked={sync.tombstones}
									onChange={(e) => setSync({ tombstones: e.currentTarget.checked })}
								/>{" "}
								A tombstone after each delete
							</label>
							<label class="check">
								<input
									type="checkbox"
									checked={sync.transactionMetadata}
									onChange={(e) => setSync({ transactionMetadata: e.currentTarget.checked })}
								/>{" "}
								Transaction metadata
							</label>
						</>
					)}
				</fieldset>
			)}
		</>
	);
}

/** Why step 4 cannot be left yet, if it cannot. */
export function optionsProblem({ draft }: Pick<StepProps, "draft">): string | undefined {
	for (const key of Object.keys(NUMBER_OPTIONS) as NumberOption[]) {
		const problem = numberProblem(key, draft.numbers[key]);
		if (problem) return problem;
	}
	if (draft.sync.operations.length === 0) return "send at least one operation";
	return undefined;
}
