/**
 * Format versions of everything Ferry persists, in one place (decisions/2026-12-06-format-versions.md).
 *
 * Each persisted kind has a current format: writers stamp it (`FORMAT_ATTRIBUTE` on a state item,
 * the `format` column of a checkpoint row, the `format` field of a Kafka checkpoint record), and
 * readers bring an older one up to it by running the kind's upgraders in order before anything
 * else reads it (zod included). A format newer than this code knows is refused with
 * FormatTooNewError: an older Ferry must never read, and then write back, what it does not
 * understand. What an older Ferry wrote before formats existed carries none: format 1.
 *
 * Adding a format change: write the upgrader from the current format to the next (pure, from the
 * stored record to the new one, tested in test/state/format.test.ts) and append it to its kind's
 * list; the current format is the list's length + 1. Change the readers and writers to the new
 * shape only: the upgrader is the one place that knows the old one.
 */

/** The attribute of a state item holding its format (`version` is the optimistic-concurrency counter). */
export const FORMAT_ATTRIBUTE = "format";

/** A stored record as an upgrader sees it: its attributes, untyped (it may be any older format). */
export type StoredRecord = Record<string, unknown>;
/** Turns a record of format n into format n + 1; pure (no I/O, no clock). */
export type Upgrader = (record: StoredRecord) => StoredRecord;

/**
 * Chunk items, format 1 -> 2: a failed chunk's pause before its next attempt moves from
 * `deadline` to `retryAt`. Format 1 used `deadline` for two things: when a queued or leased
 * chunk counts as abandoned, and when a pending (failed) chunk may be tried again; format 2
 * keeps `deadline` for the first only. A pending chunk's `deadline` was its retry time.
 */
export function chunkV1ToV2(record: StoredRecord): StoredRecord {
	if (record.state !== "pending" || record.deadline === undefined) return record;
	const { deadline, ...rest } = record;
	return { ...rest, retryAt: deadline };
}

/**
 * Every persisted kind and its upgraders, oldest first. State items are kinds by their partition
 * (keys.ts `itemKind`); `checkpoint` is the replay checkpoint row (`ferry_meta.checkpoints`) and
 * `kafka-checkpoint` a Kafka synchronization stream's checkpoint record (topic `ferry-offsets`).
 */
const UPGRADERS = {
	datasource: [],
	project: [],
	table: [],
	chunk: [chunkV1ToV2],
	"verify-plan": [],
	report: [],
	stream: [],
	"sink-checkpoint": [],
	triggers: [],
	event: [],
	"alert-settings": [],
	"alert-state": [],
	alert: [],
	progress: [],
	checkpoint: [],
	"kafka-checkpoint": [],
} satisfies Record<string, readonly Upgrader[]>;

export type FormatKind = keyof typeof UPGRADERS;

/** The format this code writes for `kind`. */
export function currentFormat(kind: FormatKind): number {
	return UPGRADERS[kind].length + 1;
}

/** A stored record is newer than this code: reading it could lose what it does not know, writing it back would. */
export class FormatTooNewError extends Error {
	constructor(
		readonly what: string,
		readonly stored: number,
		readonly known: number,
	) {
		super(
			`${what} is in format ${stored}, newer than this Ferry knows (format ${known}): ` +
				"a newer Ferry wrote it; upgrade Ferry (a downgrade cannot read it back)",
		);
		this.name = "FormatTooNewError";
	}
}

/** A record's stored format: absent (written before formats existed) is 1. */
export function formatOf(value: unknown, what: string): number {
	if (value === undefined || value === null) return 1;
	const n = Number(value);
	if (!Number.isInteger(n) || n < 1) throw new Error(`${what} has an invalid format '${String(value)}'`);
	return n;
}

/**
 * Brings `record`, stored in format `from`, up to the current format of `kind`; `what` names it in
 * errors. Returns the record unchanged (the same object) when it is current.
 */
export function upgradeRecord(kind: FormatKind, from: number, record: StoredRecord, what: string): StoredRecord {
	const upgraders: readonly Upgrader[] = UPGRADERS[kind];
	const current = upgraders.length + 1;
	if (from > current) throw new FormatTooNewError(what, from, current);
	let upgraded = record;
	for (let format = from; format < current; format++) upgraded = (upgraders[format - 1] as Upgrader)(upgraded);
	return upgraded;
}
