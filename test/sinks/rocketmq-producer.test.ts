// The RocketMQ producer against the local proxy started by scripts/services/rocketmq.sh.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SinkError } from "../../shared/sinks/errors.ts";
import type { BrokerMessage, SinkCheckpoint, SinkProducer } from "../../shared/sinks/producer.ts";
import {
	messageGroup,
	openRocketMqProducer,
	TOPIC_GROUP,
	testRocketMqConnection,
} from "../../shared/sinks/rocketmq/producer.ts";
import { createRocketMqTopic, receiveRocketMq, rocketMqCredentials, uniqueRocketMqName } from "../support/rocketmq.ts";

const checkpointAt = (pos: number): SinkCheckpoint => ({ position: { gtid: `0-1-${pos}`, file: "bin.000001", pos } });

/** A checkpoint store in memory that records each save; `onSave` runs before a save is recorded. */
function memoryCheckpoints(onSave?: (c: SinkCheckpoint) => Promise<void>) {
	const saved: SinkCheckpoint[] = [];
	return {
		saved,
		load: async () => saved.at(-1) ?? null,
		save: async (c: SinkCheckpoint) => {
			await onSave?.(c);
			saved.push(c);
		},
	};
}

function message(topic: string, body: string | null, routingKey: string | null, dedupKey: string): BrokerMessage {
	return {
		topic,
		routingKey: routingKey === null ? null : Buffer.from(routingKey),
		key: routingKey === null ? null : Buffer.from(`{"id":"${routingKey}"}`),
		value: body === null ? null : Buffer.from(body),
		headers: { "ferry.op": "insert" },
		dedupKey,
	};
}

/** The SinkError a promise rejects with. */
async function sinkError(p: Promise<unknown>): Promise<SinkError> {
	const err = await p.then(
		() => undefined,
		(e: unknown) => e,
	);
	expect(err).toBeInstanceOf(SinkError);
	return err as SinkError;
}

describe("RocketMQ producer", () => {
	const fifo = uniqueRocketMqName("rocketmq-fifo");
	const normal = uniqueRocketMqName("rocketmq-normal");
	const producers: SinkProducer[] = [];
	const open = async (store = memoryCheckpoints()) => {
		const p = openRocketMqProducer(rocketMqCredentials, "rocketmq-test", store);
		producers.push(p);
		return { producer: p, loaded: await p.open() };
	};

	beforeAll(async () => {
		await createRocketMqTopic(fifo);
		await createRocketMqTopic(normal, "NORMAL");
	});
	afterAll(async () => {
		for (const p of producers) await p.close();
	});

	it("sends each message with its dedupKey as key, its message group, properties and tombstones", async () => {
		const topic = uniqueRocketMqName("rocketmq-shape");
		await createRocketMqTopic(topic);
		const longKey = "x".repeat(80);
		const store = memoryCheckpoints();
		const { producer, loaded } = await open(store);
		expect(loaded).toBeNull();
		await producer.send([
			message(topic, '{"n":1}', "shop.orders:1", "0-1-7:0"),
			message(topic, null, "shop.orders:1", "0-1-7:1"),
			message(topic, '{"n":2}', longKey, "0-1-7:2"),
			message(topic, '{"ddl":true}', null, "0-1-7:3"),
		]);
		await producer.commit(checkpointAt(7));
		expect(store.saved).toEqual([checkpointAt(7)]);

		const got = new Map((await receiveRocketMq(topic)).map((m) => [m.keys[0], m]));
		expect([...got.keys()].sort()).toEqual(["0-1-7:0", "0-1-7:1", "0-1-7:2", "0-1-7:3"]);
		const first = got.get("0-1-7:0");
		expect(first?.body.toString()).toBe('{"n":1}');
		expect(first?.messageGroup).toBe("shop.orders:1");
		expect(first?.properties).toMatchObject({ "ferry.op": "insert", "ferry.key": '{"id":"shop.orders:1"}' });
		expect(first?.properties["ferry.tombstone"]).toBeUndefined();
		// a null value: JSON null in the body (the proxy refuses empty bodies), marked as a tombstone
		const tombstone = got.get("0-1-7:1");
		expect(tombstone?.body.toString()).toBe("null");
		expect(tombstone?.properties).toMatchObject({ "ferry.tombstone": "true", "ferry.key": '{"id":"shop.orders:1"}' });
		expect(tombstone?.messageGroup).toBe("shop.orders:1");
		// a routing key too long for a group name becomes a hash; none at all, the topic's own group
		expect(got.get("0-1-7:2")?.messageGroup).toMatch(/^#[0-9a-f]{40}$/);
		expect(got.get("0-1-7:2")?.messageGroup).toBe(messageGroup(Buffer.from(longKey)));
		expect(got.get("0-1-7:3")?.messageGroup).toBe(TOPIC_GROUP);
		expect(got.get("0-1-7:3")?.properties["ferry.key"]).toBeUndefined();
	});

	it("keeps each group's order across sends and batches while groups go out in parallel", async () => {
		const groups = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"];
		const perGroupPerBatch = 15;
		const { producer } = await open();
		let seq = 0;
		for (let batch = 0; batch < 3; batch++) {
			const messages: BrokerMessage[] = [];
			for (let i = 0; i < perGroupPerBatch; i++) {
				for (const g of groups) {
					const n = batch * perGroupPerBatch + i;
					messages.push(message(fifo, `${g}:${n}`, `group-${g}`, `dedup-${seq++}`));
				}
			}
			// two sends per batch: order must hold across calls too
			await producer.send(messages.slice(0, messages.length / 2));
			await producer.send(messages.slice(messages.length / 2));
			await producer.commit(checkpointAt(batch));
		}
		const received = await receiveRocketMq(fifo);
		expect(received).toHaveLength(seq);
		const expected = Array.from({ length: 3 * perGroupPerBatch }, (_, n) => n);
		for (const g of groups) {
			const mine = received.filter((m) => m.messageGroup === `group-${g}`).map((m) => m.body.toString());
			expect(mine).toEqual(expected.map((n) => `${g}:${n}`));
		}
	});

	it("has every message stored when it saves the checkpoint", async () => {
		const topic = uniqueRocketMqName("rocketmq-after");
		await createRocketMqTopic(topic);
		const seenAtSave: string[][] = [];
		const store = memoryCheckpoints(async () => {
			seenAtSave.push((await receiveRocketMq(topic, 500)).map((m) => m.body.toString()));
		});
		const { producer } = await open(store);
		const batch = Array.from({ length: 20 }, (_, i) => message(topic, `m${i}`, `k${i % 4}`, `d${i}`));
		await producer.send(batch);
		await producer.commit(checkpointAt(1));
		expect(store.saved).toEqual([checkpointAt(1)]);
		expect(seenAtSave[0]?.sort()).toEqual(batch.map((m) => m.value?.toString()).sort());
	});

	it("fails a send to a missing topic, naming it, and then refuses to commit until reopened", async () => {
		const topic = uniqueRocketMqName("rocketmq-partial");
		await createRocketMqTopic(topic);
		const store = memoryCheckpoints();
		const { producer } = await open(store);
		const missing = uniqueRocketMqName("rocketmq-missing");
		const err = await sinkError(
			producer.send([message(topic, "ok", "k", "d-ok"), message(missing, "lost", "k", "d-lost")]),
		);
		expect(err.code).toBe("TOPIC_MISSING");
		expect(err.message).toContain(`'${missing}'`);
		expect(err.message).toContain(rocketMqCredentials.endpoint);
		// the batch lost a message: its checkpoint must never be stored
		expect(await sinkError(producer.commit(checkpointAt(9)))).toBe(err);
		await producer.send([message(topic, "more", "k", "d-more")]);
		expect(await sinkError(producer.commit(checkpointAt(10)))).toBe(err);
		expect(store.saved).toEqual([]);
		// a restarted stream opens again and resumes from the stored checkpoint
		await producer.close();
		expect(await producer.open()).toBeNull();
		await producer.send([message(topic, "again", "k", "d-again")]);
		await producer.commit(checkpointAt(11));
		expect(store.saved).toEqual([checkpointAt(11)]);
	});

	it("refuses a topic that is not FIFO and a name RocketMQ does not take", async () => {
		const { producer } = await open();
		const typeErr = await sinkError(producer.send([message(normal, "x", "k", "d1")]));
		expect(typeErr.code).toBe("TOPIC_TYPE");
		expect(typeErr.message).toContain(`'${normal}'`);
		expect(typeErr.message).toContain("message.type=FIFO");
		const nameErr = await sinkError(producer.send([message("shop.orders", "x", "k", "d2")]));
		expect(nameErr.code).toBe("TOPIC_NAME");
	});

	it("refuses a message over the proxy's size limit before sending anything", async () => {
		const topic = uniqueRocketMqName("rocketmq-large");
		await createRocketMqTopic(topic);
		const { producer } = await open();
		const big = message(topic, "", "k", "0-1-99:3");
		big.value = Buffer.alloc(4 * 1024 * 1024 + 1, 0x61);
		const err = await sinkError(producer.send([message(topic, "small", "k", "0-1-99:2"), big]));
		expect(err.code).toBe("MESSAGE_TOO_LARGE");
		expect(err.message).toContain(`'${topic}'`);
		expect(err.message).toContain("0-1-99:3");
		expect(err.message).toContain(String(4 * 1024 * 1024 + 1));
		expect(err.message).toContain(String(4 * 1024 * 1024));
		// not even the small message before it went out
		expect(await receiveRocketMq(topic, 500)).toEqual([]);
	});

	it("names an endpoint where no proxy answers, at open and in the connection test", async () => {
		expect(await testRocketMqConnection(rocketMqCredentials)).toEqual({ version: "RocketMQ 5 (gRPC proxy)" });
		const nowhere = { ...rocketMqCredentials, endpoint: "127.0.0.1:19699" };
		const testErr = await sinkError(testRocketMqConnection(nowhere));
		expect(testErr.code).toBe("BROKER_UNREACHABLE");
		expect(testErr.message).toContain("127.0.0.1:19699");
		const store = memoryCheckpoints();
		const openErr = await sinkError(openRocketMqProducer(nowhere, "rocketmq-test", store).open());
		expect(openErr.code).toBe("BROKER_UNREACHABLE");
		expect(openErr.message).toContain("127.0.0.1:19699");
	});

	it("derives message groups that the proxy accepts", () => {
		expect(messageGroup(null)).toBe(TOPIC_GROUP);
		expect(messageGroup(Buffer.from("shop.orders"))).toBe("shop.orders");
		expect(messageGroup(Buffer.from("x".repeat(63)))).toBe("x".repeat(63));
		for (const key of ["x".repeat(64), "a\nb", "  ", "\u0085"]) {
			expect(messageGroup(Buffer.from(key))).toMatch(/^#[0-9a-f]{40}$/);
		}
		expect(messageGroup(Buffer.from([0xff, 0xfe]))).toMatch(/^#[0-9a-f]{40}$/);
		expect(messageGroup(Buffer.from("x".repeat(64)))).not.toBe(messageGroup(Buffer.from("x".repeat(65))));
	});
});
