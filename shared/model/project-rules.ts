import type { ProjectInput } from "./project.ts";

/*
 * Which migration types and options go together, checked by createProject (a 422 naming the
 * fix) and by the console's create wizard before it asks. Zod-free so the browser bundle can
 * import it.
 */

/** Migration types that only make sense with others, as OMS ties them. */
export function typeCombinationError(input: Pick<ProjectInput, "types" | "options">): string | undefined {
	const has = (t: ProjectInput["types"][number]) => input.types.includes(t);
	if (has("switchover") && !has("incremental")) return "switchover needs incremental migration: tick incremental too";
	if (has("reverse") && !has("switchover")) {
		return "reverse incremental starts at the switchover: tick switchover too (or use options.twoWay for two-way sync)";
	}
	if (input.options.twoWay && !has("incremental")) return "two-way sync needs incremental migration: tick incremental";
	if (input.options.twoWay && (has("reverse") || has("switchover"))) {
		return "two-way sync keeps both sides primary: there is no switchover; untick switchover and reverse (or turn twoWay off)";
	}
	return undefined;
}

/** What a synchronization project (a message-queue destination) may be, and a migration may not. */
export function synchronizationError(
	input: Pick<ProjectInput, "types" | "options" | "sync">,
	synchronizes: boolean,
): string | undefined {
	if (!synchronizes) {
		return input.sync
			? "sync options are for a Kafka or RocketMQ destination; this destination is a database"
			: undefined;
	}
	const other = input.types.filter((t) => t !== "full" && t !== "incremental");
	if (other.length > 0) {
		return `a synchronization project (to a message queue) runs full and incremental synchronization only: untick ${other.join(", ")}`;
	}
	if (input.options.twoWay) return "two-way sync needs a database at both ends: turn twoWay off";
	return undefined;
}
