// A Kafka sink producer in a process of its own, for the test that kills it (SIGKILL) in the
// middle of a transaction. Arguments: stream, offsets topic, topic, size of the large batch.
// Commits one batch of 100 messages (checkpoint pos 1), prints "committed", then prints
// "sending" and sends the large batch (checkpoint pos 2) in one transaction.
import { openKafkaProducer } from "../../shared/sinks/kafka/producer.ts";
import { kafkaCredentials, sendBatch } from "./kafka.ts";

const [stream, offsetsTopic, topic, large] = process.argv.slice(2);
if (!stream || !offsetsTopic || !topic || !large) {
	throw new Error("usage: kafka-producer-process.ts <stream> <offsets topic> <topic> <large batch size>");
}

const batch = (count: number, tag: string) =>
	Array.from({ length: count }, (_, i) => ({
		topic,
		routingKey: Buffer.from(`${tag}-${i}`),
		key: Buffer.from(`${tag}-${i}`),
		value: Buffer.alloc(1000, tag),
		headers: {},
		dedupKey: `${tag}:${i}`,
	}));

const producer = openKafkaProducer(kafkaCredentials, stream, { offsetsTopic });
await producer.open();
await sendBatch(producer, batch(100, "first"), { position: { gtid: "0-1-1", file: "bin.000001", pos: 1 } });
console.log("committed");
const second = batch(Number(large), "second");
console.log("sending");
await sendBatch(producer, second, { position: { gtid: "0-1-2", file: "bin.000001", pos: 2 } });
console.log("done");
await producer.close();
