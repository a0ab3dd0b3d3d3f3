import { Consumer, FetchIsolationLevels } from "@platformatic/kafka";
import type { SourcePosition } from "../binlog/position.ts";
import type { KafkaCredentials } from "../model/datasource.ts";
import { clientOptions, explainKafkaError, protocolErrorId } from "../sinks/kafka/client.ts";
import { committedRange, readCommitted } from "../sinks/kafka/committed.ts";
import { javaPartition } from "../sinks/kafka/partitioner.ts";
import { DEFAULT_OFFSETS_TOPIC, parseCheckpointRecord } from "../sinks/kafka/producer.ts";
import { FeedError, FeedFormatError, type FeedRecord } from "./event.ts";

/*
 * A change feed's topics as Kafka partitions, read in rounds: each round lists every partition's
 * last stable offset, then reads each one up to it, as a read_committed consumer (a feed written
 * in Kafka transactions shows only what was committed; one written without them, TiCDC's, shows
 * everything). No consumer group: where to read again is the stream's checkpoint, kept at the
 * destination with the data (cursor.ts in merge.ts), not offsets committed to Kafka.
 */

/** Where a partition ends when listed. */
export interface PartitionEnds {
	earliest: bigint;
	/** The last stable offset: the end of what a read_committed reader may see. */
	stable: bigint;
	/**
	 * No transaction is open or awaiting its marker (the last stable offset is the log's end). A
	 * committed transaction's markers reach its partitions one by one: until then a partition's
	 * end says nothing about it.
	 */
	settled: boolean;
}

/** A partition's name in cursors and merges: 'topic:partition'. */
export function partitionKey(topic: string, partition: number): string {
	return `${topic}:${partition}`;
}

/** A topic's partitions; 0 when the cluster does not know it. */
async function partitionCount(consumer: Consumer, topic: string): Promise<number> {
	try {
		const metadata = await consumer.metadata({ topics: [topic], autocreateTopics: false });
		return metadata.topics.get(topic)?.partitionsCount ?? 0;
	} catch (err) {
		// the client turns the broker's UNKNOWN_TOPIC_OR_PARTITION into a user error of its own
		const e = err as { code?: string; message?: string };
		if (e.code === "PLT_KFK_USER" && e.message?.startsWith("Unknown topic")) return 0;
		if (protocolErrorId(err, ["UNKNOWN_TOPIC_OR_PARTITION"])) return 0;
		throw err;
	}
}

export class FeedPartitions {
	/** Where sinkPosition read to, and what it found. */
	private sink?: { partition: number; next: bigint; position: SourcePosition | null };

	private constructor(
		private readonly consumer: Consumer,
		private readonly creds: KafkaCredentials,
		/** Every partition of every topic, in topic order. */
		readonly partitions: readonly { topic: string; partition: number; key: string }[],
	) {}

	/** Connects and finds the topics' partitions; a topic the cluster lacks is an error naming it. */
	static async open(creds: KafkaCredentials, topics: readonly string[]): Promise<FeedPartitions> {
		const consumer = new Consumer({
			...clientOptions(creds),
			groupId: `ferry-feed-${process.pid}`,
			autocommit: false,
		});
		try {
			const partitions = [];
			// one topic at a time: the cluster answers a request naming a missing topic with an error for all
			for (const topic of topics) {
				const count = await partitionCount(consumer, topic);
				if (count === 0) {
					throw new FeedError(
						`topic '${topic}' does not exist on Kafka at ${creds.brokers.join(", ")}: create it (or start the changefeed that writes it) before the migration reads it`,
					);
				}
				for (let partition = 0; partition < count; partition++) {
					partitions.push({ topic, partition, key: partitionKey(topic, partition) });
				}
			}
			return new FeedPartitions(consumer, creds, partitions);
		} catch (err) {
			await consumer.close(true).catch(() => {});
			if (err instanceof FeedError) throw err;
			throw explainKafkaError(err, creds, `reading the change feed's topics ${topics.join(", ")}`);
		}
	}

	/** Every partition's earliest and last stable offsets, and whether every transaction in it is settled. */
	async ends(): Promise<Map<string, PartitionEnds>> {
		const byTopic = new Map<string, number[]>();
		for (const p of this.partitions) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
		const topics = [...byTopic.keys()];
		const partitions = Object.fromEntries(byTopic);
		try {
			const [earliest, stable, high] = await Promise.all([
				this.consumer.listOffsets({ topics, partitions, timestamp: -2n }),
				this.consumer.listOffsets({
					topics,
					partitions,
					timestamp: -1n,
					isolationLevel: FetchIsolationLevels.READ_COMMITTED,
				}),
				this.consumer.listOffsets({
					topics,
					partitions,
					timestamp: -1n,
					isolationLevel: FetchIsolationLevels.READ_UNCOMMITTED,
				}),
			]);
			const out = new Map<string, PartitionEnds>();
			for (const p of this.partitions) {
				const last = stable.get(p.topic)?.[p.partition] ?? 0n;
				out.set(p.key, {
					earliest: earliest.get(p.topic)?.[p.partition] ?? 0n,
					stable: last,
					settled: last === (high.get(p.topic)?.[p.partition] ?? 0n),
				});
			}
			return out;
		} catch (err) {
			throw explainKafkaError(err, this.creds, "listing the change feed's offsets");
		}
	}

	/** The committed records of one partition from `from` up to `until`; returns the offset reached. */
	async read(
		p: { topic: string; partition: number },
		from: bigint,
		until: bigint,
		onRecord: (r: FeedRecord) => void,
	): Promise<bigint> {
		try {
			return await readCommitted(this.consumer, p.topic, p.partition, from, until, (r) =>
				onRecord({ topic: p.topic, partition: p.partition, offset: r.offset, key: r.key, value: r.value }),
			);
		} catch (err) {
			// a record the feed's format refused is the feed's problem, not the connection's
			if (err instanceof FeedFormatError || err instanceof FeedError) throw err;
			throw explainKafkaError(err, this.creds, `reading partition ${p.partition} of topic '${p.topic}'`);
		}
	}

	/**
	 * The last committed checkpoint of Ferry synchronization stream `stream` (shared/sinks/kafka/
	 * producer.ts keeps it in the offsets topic, in the same transaction as its messages), read
	 * on from where the previous call stopped; null while it has none.
	 */
	async sinkPosition(stream: string): Promise<SourcePosition | null> {
		try {
			const key = Buffer.from(stream);
			this.sink ??= { partition: -1, next: 0n, position: null };
			if (this.sink.partition < 0) {
				const metadata = await this.consumer.metadata({ topics: [DEFAULT_OFFSETS_TOPIC], autocreateTopics: false });
				const count = metadata.topics.get(DEFAULT_OFFSETS_TOPIC)?.partitionsCount ?? 0;
				if (count === 0) return null;
				this.sink.partition = javaPartition(key, count);
			}
			const sink = this.sink;
			const [earliest, stable] = await committedRange(this.consumer, DEFAULT_OFFSETS_TOPIC, sink.partition);
			// bigints: Math.max does not take them
			let from = earliest;
			if (sink.next > from) from = sink.next;
			sink.next = await readCommitted(this.consumer, DEFAULT_OFFSETS_TOPIC, sink.partition, from, stable, (r) => {
				if (!r.key?.equals(key)) return;
				const parsed = r.value
					? parseCheckpointRecord(r.value, `the checkpoint of synchronization ${stream} in '${DEFAULT_OFFSETS_TOPIC}'`)
					: null;
				sink.position = parsed?.success ? parsed.data.position : null;
			});
			return sink.position;
		} catch (err) {
			throw explainKafkaError(err, this.creds, `reading the checkpoint of synchronization ${stream}`);
		}
	}

	async close(): Promise<void> {
		await this.consumer.close(true).catch(() => {});
	}
}
