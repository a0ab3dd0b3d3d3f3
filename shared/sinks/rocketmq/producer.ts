import { createHash } from "node:crypto";
import type { MessageOptions } from "rocketmq-client-nodejs";
import type { RocketMqCredentials } from "../../model/datasource.ts";
import { logger } from "../../observability.ts";
import { SinkError } from "../errors.ts";
import type { BrokerMessage, SinkCheckpoint, SinkProducer } from "../producer.ts";
import { connect, explain, type RocketMqProducer } from "./client.ts";

/*
 * The RocketMQ 5 side of a synchronization project, through the proxy's gRPC endpoint.
 *
 * At least once: `send` returns once the proxy acknowledged every message, and `commit` stores the
 * checkpoint after that; after a failed send it refuses to. Messages sent since the last commit
 * are visible at once, so a crash (or a failure) before the next commit sends them again from the
 * previous checkpoint. Each message carries its dedupKey as its RocketMQ key (indexed: consumers
 * and the console can look it up) for consumers to drop what they already have.
 *
 * Order: every message is a FIFO message whose group comes from its routing key, so the topics
 * must be FIFO topics (message.type=FIFO; the proxy refuses FIFO messages elsewhere). RocketMQ
 * keeps a group's order only if its messages are sent one after another, so each group's messages
 * go out serially, in batch order; different groups go out in parallel.
 *
 * A message: body = the value; the key (when there is one) in the property `ferry.key` as UTF-8;
 * the headers as properties. A null value (a tombstone) cannot be an empty body, which the proxy
 * refuses by default: it is the body `null` (JSON null) with the property `ferry.tombstone=true`.
 */

/** Marks a message whose value is null. */
export const TOMBSTONE_PROPERTY = "ferry.tombstone";
/** The tombstone's body: a JSON consumer reads "no value", as it would from Kafka's null. */
export const TOMBSTONE_BODY = Buffer.from("null");
/** The message key (BrokerMessage.key) as UTF-8: RocketMQ's own keys hold the dedupKey. */
export const KEY_PROPERTY = "ferry.key";
/** The group of messages without a routing key ("one" partitioning): one per topic, total order. */
export const TOPIC_GROUP = "ferry:topic";

/** The proxy refuses a message group of 64 UTF-8 bytes or more (ProxyConfig.maxMessageGroupSize). */
const MAX_GROUP_BYTES = 63;
/** What the proxy's GrpcValidator refuses in a group: Java's Character.isISOControl. */
const hasControl = (text: string): boolean =>
	[...text].some((ch) => {
		const c = ch.codePointAt(0) ?? 0;
		return c <= 0x1f || (c >= 0x7f && c <= 0x9f);
	});

/**
 * The FIFO message group of a routing key: the key itself when it is printable UTF-8 of at most
 * 63 bytes (a table name, a JSON primary key), else '#' and the first 40 hex digits of its SHA-256.
 * The same key always gives the same group; two keys sharing a group only share its order.
 */
export function messageGroup(routingKey: Buffer | null): string {
	if (routingKey === null) return TOPIC_GROUP;
	const text = routingKey.toString("utf8");
	const printable =
		routingKey.length <= MAX_GROUP_BYTES &&
		text.trim() !== "" &&
		!hasControl(text) &&
		Buffer.from(text, "utf8").equals(routingKey);
	return printable ? text : `#${createHash("sha256").update(routingKey).digest("hex").slice(0, 40)}`;
}

/** A broker message as the RocketMQ client sends it. */
export function toRocketMqMessage(m: BrokerMessage): MessageOptions {
	const properties = new Map(Object.entries(m.headers));
	if (m.key !== null) properties.set(KEY_PROPERTY, m.key.toString("utf8"));
	if (m.value === null) properties.set(TOMBSTONE_PROPERTY, "true");
	return {
		topic: m.topic,
		body: m.value ?? TOMBSTONE_BODY,
		keys: [m.dedupKey],
		messageGroup: messageGroup(m.routingKey),
		properties,
	};
}

/** RocketMQ's topic names (TopicValidator): no '.', unlike Kafka's. */
const TOPIC_NAME = /^[%|A-Za-z0-9_-]{1,127}$/;

/** Groups sent at the same time: enough to fill a round trip, few enough for a small proxy. */
const PARALLEL_GROUPS = 8;

export interface CheckpointStore {
	load(): Promise<SinkCheckpoint | null>;
	save(c: SinkCheckpoint): Promise<void>;
}

/**
 * A SinkProducer for one stream (its name appears in the log) writing to the proxy at
 * `creds.endpoint`; `checkpoints` keeps where the stream got (the sink's state store).
 */
export function openRocketMqProducer(
	creds: RocketMqCredentials,
	stream: string,
	checkpoints: CheckpointStore,
): SinkProducer {
	let client: RocketMqProducer | undefined;
	/** A send of the open batch failed: its checkpoint must not be stored (the stream restarts before it). */
	let failed: unknown;
	const connected = (): RocketMqProducer => {
		if (!client) throw new Error(`RocketMQ producer of stream ${stream} used before open() or after close()`);
		return client;
	};

	return {
		async open() {
			client = await connect(creds);
			failed = undefined;
			logger.info(`stream ${stream}: RocketMQ producer connected to ${creds.endpoint}`);
			return checkpoints.load();
		},

		async partitions() {
			return 1;
		},

		async send(messages) {
			const producer = connected();
			try {
				await sendAll(producer, creds.endpoint, messages);
			} catch (err) {
				failed = err;
				throw err;
			}
		},

		async commit(checkpoint) {
			if (failed) throw failed;
			await checkpoints.save(checkpoint);
		},

		async close() {
			const producer = client;
			client = undefined;
			await producer?.shutdown();
		},
	};
}

/**
 * Sends every message: each (topic, group) lane in order, the lanes in parallel. Names and sizes
 * are checked before anything goes out, so a bad message leaves the whole call unsent.
 */
async function sendAll(producer: RocketMqProducer, endpoint: string, messages: BrokerMessage[]): Promise<void> {
	const limit = producer.publishingSettings.maxBodySizeBytes;
	const lanes = new Map<string, MessageOptions[]>();
	for (const m of messages) {
		if (!TOPIC_NAME.test(m.topic)) {
			throw new SinkError(
				`'${m.topic}' is not a RocketMQ topic name: RocketMQ takes letters, digits, '_', '-', '%' and '|' (127 at most)`,
				"TOPIC_NAME",
			);
		}
		const rm = toRocketMqMessage(m);
		if (rm.body.length > limit) {
			throw new SinkError(
				`message ${m.dedupKey} to topic '${m.topic}' is ${rm.body.length} bytes; RocketMQ proxy ${endpoint} takes at most ${limit} (its maxMessageSize)`,
				"MESSAGE_TOO_LARGE",
			);
		}
		const lane = `${rm.topic}\u0000${rm.messageGroup}`;
		const queued = lanes.get(lane);
		if (queued) queued.push(rm);
		else lanes.set(lane, [rm]);
	}
	await sendLanes([...lanes.values()], async (m) => {
		try {
			await producer.send(m);
		} catch (err) {
			throw explain(err, endpoint, m.topic);
		}
	});
}

/**
 * Sends each lane's messages in order, up to PARALLEL_GROUPS lanes at a time. After a failure
 * nothing new starts; the first failure is thrown once the sends in flight have settled.
 */
async function sendLanes(lanes: MessageOptions[][], send: (m: MessageOptions) => Promise<void>): Promise<void> {
	let failure: { err: unknown } | undefined;
	const worker = async (): Promise<void> => {
		for (let lane = lanes.shift(); lane && !failure; lane = lanes.shift()) {
			for (const m of lane) {
				if (failure) return;
				try {
					await send(m);
				} catch (err) {
					failure ??= { err };
				}
			}
		}
	};
	await Promise.all(Array.from({ length: Math.min(PARALLEL_GROUPS, lanes.length) }, worker));
	if (failure) throw failure.err;
}

/**
 * The data source connection test: the proxy answers at the endpoint and accepts the credentials.
 * The gRPC protocol tells no server version; it only exists from RocketMQ 5 on.
 */
export async function testRocketMqConnection(creds: RocketMqCredentials): Promise<{ version: string }> {
	await (await connect(creds)).shutdown();
	return { version: "RocketMQ 5 (gRPC proxy)" };
}
