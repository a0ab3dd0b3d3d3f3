import type { SourcePosition } from "../binlog/position.ts";
import type { RowImage } from "../capture/change.ts";
import type { ColumnInfo } from "../db/introspect.ts";
import type { TableName } from "../model/rules.ts";

/*
 * What a synchronization project sends, before a message format turns it into bytes: one event
 * per row change, snapshot row, DDL statement or heartbeat. The sink target (sink-target.ts)
 * builds them from the replication stream's transaction parts and the snapshot; the formats
 * (formats/*.ts) encode them; neither side knows about the other's broker.
 * Row values keep capture's representation (shared/capture/change.ts `Value`): a format reads the
 * column's type from `SinkTable.columns` to encode each value as its own consumers expect.
 */

/** A captured table as the formats see it: its columns in ordinal order and its key. */
export interface SinkTable {
	name: TableName;
	/** Every column of the table, in ordinal order (information_schema, shared/db/introspect.ts). */
	columns: ColumnInfo[];
	/** The primary key's columns in key order (or a NOT NULL unique key's); empty for a table without one. */
	key: string[];
}

/** Where in the source an event comes from: what consumers deduplicate and order by. */
export interface EventSource {
	/** The transaction's GTID ('0-1-42' on MariaDB), if the source has GTIDs. */
	gtid?: string;
	/**
	 * The binlog file and offset where the event's transaction starts (its GTID or BEGIN event);
	 * for snapshot rows, the snapshot's binlog position.
	 */
	file: string;
	pos: number;
	/** Index of the row change within its transaction (0, 1, ...); for snapshot rows, within the snapshot. */
	rowIndex: number;
	/** Source commit time, epoch ms (snapshot rows: when the snapshot was taken). */
	commitTime: number;
	/** The source server's @@server_id. */
	serverId: number;
	/**
	 * Set on snapshot rows (op "read"): where the row stands in the snapshot, as Debezium's
	 * `source.snapshot` says it ("first", "first_in_data_collection", "true",
	 * "last_in_data_collection", "last").
	 */
	snapshot?: "first" | "first_in_data_collection" | "true" | "last_in_data_collection" | "last";
	/**
	 * Set on the last row or DDL event of its source transaction (incremental events only). A
	 * transaction arrives in parts, so only whoever builds the events from the final part knows
	 * which one is last; Maxwell's `"commit": true` is this flag.
	 */
	last?: true;
}

export interface RowEvent {
	kind: "row";
	/** "read" is a row of the full (snapshot) phase. */
	op: "insert" | "update" | "delete" | "read";
	table: SinkTable;
	/** The row before the change (update, delete). */
	before?: RowImage;
	/** The row after the change (insert, update, read). */
	after?: RowImage;
	source: EventSource;
}

export interface DdlEvent {
	kind: "ddl";
	/** The database the statement ran in (its default database). */
	database: string;
	/** The table the statement changes, when it changes one (CREATE/ALTER/DROP/RENAME/TRUNCATE TABLE). */
	table?: string;
	sql: string;
	source: EventSource;
}

/** Sent while the source is idle, so consumers' latency keeps moving (OMS HEARTBEAT). */
export interface HeartbeatEvent {
	kind: "heartbeat";
	/** Epoch ms of the heartbeat. */
	time: number;
	/** Where the stream stands. */
	position: SourcePosition;
	serverId: number;
}

/** The start or the end of a source transaction whose events the sink sends (Format.transaction). */
export interface TransactionEvent {
	kind: "transaction";
	status: "begin" | "end";
	/** The transaction's GTID, if the source has GTIDs. */
	gtid?: string;
	/** Where the transaction starts in the binlog (TransactionPart.start). */
	file: string;
	pos: number;
	/** Source commit time, epoch ms. */
	commitTime: number;
}

export type SinkEvent = RowEvent | DdlEvent | HeartbeatEvent | TransactionEvent;

/**
 * The deduplication key of a row or DDL event: the same every time the event is sent (after a
 * restart too), different for any two events. A transaction is named by its GTID or, without one,
 * by where it starts; a snapshot row by the snapshot's position.
 */
export function dedupKey(source: EventSource): string {
	if (source.snapshot) return `snapshot:${source.file}:${source.pos}#${source.rowIndex}`;
	return `${source.gtid || `${source.file}:${source.pos}`}#${source.rowIndex}`;
}
