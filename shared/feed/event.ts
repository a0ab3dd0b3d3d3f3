import type { RowImage } from "../capture/change.ts";
import type { ColumnInfo } from "../db/introspect.ts";
import type { FeedFormatName } from "../model/feed.ts";
import type { TableName } from "../model/rules.ts";

/*
 * A change feed: row changes another program wrote into Kafka (TiCDC for TiDB, or Ferry's own
 * synchronization output), read back as the second kind of capture. A feed format (formats.ts)
 * turns each Kafka record into feed events; the merge (merge.ts) puts them into commit order
 * across partitions and drops duplicates; the reader (reader.ts) hands them to replay as the
 * transaction parts a binlog reader would give (shared/capture/change.ts).
 */

/** One Kafka record as a feed format reads it. */
export interface FeedRecord {
	topic: string;
	partition: number;
	offset: bigint;
	key: Buffer | null;
	value: Buffer | null;
}

/**
 * The source transaction an event belongs to. Events with the same `id` are one transaction;
 * `order` sorts transactions into the source's commit order (TiCDC: the commit TSO; Ferry's
 * Debezium output: binlog file number and offset; its Canal output: the GTID's sequence number).
 */
export interface FeedTransaction {
	id: string;
	order: bigint;
	/** Source commit time, epoch milliseconds (TiCDC: the TSO's physical part). */
	commitTime: number;
	/** TiCDC: the commit TSO, as a decimal string (64 bits: never a JavaScript number). */
	commitTs?: string;
	/** Ferry's output: the transaction's GTID ('0-1-42'), when the source has GTIDs. */
	gtid?: string;
	/** Ferry's Debezium output: where the transaction starts in the source's binlog. */
	file?: string;
	pos?: number;
}

/** A row as the message carries it: column name to the message's own value (strings, numbers, base64, ...). */
export type RawImage = Record<string, unknown>;

export interface FeedRow {
	kind: "row";
	/** The row's place in its transaction, where the message says (Debezium `source.row`): the order to apply them in. */
	index?: number;
	/** "read": a row of a synchronization's snapshot (Debezium op "r"), not a change. */
	op: "insert" | "update" | "delete" | "read";
	table: TableName;
	/** The row before the change (update, delete). A delete may carry only the key columns (open-protocol). */
	before?: RawImage;
	/** The row after the change (insert, update, read). */
	after?: RawImage;
	/**
	 * Column types the message states (canal-json `mysqlType`, open-protocol type codes), for a
	 * column the source table no longer has; `FeedFormat.values` prefers the table's own.
	 */
	types?: Record<string, string>;
	transaction: FeedTransaction;
}

export interface FeedDdl {
	kind: "ddl";
	/** The database the statement ran in (its default database). */
	database: string;
	/** The table the statement changes, when the message names one. */
	table?: string;
	sql: string;
	transaction: FeedTransaction;
}

/**
 * A partition's promise that every event ordered at or below `order` has been written before it
 * (TiCDC's WATERMARK and resolved events: `order` is their TSO).
 */
export interface FeedWatermark {
	kind: "watermark";
	order: bigint;
	/** Its TSO as a decimal string (TiCDC). */
	ts?: string;
}

export type FeedEvent = FeedRow | FeedDdl | FeedWatermark;

export interface FeedFormat {
	name: FeedFormatName;
	/**
	 * How the reader knows a transaction is complete: "watermarks" (TiCDC: once every partition's
	 * watermark has passed it) or "transactions" (Ferry's Kafka output: a source transaction is
	 * committed in one Kafka transaction, so it is whole once every partition has been read to its
	 * last stable offset after its first message was seen).
	 */
	completeness: "watermarks" | "transactions";
	/**
	 * One Kafka record into its events, in the record's order (open-protocol batches several in
	 * one record; a record without a value yields none). Throws a FeedFormatError naming the
	 * topic, partition and offset on a record it cannot read.
	 */
	decode(record: FeedRecord): FeedEvent[];
	/**
	 * A row image in the message's encoding into capture's values (shared/capture/change.ts
	 * `Value`), the representation replay writes, by the source table's columns in ordinal order.
	 * A column `columns` lacks is converted by the message's type for it (`row.types`) or, failing
	 * that, kept as text.
	 */
	values(raw: RawImage, columns: readonly ColumnInfo[], row: FeedRow): RowImage;
}

/** A record a feed format cannot read, or one that lacks what Ferry needs (a commit timestamp). */
export class FeedFormatError extends Error {
	constructor(
		message: string,
		readonly record?: Pick<FeedRecord, "topic" | "partition" | "offset">,
	) {
		super(
			record ? `${message} (topic '${record.topic}', partition ${record.partition}, offset ${record.offset})` : message,
		);
		this.name = "FeedFormatError";
	}
}

/**
 * A change feed Ferry cannot follow without a person: a topic missing, changes deleted by the
 * topic's retention before they were read, a synchronization's snapshot taken after the
 * migration's start. The stream stops with a ticket (shared/replay/fatal.ts).
 */
export class FeedError extends Error {
	override name = "FeedError";
}
