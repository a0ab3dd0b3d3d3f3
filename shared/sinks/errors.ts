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
	| "MESSAGE_TOO_LARGE"
	| "FENCED"
	| "UNSUPPORTED";
