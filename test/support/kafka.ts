import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Admin, Consumer, FetchIsolationLevels } from "@platformatic/kafka";
import { ferryHome } from "../../shared/config.ts";
import type { KafkaCredentials } from "../../shared/model/datasource.ts";
import { KafkaEndpoint } from "../../shared/model/datasource.ts";
import { committedRange, readCommitted } from "../../shared/sinks/kafka/committed.ts";
import type { BrokerMessage, SinkCheckpoint, SinkProducer } from "../../shared/sinks/producer.ts";

/*
 * The local Kafka of scripts/services/kafka.sh (KRaft, transactions on, auto-create on), and a
 * read_committed consumer for tests to see what a Kafka consumer of a synchronization project
 * sees. FERRY_KAFKA_BROKERS=host:port[,host:port] points them at another cluster.
 */

export const kafkaCredentials: KafkaCredentials = {
	...KafkaEndpoint.parse({
		brokers: (process.env.FERRY_KAFKA_BROKERS ?? "127.0.0.1:19092").split(",").map((b) => b.trim()),
		clientId: "ferry-test",
	}),
	password: "",
};

let counter = 0;
/** A topic (or stream) name unique to this test run. */
export function uniqueTopic(prefix: string): string {
	counter += 1;
	return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}

/** Runs `work` with an admin client of the test cluster. */
export async function withAdmin<T>(work: (admin: Admin) => Promise<T>): Promise<T> {
	const admin = new Admin({ clientId: "ferry-test", bootstrapBrokers: kafkaCredentials.brokers });
	try {
		return await work(admin);
	} finally {
		await admin.close();
	}
}

/** Creates topics with `partitions` partitions each (and the topic configs given). */
export async function createTopics(partitions: number, topics: string[], configs: Record<string, string> = {}) {
	await withAdmin((admin) =>
		admin.createTopics({
			topics,
			partitions,
			replicas: 1,
			configs: Object.entries(configs).map(([name, value]) => ({ name, value })),
		}),
	);
}

/** The sum of the topic's log end offsets: what was written, aborted transactions and markers included. */
export async function writtenOffsets(topic: string): Promise<bigint> {
	const consumer = new Consumer({
		clientId: "ferry-test",
		bootstrapBrokers: kafkaCredentials.brokers,
		groupId: uniqueTopic("ferry-test-offsets"),
	});
	try {
		const ends = await consumer.listOffsets({
			topics: [topic],
			timestamp: -1n,
			isolationLevel: FetchIsolationLevels.READ_UNCOMMITTED,
		});
		return (ends.get(topic) ?? []).reduce((sum, o) => sum + o, 0n);
	} finally {
		await consumer.close();
	}
}

export interface ConsumedMessage {
	topic: string;
	partition: number;
	offset: bigint;
	key: Buffer | null;
	value: Buffer | null;
	/** Header values as UTF-8 text, in record order (a repeated name: the last one). */
	headers: Record<string, string>;
}

export interface ConsumeOptions {
	/** Returns once no new committed message arrived for this long. */
	untilIdleMs: number;
	/** Gives up (returns what it has) after this long in all; default 60 s. */
	timeoutMs?: number;
}

/**
 * Everything a read_committed consumer sees on `topics` from the beginning, per partition in
 * offset order (partitions of a topic one after the other, topics in the order given). It polls
 * each partition up to its last stable offset until nothing new arrived for `untilIdleMs`.
 */
export async function consumeAll(topics: string[], options: ConsumeOptions): Promise<ConsumedMessage[]> {
	const consumer = new Consumer({
		clientId: "ferry-test",
		bootstrapBrokers: kafkaCredentials.brokers,
		groupId: uniqueTopic("ferry-test-reader"),
	});
	try {
		const metadata = await consumer.metadata({ topics });
		const cursors: { topic: string; partition: number; offset: bigint | undefined; seen: ConsumedMessage[] }[] = [];
		for (const topic of topics) {
			const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
			for (let partition = 0; partition < count; partition++)
				cursors.push({ topic, partition, offset: undefined, seen: [] });
		}
		const started = Date.now();
		let lastNew = Date.now();
		while (Date.now() - lastNew < options.untilIdleMs && Date.now() - started < (options.timeoutMs ?? 60_000)) {
			for (const c of cursors) {
				const [earliest, stable] = await committedRange(consumer, c.topic, c.partition);
				const from = c.offset ?? earliest;
				const before = c.seen.length;
				c.offset = await readCommitted(consumer, c.topic, c.partition, from, stable, (r) => {
					const headers: Record<string, string> = {};
					for (const [k, v] of r.headers) if (k) headers[k.toString()] = v?.toString() ?? "";
					c.seen.push({
						topic: c.topic,
						partition: c.partition,
						offset: r.offset,
						key: r.key,
						value: r.value,
						headers,
					});
				});
				if (c.seen.length > before) lastNew = Date.now();
			}
			await new Promise((resolve) => setTimeout(resolve, 50));
		}
		return cursors.flatMap((c) => c.seen);
	} finally {
		await consumer.close();
	}
}

/** One batch and its checkpoint, as the sink commits them: send, then commit in the same transaction. */
export async function sendBatch(producer: SinkProducer, messages: BrokerMessage[], checkpoint: SinkCheckpoint) {
	await producer.send(messages);
	await producer.commit(checkpoint);
}

/** The local broker's SASL_PLAINTEXT listener and its SCRAM user (scripts/services/kafka.sh). */
export function kafkaSaslCredentials(): KafkaCredentials {
	const env = readFileSync(join(ferryHome(), "secrets", "kafka.env"), "utf8");
	const value = (name: string) => new RegExp(`^${name}=(.*)$`, "m").exec(env)?.[1] ?? "";
	return {
		...kafkaCredentials,
		brokers: [`127.0.0.1:${process.env.FERRY_KAFKA_SASL_PORT ?? "19094"}`],
		user: value("FERRY_KAFKA_USER"),
		password: value("FERRY_KAFKA_PASSWORD"),
	};
}
