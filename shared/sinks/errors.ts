import { CodedError } from "../errors.ts";

/** A synchronization sink's failure, naming the broker object it concerns and what to do. */
export class SinkError extends CodedError<SinkErrorCode> {
	override name = "SinkError";
}

export type SinkErrorCode =
	| "BROKER_UNREACHABLE"
	| "AUTH_FAILED"
	| "TOPIC_MISSING"
	| "TOPIC_NAME"
	/** The topic exists but cannot take what the sink sends (RocketMQ: not a FIFO topic). */
	| "TOPIC_TYPE"
	| "MESSAGE_TOO_LARGE"
	| "FENCED"
	| "UNSUPPORTED"
	/** The broker refused a message for another reason (its message says which). */
	| "SEND_FAILED";
