/**
 * The Kafka side of bench/sync.ts: what the contenders' topics hold, read as a consumer reads it.
 * End offsets (written records, for watching Debezium's non-transactional producer catch up),
 * a read_committed count of row messages and tombstones, and a long-polling read_committed
 * follower of one partition for latency (receipt time of each message).
 */
import { Consumer, FetchIsolationLevels } from "@platformatic/kafka";
import { committedRange, committedRecords, readCommitted } from "../shared/sinks/kafka/committed.ts";
import { kafkaCredentials, uniqueTopic, withAdmin } from "../test/support/kafka.ts";

const consumerFor = (what: string) =>
	new Consumer({
		clientId: "ferry-bench-sync",
		bootstrapBrokers: kafkaCredentials.brokers,
		groupId: uniqueTopic(`benchsync-${what}`),
	});

/** Creates the topics (one partition each, like the broker's num.partitions=1 here) unless they exist. */
export async function ensureTopics(topics: string[]): Promise<void> {
	await withAdmin(async (admin) => {
		const have = new Set(await admin.listTopics());
		const missing = topics.filter((t) => !have.has(t));
		if (missing.length) await admin.createTopics({ topics: missing, partitions: 1, replicas: 1 });
	});
}

/** Deletes those of `topics` that exist (the broker frees their disk). */
export async function deleteTopics(topics: string[]): Promise<void> {
	await withAdmin(async (admin) => {
		const have = new Set(await admin.listTopics());
		const present = topics.filter((t) => have.has(t));
		if (present.length) await admin.deleteTopics({ topics: present });
	});
}

/** Sums of the log end offsets of a set of topics (every written record, markers included), polled with one client. */
export class EndOffsets {
	readonly #consumer = consumerFor("offsets");

	async sum(topics: string[]): Promise<number> {
		const ends = await this.#consumer.listOffsets({
			topics,
			timestamp: -1n,
			isolationLevel: FetchIsolationLevels.READ_UNCOMMITTED,
		});
		let n = 0n;
		for (const t of topics) for (const o of ends.get(t) ?? []) n += o;
		return Number(n);
	}

	close(): Promise<void> {
		return this.#consumer.close();
	}
}

export interface Counted {
	/** Messages with a value (change events). */
	rows: number;
	/** Messages with a null value (Debezium's tombstones after deletes). */
	tombstones: number;
}

/** What a read_committed consumer sees on `topics` from `from` (topic -> offset, default the start) to their end. */
export async function countMessages(topics: string[], from: Map<string, bigint> = new Map()): Promise<Counted> {
	const consumer = consumerFor("count");
	const counted: Counted = { rows: 0, tombstones: 0 };
	try {
		for (const topic of topics) {
			const [earliest, stable] = await committedRange(consumer, topic, 0);
			const start = from.get(topic) ?? earliest;
			await readCommitted(consumer, topic, 0, start, stable, (r) => {
				if (r.value === null || r.value.length === 0) counted.tombstones += 1;
				else counted.rows += 1;
			});
		}
		return counted;
	} finally {
		await consumer.close();
	}
}

/** Each topic's end offset (partition 0) now: where a later count starts. */
export async function endOffsetsOf(topics: string[]): Promise<Map<string, bigint>> {
	const consumer = consumerFor("ends");
	try {
		const out = new Map<string, bigint>();
		for (const topic of topics) out.set(topic, (await committedRange(consumer, topic, 0))[1]);
		return out;
	} finally {
		await consumer.close();
	}
}

/**
 * Follows partition 0 of `topic` from its current end as a read_committed consumer, long-polling
 * (a fetch returns as soon as committed data is there), and calls `onMessage` with each value and
 * the local time it arrived. `stop()` ends it.
 */
export async function follow(
	topic: string,
	onMessage: (value: Buffer, receivedAt: number) => void,
): Promise<{ stop: () => Promise<void> }> {
	const consumer = consumerFor("follow");
	let [, offset] = await committedRange(consumer, topic, 0);
	const metadata = await consumer.metadata({ topics: [topic] });
	const described = metadata.topics.get(topic);
	const leader = described?.partitions[0]?.leader;
	if (!described || leader === undefined) throw new Error(`topic '${topic}' has no partition 0`);
	let stopped = false;
	const loop = (async () => {
		while (!stopped) {
			const response = await consumer.fetch({
				node: leader,
				topics: [
					{
						topicId: described.id,
						partitions: [
							{
								partition: 0,
								fetchOffset: offset,
								currentLeaderEpoch: -1,
								lastFetchedEpoch: -1,
								partitionMaxBytes: 1024 * 1024,
							},
						],
					},
				],
				isolationLevel: FetchIsolationLevels.READ_COMMITTED,
				minBytes: 1,
				maxWaitTime: 250,
				maxBytes: 1024 * 1024,
			});
			const receivedAt = Date.now();
			const fetched = response.responses[0]?.partitions.find((p) => p.partitionIndex === 0);
			if (!fetched) continue;
			for (const r of committedRecords(fetched)) if (r.value) onMessage(r.value, receivedAt);
			for (const batch of fetched.records ?? []) {
				const after = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n;
				if (after > offset) offset = after;
			}
		}
	})();
	return {
		stop: async () => {
			stopped = true;
			await loop;
			await consumer.close();
		},
	};
}
