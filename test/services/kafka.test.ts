// Smoke test for the local Kafka started by scripts/services/kafka.sh (KRaft, 127.0.0.1:19092).
// FERRY_KAFKA_BROKERS=host:port[,host:port] points it at another cluster.
import { randomUUID } from "node:crypto";
import { type Admin, Kafka, type KafkaMessage, logLevel, Partitioners } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const brokers = (process.env.FERRY_KAFKA_BROKERS ?? "127.0.0.1:19092").split(",").map((b) => b.trim());

const kafka = new Kafka({
	clientId: "ferry-services-test",
	brokers,
	logLevel: logLevel.ERROR,
	connectionTimeout: 3_000,
	requestTimeout: 10_000,
	retry: { retries: 3, initialRetryTime: 200 },
});

type Received = { partition: number; message: KafkaMessage };

async function createTopic(admin: Admin, numPartitions: number): Promise<string> {
	const topic = `ferry-test-${randomUUID()}`;
	await admin.createTopics({
		topics: [{ topic, numPartitions, replicationFactor: 1 }],
		waitForLeaders: true,
	});
	return topic;
}

/** Consumes `topic` from the beginning with a fresh group until `count` messages arrived. */
async function consume(topic: string, count: number, timeoutMs = 15_000): Promise<Received[]> {
	const consumer = kafka.consumer({
		groupId: `ferry-test-${randomUUID()}`,
		sessionTimeout: 10_000,
		heartbeatInterval: 1_000,
		maxWaitTimeInMs: 200,
	});
	const received: Received[] = [];
	try {
		await consumer.connect();
		await consumer.subscribe({ topics: [topic], fromBeginning: true });
		await new Promise<void>((resolve, reject) => {
			const timer = setTimeout(
				() => reject(new Error(`only ${received.length}/${count} messages from ${topic} within ${timeoutMs} ms`)),
				timeoutMs,
			);
			consumer
				.run({
					eachMessage: async ({ partition, message }) => {
						received.push({ partition, message });
						if (received.length >= count) {
							clearTimeout(timer);
							resolve();
						}
					},
				})
				.catch((err: unknown) => {
					clearTimeout(timer);
					reject(err);
				});
		});
	} finally {
		await consumer.disconnect();
	}
	return received;
}

describe(`kafka on ${brokers.join(",")}`, () => {
	const admin = kafka.admin();
	const producer = kafka.producer({
		createPartitioner: Partitioners.DefaultPartitioner,
		allowAutoTopicCreation: false,
	});

	beforeAll(async () => {
		try {
			await admin.connect();
			await producer.connect();
		} catch (err) {
			throw new Error(
				`cannot reach Kafka at ${brokers.join(",")} (start it with scripts/services/kafka.sh start): ${String(err)}`,
			);
		}
	}, 20_000);

	afterAll(async () => {
		await producer.disconnect();
		await admin.disconnect();
	});

	it("produces a message to a fresh topic and consumes it back", async () => {
		const topic = await createTopic(admin, 1);
		await producer.send({
			topic,
			messages: [
				{
					key: "row-42",
					value: JSON.stringify({ id: 42, name: "ferry" }),
					headers: { op: "insert" },
				},
			],
		});

		const [got, ...rest] = await consume(topic, 1);
		expect(rest).toEqual([]);
		expect(got?.message.key?.toString()).toBe("row-42");
		expect(JSON.parse(got?.message.value?.toString() ?? "null")).toEqual({
			id: 42,
			name: "ferry",
		});
		expect(got?.message.headers?.op?.toString()).toBe("insert");
	}, 20_000);

	it("delivers messages with the same key in order, all on one partition", async () => {
		const topic = await createTopic(admin, 3);
		const n = 30;
		// three awaited sends (10 messages each): order within and across requests must hold
		for (let batch = 0; batch < 3; batch++) {
			await producer.send({
				topic,
				messages: Array.from({ length: 10 }, (_, i) => ({
					key: "table-orders",
					value: String(batch * 10 + i),
				})),
			});
		}

		const got = await consume(topic, n);
		expect(got).toHaveLength(n);
		expect(new Set(got.map((r) => r.partition)).size).toBe(1);
		expect(got.map((r) => Number(r.message.value?.toString()))).toEqual(Array.from({ length: n }, (_, i) => i));
		const offsets = got.map((r) => BigInt(r.message.offset));
		for (let i = 1; i < offsets.length; i++) expect(offsets[i]).toBe((offsets[i - 1] ?? 0n) + 1n);
		expect(got.every((r) => r.message.key?.toString() === "table-orders")).toBe(true);
	}, 20_000);
});
