// The Kafka sink producer against the local broker (scripts/services/kafka.sh, 127.0.0.1:19092):
// what a read_committed consumer sees, checkpoints read back by open(), fencing, crashes, errors.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { ConfigResourceTypes, IncrementalAlterConfigOperationTypes } from "@platformatic/kafka";
import { afterAll, describe, expect, it } from "vitest";
import type { KafkaCredentials } from "../../shared/model/datasource.ts";
import { KafkaError, testKafkaConnection } from "../../shared/sinks/kafka/client.ts";
import { javaPartition, murmur2 } from "../../shared/sinks/kafka/partitioner.ts";
import { openKafkaProducer } from "../../shared/sinks/kafka/producer.ts";
import type { BrokerMessage, SinkCheckpoint } from "../../shared/sinks/producer.ts";
import {
	consumeAll,
	createTopics,
	kafkaCredentials,
	kafkaSaslCredentials,
	sendBatch,
	uniqueTopic as uniqueName,
	withAdmin,
	writtenOffsets,
} from "../support/kafka.ts";

const CHILD = fileURLToPath(new URL("../support/kafka-producer-process.ts", import.meta.url));
/** A port in this suite's range (19500-19599) where nothing listens. */
const CLOSED_PORT = 19599;

/** Every name this file made up; the topics among them are deleted at the end. */
const names: string[] = [];
function uniqueTopic(prefix: string): string {
	const name = uniqueName(prefix);
	names.push(name);
	return name;
}
afterAll(async () => {
	await withAdmin(async (admin) => {
		const existing = new Set(await admin.listTopics());
		const topics = names.filter((n) => existing.has(n));
		if (topics.length > 0) await admin.deleteTopics({ topics });
	});
});

const at = (pos: number): SinkCheckpoint => ({ position: { gtid: `0-1-${pos}`, file: "bin.000001", pos } });

function messages(topic: string, tag: string, count: number, valueBytes = 20): BrokerMessage[] {
	return Array.from({ length: count }, (_, i) => ({
		topic,
		routingKey: Buffer.from(`${tag}-${i % 7}`),
		key: Buffer.from(`${tag}-${i % 7}`),
		value: Buffer.from(`${tag}:${i}:`.padEnd(valueBytes, "x")),
		headers: { op: "insert" },
		dedupKey: `${tag}:${i}`,
	}));
}

/** "tag:index" of each message, sent or consumed. */
const values = (got: { value: Buffer | null }[]) =>
	got.map((m) => m.value?.toString().split(":").slice(0, 2).join(":"));

async function rejection(p: Promise<unknown>): Promise<Error> {
	try {
		await p;
	} catch (err) {
		return err as Error;
	}
	throw new Error("expected a rejection");
}

/** Changes a topic's max.message.bytes behind the producers' backs (they read it once per session). */
function setMaxMessageBytes(topic: string, value: string) {
	return withAdmin((admin) =>
		admin.incrementalAlterConfigs({
			resources: [
				{
					resourceType: ConfigResourceTypes.TOPIC,
					resourceName: topic,
					configs: [{ name: "max.message.bytes", configOperation: IncrementalAlterConfigOperationTypes.SET, value }],
				},
			],
		}),
	);
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!(await check())) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 50));
	}
}

describe("kafka producer partitioning", () => {
	it("hashes routing keys as Java's default partitioner does", () => {
		// Expected values from org.apache.kafka.common.utils.Utils.murmur2 and toPositive(h) % n, run
		// once with kafka-clients 4.4.0 (the jar scripts/services/kafka.sh fetches) in a one-off
		// Java 17 program over the UTF-8 bytes of each key.
		const vectors: [Buffer, number, number, number, number][] = [
			// key, murmur2, partition of 3, of 7, of 12
			[Buffer.from(""), 275646681, 0, 2, 9],
			[Buffer.from("a"), -1563381124, 1, 5, 4],
			[Buffer.from("ab"), 316155434, 2, 0, 2],
			[Buffer.from("abc"), 479470107, 0, 4, 3],
			[Buffer.from("abcd"), -1323649548, 2, 5, 8],
			[Buffer.from("hello"), 2132663229, 0, 4, 9],
			[Buffer.from("ferry.orders.42"), -1368155344, 1, 6, 4],
			[Buffer.from('orders:["42"]'), 1428527222, 2, 3, 2],
			[Buffer.from("über-ключ-🚀"), 269400694, 1, 3, 10],
			[Buffer.from("x".repeat(100)), 1249054468, 1, 4, 4],
			[Buffer.from([0xff, 0x80, 0x00, 0x7f, 0xfe]), 768357719, 2, 3, 11],
		];
		for (const [key, hash, p3, p7, p12] of vectors) {
			expect(murmur2(key)).toBe(hash);
			expect([3, 7, 12].map((n) => javaPartition(key, n))).toEqual([p3, p7, p12]);
		}
		expect(javaPartition(null, 12)).toBe(0);
	});
});

describe("kafka producer against 127.0.0.1:19092", () => {
	it("returns the last committed checkpoint of its own stream from open()", async () => {
		const offsetsTopic = uniqueTopic("kafka-offsets");
		const topic = uniqueTopic("kafka-rt");
		const [s1, s2] = [uniqueTopic("kafka-s1"), uniqueTopic("kafka-s2")];
		const one = openKafkaProducer(kafkaCredentials, s1, { offsetsTopic });
		expect(await one.open()).toBeNull();
		await sendBatch(one, messages(topic, "a", 3), at(10));
		await sendBatch(one, messages(topic, "b", 3), { ...at(20), snapshot: { table: "db.t", after: [42] } });
		await one.close();

		const two = openKafkaProducer(kafkaCredentials, s2, { offsetsTopic });
		expect(await two.open()).toBeNull();
		await sendBatch(two, [], at(99));
		await two.close();

		const again = openKafkaProducer(kafkaCredentials, s1, { offsetsTopic });
		expect(await again.open()).toEqual({ ...at(20), snapshot: { table: "db.t", after: [42] } });
		await again.close();
		// the offsets topic the producer created: one partition, compacted
		const described = await withAdmin((admin) =>
			admin.describeConfigs({
				resources: [
					{
						resourceType: ConfigResourceTypes.TOPIC,
						resourceName: offsetsTopic,
						configurationKeys: ["cleanup.policy"],
					},
				],
			}),
		);
		expect(described[0]?.configs[0]?.value).toBe("compact");
		expect(
			await withAdmin(
				async (a) => (await a.metadata({ topics: [offsetsTopic] })).topics.get(offsetsTopic)?.partitionsCount,
			),
		).toBe(1);
	});

	it("shows read_committed consumers committed batches in order per partition, never an aborted one", async () => {
		const [topic, small] = [uniqueTopic("kafka-order"), uniqueTopic("kafka-small")];
		await createTopics(3, [topic]);
		await createTopics(1, [small]);
		const stream = uniqueTopic("kafka-order-s");
		const producer = openKafkaProducer(kafkaCredentials, stream, { offsetsTopic: uniqueTopic("kafka-offsets") });
		await producer.open();
		expect(await producer.partitions(topic)).toBe(3);
		expect(await producer.partitions(small)).toBe(1);

		const [keyed] = messages(topic, "first", 1);
		const first: BrokerMessage[] = [
			...messages(topic, "first", 50),
			{
				...keyed,
				topic,
				routingKey: null,
				key: null,
				headers: {},
				value: Buffer.from("first:null"),
				dedupKey: "first:null",
			},
			{
				...keyed,
				topic,
				routingKey: null,
				key: null,
				headers: {},
				value: Buffer.from("first:explicit"),
				dedupKey: "first:explicit",
				partition: 2,
			},
		];
		await sendBatch(producer, first, at(1));

		// The producer read the small topic's limit when it first looked at it; lowered behind its
		// back, the broker refuses the big message after the rest of the batch was written: the
		// whole transaction is aborted.
		await setMaxMessageBytes(small, "2000");
		const before = await writtenOffsets(topic);
		const doomed = [...messages(topic, "aborted", 40), ...messages(small, "big", 1, 5000)];
		const refused = await rejection(sendBatch(producer, doomed, at(2)));
		expect(refused).toBeInstanceOf(KafkaError);
		expect((refused as KafkaError).code).toBe("MESSAGE_TOO_LARGE");
		expect(await writtenOffsets(topic)).toBeGreaterThanOrEqual(before + 40n);

		await sendBatch(producer, messages(topic, "third", 50), at(3));
		await producer.close();

		const got = await consumeAll([topic], { untilIdleMs: 1000 });
		expect(got.filter((m) => m.value?.toString().startsWith("aborted"))).toEqual([]);
		expect(got).toHaveLength(102);
		for (let p = 0; p < 3; p++) {
			const inPartition = got.filter((m) => m.partition === p);
			const expected = [...first, ...messages(topic, "third", 50)].filter(
				(m) => (m.partition ?? javaPartition(m.routingKey, 3)) === p,
			);
			expect(values(inPartition)).toEqual(values(expected));
			const offsets = inPartition.map((m) => m.offset);
			expect(offsets).toEqual([...offsets].sort((a, b) => (a < b ? -1 : 1)));
		}
		const nullKeyed = got.find((m) => m.headers["ferry.dedup"] === "first:null");
		expect(nullKeyed?.partition).toBe(0);
		expect(got.find((m) => m.headers["ferry.dedup"] === "first:explicit")?.partition).toBe(2);
		const sample = got.find((m) => m.headers["ferry.dedup"] === "third:7");
		expect(sample?.headers).toEqual({ "ferry.dedup": "third:7", op: "insert" });
	});

	it("keeps a committed transaction between two aborted ones of its producer visible to read_committed readers", async () => {
		// what a stream leaves after two network faults: each session's transaction aborted, the
		// same producer id each time, the second one without a record in the partition (its produce
		// request never landed; here: refused as too large). The broker lists only the first as
		// aborted, and @platformatic/kafka's own filter dropped everything of the producer from
		// there up to the last abort marker in the fetch response: the committed batch too
		const topic = uniqueTopic("kafka-aborts");
		await createTopics(1, [topic]);
		const producer = openKafkaProducer(kafkaCredentials, uniqueTopic("kafka-aborts-s"), {
			offsetsTopic: uniqueTopic("kafka-offsets"),
		});
		await producer.open();
		await producer.send(messages(topic, "aborted", 5));
		await producer.close();
		await producer.open();
		await sendBatch(producer, messages(topic, "kept", 5), at(1));
		await setMaxMessageBytes(topic, "2000");
		expect(await rejection(sendBatch(producer, messages(topic, "big", 1, 5000), at(2)))).toMatchObject({
			code: "MESSAGE_TOO_LARGE",
		});
		await producer.close();
		await setMaxMessageBytes(topic, "1048588");
		await producer.open();
		await sendBatch(producer, messages(topic, "last", 5), at(3));
		await producer.close();
		const got = await consumeAll([topic], { untilIdleMs: 500 });
		expect(values(got)).toEqual(values([...messages(topic, "kept", 5), ...messages(topic, "last", 5)]));
	});

	it("fences the previous producer of a stream: its open transaction is aborted, its sends refused", async () => {
		const topic = uniqueTopic("kafka-fence");
		await createTopics(1, [topic]);
		const stream = uniqueTopic("kafka-fence-s");
		const offsetsTopic = uniqueTopic("kafka-offsets");
		const zombie = openKafkaProducer(kafkaCredentials, stream, { offsetsTopic });
		await zombie.open();
		await sendBatch(zombie, messages(topic, "kept", 10), at(1));

		// a large batch in flight when the new owner arrives
		const before = await writtenOffsets(topic);
		const inFlight = rejection(sendBatch(zombie, messages(topic, "zombie", 100_000, 500), at(2)));
		await waitFor("the zombie's batch to be written", async () => (await writtenOffsets(topic)) > before + 2_000n);
		const owner = openKafkaProducer(kafkaCredentials, stream, { offsetsTopic });
		expect(await owner.open()).toEqual(at(1));
		const fenced = await inFlight;
		expect(fenced).toBeInstanceOf(KafkaError);
		expect((fenced as KafkaError).code).toBe("FENCED");
		expect(fenced.message).toContain(`stream ${stream}: another task took over this stream`);
		expect(fenced.message).toContain(`ferry-${stream}`);
		const later = await rejection(sendBatch(zombie, messages(topic, "zombie-later", 1), at(3)));
		expect((later as KafkaError).code).toBe("FENCED");

		await sendBatch(owner, messages(topic, "owner", 10), at(4));
		await Promise.all([owner.close(), zombie.close()]);
		const got = await consumeAll([topic], { untilIdleMs: 1000 });
		expect(values(got)).toEqual([
			...Array.from({ length: 10 }, (_, i) => `kept:${i}`),
			...Array.from({ length: 10 }, (_, i) => `owner:${i}`),
		]);
	}, 120_000);

	it("leaves nothing of a transaction whose process was killed, and open() returns the checkpoint before it", async () => {
		const topic = uniqueTopic("kafka-kill");
		// one partition: the aborted transaction there is larger than one fetch (8 MiB)
		await createTopics(1, [topic]);
		const stream = uniqueTopic("kafka-kill-s");
		const offsetsTopic = uniqueTopic("kafka-offsets");
		const child = spawn(process.execPath, ["--import", "tsx", CHILD, stream, offsetsTopic, topic, "100000"], {
			stdio: ["ignore", "pipe", "pipe"],
		});
		let out = "";
		let err = "";
		child.stdout.on("data", (d: Buffer) => {
			out += d.toString();
		});
		child.stderr.on("data", (d: Buffer) => {
			err += d.toString();
		});
		const exited = new Promise<NodeJS.Signals | null>((resolve) =>
			child.on("exit", (_code, signal) => resolve(signal)),
		);
		try {
			await waitFor(
				"the child to start its large batch",
				async () => out.includes("sending") || child.exitCode !== null,
			);
			expect(err).toBe("");
			await waitFor("the large batch to be half written", async () => (await writtenOffsets(topic)) > 12_000n);
		} finally {
			child.kill("SIGKILL");
		}
		expect(await exited).toBe("SIGKILL");
		expect(out).not.toContain("done");

		const reopened = openKafkaProducer(kafkaCredentials, stream, { offsetsTopic });
		expect(await reopened.open()).toEqual({ position: { gtid: "0-1-1", file: "bin.000001", pos: 1 } });
		await sendBatch(reopened, messages(topic, "after", 10), at(3));
		await reopened.close();
		const got = await consumeAll([topic], { untilIdleMs: 1000 });
		expect(got.filter((m) => m.value?.[0] === "s".charCodeAt(0))).toEqual([]);
		expect(got.filter((m) => m.value?.[0] === "f".charCodeAt(0))).toHaveLength(100);
		expect(values(got.filter((m) => m.value?.toString().startsWith("after"))).sort()).toEqual(
			Array.from({ length: 10 }, (_, i) => `after:${i}`).sort(),
		);
	}, 120_000);

	it("refuses a message over the topic's max.message.bytes, naming topic, message, size and limit", async () => {
		const topic = uniqueTopic("kafka-big");
		await createTopics(1, [topic], { "max.message.bytes": "4096" });
		const producer = openKafkaProducer(kafkaCredentials, uniqueTopic("kafka-big-s"), {
			offsetsTopic: uniqueTopic("kafka-offsets"),
		});
		await producer.open();
		const batch = [...messages(topic, "ok", 2), ...messages(topic, "huge", 1, 10_000)];
		const error = await rejection(sendBatch(producer, batch, at(1)));
		expect(error).toBeInstanceOf(KafkaError);
		expect((error as KafkaError).code).toBe("MESSAGE_TOO_LARGE");
		expect(error.message).toMatch(
			new RegExp(`message huge:0 for topic '${topic}' is about 10\\d{3} bytes, over the topic's limit of 4096 bytes`),
		);
		expect(error.message).toContain("the stream stops here rather than drop it");
		// nothing was sent, and the producer goes on
		await sendBatch(producer, messages(topic, "ok", 1), at(2));
		await producer.close();
		expect(values(await consumeAll([topic], { untilIdleMs: 500 }))).toEqual(["ok:0"]);
	});
});

describe("kafka producer errors", () => {
	const unreachable: KafkaCredentials = { ...kafkaCredentials, brokers: [`127.0.0.1:${CLOSED_PORT}`] };

	it("names the brokers it cannot reach", async () => {
		for (const attempt of [
			() => openKafkaProducer(unreachable, uniqueTopic("kafka-down")).open(),
			() => testKafkaConnection(unreachable),
		]) {
			const error = await rejection(attempt());
			expect(error).toBeInstanceOf(KafkaError);
			expect((error as KafkaError).code).toBe("BROKER_UNREACHABLE");
			expect(error.message).toContain(`cannot reach any broker of 127.0.0.1:${CLOSED_PORT} (ECONNREFUSED)`);
		}
	}, 30_000);

	it("logs in with SASL SCRAM, and names the user and mechanism of a refused login, not its password", async () => {
		// the local broker's SCRAM-SHA-256 listener; its user is in ~/.ferry/secrets/kafka.env (kafka.sh)
		const scram: KafkaCredentials = { ...kafkaSaslCredentials(), sasl: "scram-sha-256" };
		const info = await testKafkaConnection(scram);
		expect(info.brokers.map((b) => b.port)).toContain(Number(scram.brokers[0]?.split(":")[1]));
		const wrong = await rejection(testKafkaConnection({ ...scram, password: "not-the-password" }));
		expect((wrong as KafkaError).code).toBe("AUTH_FAILED");
		expect(wrong.message).toContain(`refused the login of user '${scram.user}' (SASL SCRAM-SHA-256)`);
		expect(wrong.message).not.toContain("not-the-password");
		const mechanism = await rejection(testKafkaConnection({ ...scram, sasl: "scram-sha-512" }));
		expect((mechanism as KafkaError).code).toBe("AUTH_FAILED");
		const msk = await rejection(testKafkaConnection({ ...kafkaCredentials, sasl: "aws-msk-iam" }));
		expect((msk as KafkaError).code).toBe("UNSUPPORTED");
	}, 30_000);

	it("creates a missing topic with the broker's defaults where the broker auto-creates, else names it", async () => {
		const producer = openKafkaProducer(kafkaCredentials, uniqueTopic("kafka-missing-s"), {
			offsetsTopic: uniqueTopic("kafka-offsets"),
		});
		await producer.open();
		// the local broker: auto.create.topics.enable=true, num.partitions=1
		expect(await producer.partitions(uniqueTopic("kafka-auto"))).toBe(1);
		await producer.close();

		const strict = openKafkaProducer(kafkaCredentials, uniqueTopic("kafka-missing-s"), {
			offsetsTopic: uniqueTopic("kafka-offsets"),
			createMissingTopics: false,
		});
		await strict.open();
		const missing = uniqueTopic("kafka-missing");
		const error = await rejection(strict.partitions(missing));
		expect(error).toBeInstanceOf(KafkaError);
		expect((error as KafkaError).code).toBe("TOPIC_MISSING");
		expect(error.message).toContain(`topic '${missing}' does not exist`);
		expect(error.message).toContain("create it");
		expect(error.message).toContain("auto.create.topics.enable");
		expect(await withAdmin((a) => a.listTopics())).not.toContain(missing);
		await strict.close();
	});

	it("describes the cluster in the connection test", async () => {
		const info = await testKafkaConnection(kafkaCredentials);
		expect(info.clusterId).toMatch(/^[\w-]{22}$/);
		expect(info.brokers).toEqual([{ nodeId: 1, host: "127.0.0.1", port: 19092, rack: null }]);
		expect(info.autoCreateTopics).toBe(true);
	});
});
