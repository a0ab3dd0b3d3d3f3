import type { DdlEvent, HeartbeatEvent, RowEvent, TransactionEvent } from "../event.ts";

/*
 * A message format (OMS's "serialization method"): how an event becomes a broker message's key,
 * value and headers. Formats are pure: no I/O, no clock, no broker (a format may count events
 * between transaction boundaries, nothing more). Topic and partition are the
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
	/**
	 * A source transaction's boundary, for formats that describe transactions (Debezium's
	 * transaction metadata). The sink calls it with "begin" before the first event of a
	 * transaction it sends and with "end" after its last, in order, never interleaved; between
	 * the two the format may count the transaction's events. Formats without it ignore boundaries.
	 */
	transaction?(event: TransactionEvent): SinkMessage[];
}
