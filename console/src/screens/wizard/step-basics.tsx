import { SYNC_TYPES, tagsProblem } from "./draft.ts";
import type { StepProps } from "./steps.ts";

const isBroker = (engine: string) => engine === "kafka" || engine === "rocketmq";

/** Step 1: name, tags, and which data sources: a broker destination makes it a synchronization. */
export function BasicsStep({ draft, update, sources, synchronizes }: StepProps) {
	const databases = sources.filter((s) => !isBroker(s.engine));
	return (
		<>
			<h2>Name and data sources</h2>
			<div class="form-row">
				<div>
					<label for="w-name">Project name</label>
					<input
						id="w-name"
						required
						maxLength={128}
						value={draft.name}
						onInput={(e) => update({ name: e.currentTarget.value })}
					/>
				</div>
				<div>
					<label for="w-tags">Tags (comma-separated)</label>
					<input
						id="w-tags"
						value={draft.tags}
						placeholder="e.g. shop, q3"
						onInput={(e) => update({ tags: e.currentTarget.value })}
					/>
				</div>
			</div>
			<div class="form-row">
				<div>
					<label for="w-source">Source (a database)</label>
					<select
						id="w-source"
						value={draft.sourceId}
						onChange={(e) => update({ sourceId: e.currentTarget.value, rules: [] })}
					>
						<option value="">choose…</option>
						{databases.map((s) => (
							<option key={s.id} value={s.id}>
								{s.name} ({s.engine})
							</option>
						))}
					</select>
				</div>
				<div>
					<label for="w-destination">Destination (a database, Kafka or RocketMQ)</label>
					<select
						id="w-destination"
						value={draft.destinationId}
						onChange={(e) => {
							const to = sources.find((s) => s.id === e.currentTarget.value);
							const sync = to !== undefined && isBroker(to.engine);
							update({
								destinationId: e.currentTarget.value,
								...(sync ? { types: draft.types.filter((t) => SYNC_TYPES.includes(t)), twoWay: false } : {}),
							});
						}}
					>
						<option value="">choose…</option>
						{sources
							.filter((s) => s.id !== draft.sourceId)
							.map((s) => (
								<option key={s.id} value={s.id}>
									{s.name} ({s.engine})
								</option>
							))}
					</select>
				</div>
			</div>
			<p class="hint" role="status">
				{draft.destinationId === ""
					? "Choose where the data goes."
					: synchronizes
						? "Type: synchronization. The destination is a message queue: rows and changes become messages."
						: "Type: migration. The destination is a database."}
			</p>
		</>
	);
}

/** Why step 1 cannot be left yet, if it cannot. */
export function basicsProblem({ draft }: Pick<StepProps, "draft">): string | undefined {
	if (draft.name.trim() === "") return "give the project a name";
	if (!draft.sourceId) return "choose the source";
	if (!draft.destinationId) return "choose the destination";
	return tagsProblem(draft.tags);
}
