import { SinkError, type SinkErrorCode } from "../sinks/errors.ts";
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

/**
 * Sink errors no retry cures: the broker lacks a topic, refuses the credentials or a message's
 * size, or the project asks for what Ferry cannot do. Unreachable brokers and a fenced producer
 * are retried (the broker comes back; the other task gives up its lease).
 */
const SINK_NEEDS_A_PERSON: readonly SinkErrorCode[] = [
	"AUTH_FAILED",
	"TOPIC_MISSING",
	"TOPIC_NAME",
	"MESSAGE_TOO_LARGE",
	"UNSUPPORTED",
];

/** The error as a fatal stop when a person must act, else as it is (the session is retried). */
export function asFatal(err: unknown): unknown {
	if (err instanceof ReplayError && NEEDS_A_PERSON.includes(err.code)) return new FatalReplicationError(err.message);
	if (err instanceof SinkError && SINK_NEEDS_A_PERSON.includes(err.code)) return new FatalReplicationError(err.message);
	return err;
}
