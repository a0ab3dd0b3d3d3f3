/**
 * The Kafka client choice, measured (docs/decisions/2026-12-06-kafka-client.md): against the local
 * broker of scripts/services/kafka.sh, each client runs transactions of 5,000 1 KB messages, one
 * of them aborted, and a read_committed consumer counts what it sees.
 *
 *   npx tsx bench/kafka-clients.ts [--batches 20]
 *
 * - kafkajs 2.2.4: transactional producer, read_committed consumer group; Node warnings counted.
 * - Ferry's sink producer on @platformatic/kafka 2.12.1, read back with test/support/kafka.ts.
 * - @platformatic/kafka's own read_committed consumer (MessagesStream) over one aborted
 *   transaction larger than a fetch, followed by a committed one: does it skip the aborted one?
 */
import { parseArgs } from "node:util";
import { Consumer, Producer } from "@platformatic/kafka";
import { Kafka, logLevel } from "kafkajs";
import { openKafkaProducer } from "../shared/sinks/kafka/producer.ts";
import { consumeAll, createTopics, kafkaCredentials, sendBatch, uniqueTopic } from "../test/support/kafka.ts";

const { values: args } = parseArgs({ options: { batches: { type: "string", default: "20" } } });
const BATCHES = Number(args.batches);
const SIZE = 5_000;
const VALUE = Buffer.alloc(1_000, "v");
const brokers = kafkaCredentials.brokers;

const warnings: string[] = [];
process.on("warning", (w) => warnings.push(`${w.name}: ${w.message}`));

const rate = (n: number, ms: number) => `${Math.round((n / ms) * 1000).toLocaleString("en")} messages/s`;

async function kafkajs(): Promise<string> {
	const topic = uniqueTopic("kafka-bench-kafkajs");
	await createTopics(3, [topic]);
	const kafka = new Kafka({ clientId: "ferry-bench", brokers, logLevel: logLevel.ERROR });
	const producer = kafka.producer({
		transactionalId: `ferry-bench-${topic}`,
		idempotent: true,
		maxInFlightRequests: 1,
	});
	await producer.connect();
	const aborted = await producer.transaction();
	await aborted.send({ topic, messages: [{ key: "aborted", value: "aborted" }] });
	await aborted.abort();
	const started = performance.now();
	for (let b = 0; b < BATCHES; b++) {
		const tx = await producer.transaction();
		// kafkajs puts one send's messages for a partition into one record batch: 5,000 over 3
		// partitions (1.7 MB each) is refused as MESSAGE_TOO_LARGE, so it gets 2,000 per send
		for (let from = 0; from < SIZE; from += 2_000) {
			const messages = Array.from({ length: Math.min(2_000, SIZE - from) }, (_, i) => ({
				key: `k${b}-${from + i}`,
				value: VALUE,
			}));
			await tx.send({ topic, messages });
		}
		await tx.commit();
	}
	const ms = performance.now() - started;
	await producer.disconnect();

	const consumer = kafka.consumer({ groupId: uniqueTopic("ferry-bench"), readUncommitted: false });
	await consumer.connect();
	await consumer.subscribe({ topics: [topic], fromBeginning: true });
	let seen = 0;
	let abortedSeen = 0;
	let last = Date.now();
	await consumer.run({
		eachBatch: async ({ batch }) => {
			for (const m of batch.messages) {
				if (m.key?.toString() === "aborted") abortedSeen++;
				else seen++;
			}
			last = Date.now();
		},
	});
	while (Date.now() - last < 3_000) await new Promise((r) => setTimeout(r, 200));
	await consumer.disconnect();
	return `kafkajs 2.2.4: ${rate(BATCHES * SIZE, ms)}; read_committed saw ${seen}/${BATCHES * SIZE} committed, ${abortedSeen} aborted`;
}

async function ferry(): Promise<string> {
	const topic = uniqueTopic("kafka-bench-ferry");
	await createTopics(3, [topic]);
	const producer = openKafkaProducer(kafkaCredentials, uniqueTopic("kafka-bench"), {
		offsetsTopic: uniqueTopic("kafka-bench-offsets"),
	});
	await producer.open();
	const started = performance.now();
	for (let b = 0; b < BATCHES; b++) {
		const messages = Array.from({ length: SIZE }, (_, i) => ({
			topic,
			routingKey: Buffer.from(`k${b}-${i}`),
			key: Buffer.from(`k${b}-${i}`),
			value: VALUE,
			headers: { op: "insert" },
			dedupKey: `${b}:${i}`,
		}));
		await sendBatch(producer, messages, { position: { gtid: `0-1-${b}`, file: "bin.000001", pos: b } });
	}
	const ms = performance.now() - started;
	await producer.close();
	const seen = (await consumeAll([topic], { untilIdleMs: 1_000 })).length;
	return `Ferry sink producer (@platformatic/kafka 2.12.1): ${rate(BATCHES * SIZE, ms)}; read_committed saw ${seen}/${BATCHES * SIZE}`;
}

async function platformaticReadCommitted(): Promise<string> {
	const topic = uniqueTopic("kafka-bench-abort");
	await createTopics(1, [topic]);
	const producer = new Producer({ clientId: "ferry-bench", bootstrapBrokers: brokers, idempotent: true, retries: 3 });
	// 12 MB aborted: more than one fetch of the consumer below (1 MB per partition, the Java
	// consumer's max.partition.fetch.bytes; platformatic's default is 50 MB, then it takes > 50 MB)
	const aborted = await producer.beginTransaction({ producerId: -1n, producerEpoch: -1 });
	for (let b = 0; b < 12; b++) {
		await aborted.send({
			messages: Array.from({ length: 1_000 }, () => ({ topic, key: Buffer.from("aborted"), value: VALUE })),
		});
	}
	await aborted.abort();
	const committed = await producer.beginTransaction();
	await committed.send({ messages: [{ topic, key: Buffer.from("committed"), value: VALUE }] });
	await committed.commit();
	await producer.close();

	const consumer = new Consumer({
		clientId: "ferry-bench",
		bootstrapBrokers: brokers,
		groupId: uniqueTopic("ferry-bench"),
		maxBytes: 1_048_576,
	});
	const stream = await consumer.consume({ topics: [topic], mode: "earliest" });
	let abortedSeen = 0;
	let committedSeen = 0;
	let last = Date.now();
	stream.on("data", (m) => {
		if (m.key.toString() === "aborted") abortedSeen++;
		else committedSeen++;
		last = Date.now();
	});
	while (Date.now() - last < 3_000) await new Promise((r) => setTimeout(r, 200));
	await stream.close();
	await consumer.close();
	const ours = await consumeAll([topic], { untilIdleMs: 1_000 });
	const oursAborted = ours.filter((m) => m.key?.toString() === "aborted").length;
	return `@platformatic/kafka MessagesStream (read_committed): saw ${abortedSeen}/12000 aborted, ${committedSeen}/1 committed; Ferry's reader (shared/sinks/kafka/committed.ts): ${oursAborted} aborted, ${ours.length - oursAborted} committed`;
}

for (const run of [kafkajs, ferry, platformaticReadCommitted]) console.log(await run());
const timeoutNegative = warnings.filter((w) => w.startsWith("TimeoutNegativeWarning")).length;
console.log(`Node ${process.version} warnings: ${warnings.length} (${timeoutNegative} TimeoutNegativeWarning)`);
