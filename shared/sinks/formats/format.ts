import type { DdlEvent, HeartbeatEvent, RowEvent } from "../event.ts";

/*
 * A message format (OMS's "serialization method"): how an event becomes a broker message's key,
 * value and headers. Formats are pure: no I/O, no clock, no broker. Topic and partition are the
 * sink's choice (topics.ts), except that a format may address an extra topic of its own
 * (Debezium's transaction metadata topic) through `topic`.
 */

export interface SinkMessage {
	/** The message key (null: none). The sink partitions by its own rule, not by this key. */
	key: Buffer | null;
	/** The message value; null is a tombstone (Debezium after a delete). */
	value: Buffer | null;
	headers?: Record<string, string>;
	/** Sent to this topic instead of the event's (a format's own side topic). */
	topic?: string;
}

export interface Format {
	/** One row change: usually one message; Debezium adds tombstones and splits a key change. */
	row(event: RowEvent): SinkMessage[];
	/** A DDL statement: one message, or none for a format that does not carry DDL. */
	ddl(event: DdlEvent): SinkMessage[];
	/** A heartbeat: one message, or none for a format without heartbeats. */
	heartbeat(event: HeartbeatEvent): SinkMessage[];
}
