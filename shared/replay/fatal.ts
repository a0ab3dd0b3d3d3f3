import { FeedError, FeedFormatError } from "../feed/event.ts";
import { needsAPerson } from "../sinks/errors.ts";
import { ReplayError, type ReplayErrorCode } from "./replay-error.ts";

/** Replay stopped on something a person must decide; the scheduler turns it into a ticket. */
export class FatalReplicationError extends Error {
	constructor(
		message: string,
		readonly gtid?: string,
		readonly statement?: string,
	) {
		super(message);
		this.name = "FatalReplicationError";
	}
}

/**
 * Replay errors that no retry cures: the target lacks what the stream must write (a table, a
 * column whose values would otherwise be lost). A person puts the target right, then retries.
 */
const NEEDS_A_PERSON: readonly ReplayErrorCode[] = [
	"DESTINATION_TABLE_MISSING",
	"DESTINATION_COLUMN_MISSING",
	"UNREPLICATED_COLUMN",
];

/** The error as a fatal stop when a person must act, else as it is (the session is retried). */
export function asFatal(err: unknown): unknown {
	if (err instanceof ReplayError && NEEDS_A_PERSON.includes(err.code)) return new FatalReplicationError(err.message);
	if (needsAPerson(err)) return new FatalReplicationError((err as Error).message);
	// a change feed that lacks what Ferry needs, or lost changes: no retry brings them back
	if (err instanceof FeedError || err instanceof FeedFormatError) return new FatalReplicationError(err.message);
	return err;
}
