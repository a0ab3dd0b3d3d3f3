import { z } from "zod";

/*
 * A migration whose changes come from a change feed in Kafka instead of the source's binlog:
 * TiDB through TiCDC (TiDB has no MySQL binlog), or another Ferry project's synchronization
 * output (a migration through a queue). The source database still serves the schema, the full
 * copy and verification over the MySQL protocol; shared/feed/ reads the changes.
 */

/**
 * Which program wrote the feed, in which format: TiCDC's canal-json with
 * `enable-tidb-extension=true` or its open-protocol, or Ferry's own Debezium or Canal output.
 */
export const FeedFormatName = z.enum(["ticdc-canal-json", "ticdc-open-protocol", "debezium", "canal"]);
export type FeedFormatName = z.infer<typeof FeedFormatName>;

/** Kafka topic names: letters, digits, '.', '_', '-'. */
const topicName = z
	.string()
	.min(1)
	.max(249)
	.regex(/^[A-Za-z0-9._-]+$/, "a Kafka topic name (letters, digits, . _ -)");

export const ChangeFeed = z
	.object({
		/** The Kafka data source the changes are read from. */
		dataSourceId: z.string().min(1),
		/** The topics the changes are written to (every partition of each is read). */
		topics: z.array(topicName).min(1).max(200),
		format: FeedFormatName,
		/**
		 * Ferry's output: the synchronization project that writes it. Its checkpoint, kept in the same
		 * Kafka cluster, says how far the source's binlog has been sent, past the transactions it did
		 * not send (tables outside its rules), so this migration's position reaches the source's
		 * (verification rechecks and the switchover wait for that). Without it the position moves
		 * only with the transactions the feed carries.
		 */
		synchronization: z.string().min(1).max(191).optional(),
		/** The time zone TiCDC writes TIMESTAMP values in (its changefeed's `time-zone`); Ferry's output is UTC. */
		timeZone: z.string().min(1).max(64).default("UTC"),
	})
	.strict();
export type ChangeFeed = z.infer<typeof ChangeFeed>;

/** TiCDC stamps changes with TiDB's commit TSO: such a project's positions are TSOs (shared/binlog/tso.ts). */
export function feedClock(feed: ChangeFeed | undefined): "binlog" | "tso" {
	return feed?.format.startsWith("ticdc-") ? "tso" : "binlog";
}
