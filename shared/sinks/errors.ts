import { CodedError } from "../errors.ts";

/** A synchronization sink's failure, naming the broker object it concerns and what to do. */
export class SinkError extends CodedError<SinkErrorCode> {
	override name = "SinkError";
}

export type SinkErrorCode =
	| "BROKER_UNREACHABLE"
	/** Wrong credentials. */
	| "AUTH_FAILED"
	/** Right credentials, but an ACL refuses the operation. */
	| "NOT_AUTHORIZED"
	| "TOPIC_MISSING"
	| "TOPIC_NAME"
	/** The topic exists but cannot take what the sink sends (RocketMQ: not a FIFO topic). */
	| "TOPIC_TYPE"
	| "MESSAGE_TOO_LARGE"
	/** Another task took over the stream (Kafka: a newer producer with the stream's transactional id). */
	| "FENCED"
	| "UNSUPPORTED"
	/** The broker refused a message for another reason (its message says which). */
	| "SEND_FAILED";

/**
 * Sink failures no retry cures: the broker refuses the credentials, a topic or a message's size,
 * or the project asks for what Ferry cannot do. The stream stops with a ticket for a person.
 * Unreachable brokers and a fenced producer are retried (the broker comes back; the other task
 * gives up its lease).
 */
export function needsAPerson(err: unknown): boolean {
	return (
		err instanceof SinkError &&
		[
			"AUTH_FAILED",
			"NOT_AUTHORIZED",
			"TOPIC_MISSING",
			"TOPIC_NAME",
			"TOPIC_TYPE",
			"MESSAGE_TOO_LARGE",
			"UNSUPPORTED",
		].includes(err.code)
	);
}
