import { z } from "zod";

/*
 * Synchronization projects: a MySQL-compatible source streamed into a message queue (Kafka or
 * RocketMQ) instead of a database. What the user chooses per project: the message format, where
 * each table's messages go, how they are partitioned, which operations are sent.
 */

/** OMS's serialization methods Ferry speaks (shared/sinks/formats/). */
export const FormatName = z.enum(["default", "canal", "debezium", "maxwell"]);
export type FormatName = z.infer<typeof FormatName>;

/** An operation a synchronization project may send (OMS: DML insert/update/delete and DDL, each selectable). */
export const SyncOperation = z.enum(["insert", "update", "delete", "ddl"]);
export type SyncOperation = z.infer<typeof SyncOperation>;

/** Kafka and RocketMQ topic names: letters, digits, '.', '_', '-' (placeholders `{database}` and `{table}` allowed). */
const topicPattern = z
	.string()
	.min(1)
	.max(200)
	.regex(
		/^([A-Za-z0-9._-]|\{database\}|\{table\})+$/,
		"a topic name (letters, digits, . _ -) with {database} and {table} placeholders",
	);

export const SyncOptions = z
	.object({
		format: FormatName.default("default"),
		/**
		 * The topic of each table: a pattern with `{database}` and `{table}` ("ferry" for one topic,
		 * "{database}" for one per database, "{database}.{table}" for one per table). A name
		 * character Kafka refuses becomes '_'.
		 */
		topic: topicPattern.default("{database}.{table}"),
		/** Explicit topics that win over `topic`: "db.table" or "db.*" -> topic name. */
		topicMap: z.record(z.string().min(1).max(129), topicPattern).optional(),
		/**
		 * "key": by the primary key's hash (per-row order, Kafka's own partitioner over the message
		 * key); "table": by table (per-table order); "one": all in partition 0 (total order).
		 */
		partitioning: z.enum(["key", "table", "one"]).default("key"),
		/** What incremental synchronization sends; absent operations are left out. */
		operations: z.array(SyncOperation).min(1).default(["insert", "update", "delete", "ddl"]),
		/** A heartbeat message to every partition after this long without a message (0: none). */
		heartbeatIntervalMs: z.number().int().min(0).max(3_600_000).default(5_000),
		/** The source's logical name: Debezium's topic.prefix and source.name, in other formats' metadata. */
		serverName: z
			.string()
			.regex(/^[A-Za-z0-9._-]{1,100}$/)
			.default("ferry"),
		/** Debezium: key and value as {schema, payload} (JsonConverter schemas.enable=true). */
		schemas: z.boolean().default(false),
		/** Debezium: a tombstone (null value) after each delete, for compacted topics. */
		tombstones: z.boolean().default(true),
		/** Debezium: BEGIN/END on `<serverName>.transaction` and a `transaction` block in each event. */
		transactionMetadata: z.boolean().default(false),
	})
	.strict();
export type SyncOptions = z.infer<typeof SyncOptions>;
