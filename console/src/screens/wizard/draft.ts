import { OPTION_RANGES, TAG_LIMITS } from "../../../../shared/model/option-ranges.ts";
import type { MigrationType, ProjectInput } from "../../../../shared/model/project.ts";
import { synchronizationError, typeCombinationError } from "../../../../shared/model/project-rules.ts";
import type { TableRule } from "../../../../shared/model/rules.ts";
import type { SyncOptions } from "../../../../shared/model/sync.ts";

/** Everything the create wizard has been told so far; going back and forth keeps it. */
export interface Draft {
	name: string;
	/** Comma-separated, as typed. */
	tags: string;
	sourceId: string;
	destinationId: string;
	types: MigrationType[];
	rules: TableRule[];
	/** Number options as typed ("" means the default); booleans as ticked. */
	numbers: Record<NumberOption, string>;
	deferSecondaryIndexes: boolean;
	twoWay: boolean;
	sync: SyncOptions;
}

/** ProjectInput's number options, with what leaving each empty means (shared/model/project.ts). */
export const NUMBER_OPTIONS = {
	parallelism: { label: "Parallelism", what: "chunks copied at once", empty: "4" },
	chunkRows: { label: "Rows per chunk", what: "of the full copy", empty: "100000" },
	maxRowsPerSecond: { label: "Max rows/s", what: "the copy's throttle", empty: "no limit" },
	maxBytesPerSecond: { label: "Max bytes/s", what: "the copy's throttle", empty: "no limit" },
	verifyConcurrency: { label: "Verify concurrency", what: "verification chunks at once", empty: "as parallelism" },
	replayBatchSize: { label: "Replay batch", what: "transactions per commit", empty: "1000; 200 with parallel apply" },
	parallelApply: { label: "Parallel apply", what: "destination connections replay uses", empty: "1" },
	queryTimeoutSeconds: { label: "Statement timeout (s)", what: "longest copy or verify statement", empty: "3600" },
} as const;
export type NumberOption = keyof typeof NUMBER_OPTIONS;

/** SyncOptions' defaults (shared/model/sync.ts), shown and sent as they are unless changed. */
export const SYNC_DEFAULTS: SyncOptions = {
	format: "default",
	topic: "{database}.{table}",
	partitioning: "key",
	operations: ["insert", "update", "delete", "ddl"],
	heartbeatIntervalMs: 5000,
	serverName: "ferry",
	schemas: false,
	tombstones: true,
	transactionMetadata: false,
};

export const MIGRATION_TYPES: { type: MigrationType; label: string; what: string }[] = [
	{
		type: "schema",
		label: "Schema migration",
		what: "creates the databases, tables, views and routines at the destination",
	},
	{ type: "full", label: "Full migration", what: "copies the rows there are now, in chunks" },
	{ type: "incremental", label: "Incremental migration", what: "replays the source's changes from its binlog" },
	{ type: "verification", label: "Full verification", what: "compares every row at both ends after the copy" },
	{ type: "switchover", label: "Switchover", what: "moves the application's writes to the destination" },
	{ type: "reverse", label: "Reverse incremental", what: "replays the destination's changes back after the switch" },
];

/** A synchronization project (to Kafka or RocketMQ) runs these only. */
export const SYNC_TYPES: MigrationType[] = ["full", "incremental"];

export function emptyDraft(): Draft {
	return {
		name: "",
		tags: "",
		sourceId: "",
		destinationId: "",
		types: ["schema", "full", "incremental"],
		rules: [],
		numbers: Object.fromEntries(Object.keys(NUMBER_OPTIONS).map((k) => [k, ""])) as Draft["numbers"],
		deferSecondaryIndexes: true,
		twoWay: false,
		sync: { ...SYNC_DEFAULTS },
	};
}

export const tagList = (tags: string) =>
	tags
		.split(",")
		.map((t) => t.trim())
		.filter((t) => t !== "");

/** Why the tags as typed are not acceptable (the API's limits), if they are not. */
export function tagsProblem(tags: string): string | undefined {
	const list = tagList(tags);
	if (list.length > TAG_LIMITS.count) return `at most ${TAG_LIMITS.count} tags`;
	const long = list.find((t) => t.length > TAG_LIMITS.length);
	return long ? `a tag has at most ${TAG_LIMITS.length} characters: '${long.slice(0, 20)}…' has more` : undefined;
}

/** What POST /projects gets; number fields left empty are left out (the API's defaults apply). */
export function projectInput(d: Draft, synchronizes: boolean): ProjectInput {
	const options: Record<string, number | boolean> = {
		deferSecondaryIndexes: d.deferSecondaryIndexes,
		twoWay: d.twoWay,
	};
	for (const [key, text] of Object.entries(d.numbers)) if (text.trim() !== "") options[key] = Number(text);
	return {
		name: d.name.trim(),
		sourceId: d.sourceId,
		destinationId: d.destinationId,
		types: d.types,
		objects: d.rules,
		options: options as ProjectInput["options"],
		...(synchronizes ? { sync: d.sync } : {}),
		tags: tagList(d.tags),
	};
}

/** Why the chosen types and options cannot go together (the API's own rules), if they cannot. */
export function typesProblem(d: Draft, synchronizes: boolean): string | undefined {
	if (d.types.length === 0) return "tick at least one migration type";
	const shape = { types: d.types, options: { twoWay: d.twoWay } as ProjectInput["options"] };
	return typeCombinationError(shape) ?? synchronizationError({ ...shape, sync: undefined }, synchronizes);
}

/** Why a number option is not acceptable as typed, if it is not. */
export function numberProblem(key: NumberOption, text: string): string | undefined {
	if (text.trim() === "") return undefined;
	const n = Number(text);
	const { min, max } = OPTION_RANGES[key];
	if (!Number.isInteger(n) || n < min || n > max)
		return `${NUMBER_OPTIONS[key].label}: a whole number from ${min.toLocaleString("en")} to ${max.toLocaleString("en")}, or empty for the default`;
	return undefined;
}
