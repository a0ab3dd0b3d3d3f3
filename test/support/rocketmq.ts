import { connect as tcpConnect } from "node:net";
import { type Endpoints, type ILogger, SimpleConsumer } from "rocketmq-client-nodejs";
import type { RocketMqCredentials } from "../../shared/model/datasource.ts";
import { guardTelemetryStream } from "../../shared/sinks/rocketmq/client.ts";

/*
 * The local RocketMQ 5 started by scripts/services/rocketmq.sh: the proxy's gRPC endpoint for the
 * code under test, the broker's remoting port for what gRPC cannot do (create topics and consumer
 * groups), and a consumer that reads a topic back.
 */

const GRPC_PORT = Number(process.env.FERRY_ROCKETMQ_PORT ?? 19681);
const BROKER_PORT = Number(process.env.FERRY_ROCKETMQ_BROKER_PORT ?? 19611);
const NAMESRV_PORT = Number(process.env.FERRY_ROCKETMQ_NAMESRV_PORT ?? 19676);

/** The local proxy as a RocketMQ data source (no ACL). */
export const rocketMqCredentials: RocketMqCredentials = {
	endpoint: `127.0.0.1:${GRPC_PORT}`,
	tls: false,
	password: "",
};

let counter = 0;
/** A topic (or group) name unique to this test run; RocketMQ names take letters, digits, '_', '-', '%', '|'. */
export function uniqueRocketMqName(prefix: string): string {
	counter += 1;
	return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}

interface RemotingResponse {
	code: number;
	remark?: string;
}

/** RemotingCommand codes (org.apache.rocketmq.remoting.protocol.RequestCode). */
const UPDATE_AND_CREATE_TOPIC = 17;
const GET_ROUTEINFO_BY_TOPIC = 105;
const UPDATE_AND_CREATE_SUBSCRIPTIONGROUP = 200;

/**
 * One request over RocketMQ's remoting protocol, JSON serialization: a frame is
 * [length][header length (top byte: 0 = JSON)][header JSON][body], big-endian int32s.
 */
function remoting(
	port: number,
	code: number,
	extFields: Record<string, string>,
	body?: object,
): Promise<RemotingResponse> {
	const header = Buffer.from(
		JSON.stringify({
			code,
			language: "JAVA",
			version: 0,
			opaque: 1,
			flag: 0,
			extFields,
			serializeTypeCurrentRPC: "JSON",
		}),
	);
	const payload = body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(body));
	const lengths = Buffer.alloc(8);
	lengths.writeInt32BE(4 + header.length + payload.length, 0);
	lengths.writeInt32BE(header.length, 4);
	return new Promise((resolve, reject) => {
		const socket = tcpConnect(port, "127.0.0.1");
		let received = Buffer.alloc(0);
		socket.setTimeout(10_000, () => socket.destroy(new Error(`no answer from 127.0.0.1:${port} to request ${code}`)));
		socket.on("error", reject);
		socket.on("data", (chunk) => {
			received = Buffer.concat([received, chunk]);
			if (received.length < 8 || received.length < 4 + received.readInt32BE(0)) return;
			const headerLength = received.readInt32BE(4) & 0xffffff;
			socket.end();
			resolve(JSON.parse(received.subarray(8, 8 + headerLength).toString("utf8")) as RemotingResponse);
		});
		socket.write(Buffer.concat([lengths, header, payload]));
	});
}

async function expectSuccess(what: string, response: Promise<RemotingResponse>): Promise<void> {
	const r = await response;
	if (r.code !== 0) throw new Error(`${what} failed: code ${r.code} ${r.remark ?? ""}`);
}

/**
 * Creates a topic on the broker (what `mqadmin updateTopic -a +message.type=FIFO` does) and waits
 * until the name server routes it: the proxy remembers a missing topic for a while.
 */
export async function createRocketMqTopic(topic: string, type: "FIFO" | "NORMAL" = "FIFO", queues = 4): Promise<void> {
	await expectSuccess(
		`creating topic ${topic}`,
		remoting(BROKER_PORT, UPDATE_AND_CREATE_TOPIC, {
			topic,
			defaultTopic: "TBW102",
			readQueueNums: String(queues),
			writeQueueNums: String(queues),
			perm: "6",
			topicFilterType: "SINGLE_TAG",
			topicSysFlag: "0",
			order: "false",
			attributes: `+message.type=${type}`,
		}),
	);
	for (const deadline = Date.now() + 10_000; ; ) {
		const route = await remoting(NAMESRV_PORT, GET_ROUTEINFO_BY_TOPIC, { topic });
		if (route.code === 0) return;
		if (Date.now() > deadline) throw new Error(`topic ${topic} created but not routed after 10 s: ${route.remark}`);
		await new Promise((r) => setTimeout(r, 100));
	}
}

/**
 * Creates a consumer group: orderly (FIFO: each message group's next message only after the last
 * one's ack, so one message per group per receive) or not (batches of 32, in queue order).
 */
async function createGroup(group: string, orderly: boolean): Promise<void> {
	await expectSuccess(
		`creating consumer group ${group}`,
		remoting(
			BROKER_PORT,
			UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
			{},
			{ groupName: group, consumeMessageOrderly: orderly },
		),
	);
}

export interface ReceivedMessage {
	topic: string;
	keys: string[];
	messageGroup?: string;
	body: Buffer;
	/** The message's offset in its queue (the producer writes to queue 0 only: its send order). */
	offset?: number;
	/** The user properties; the broker adds `__SHARDINGKEY` (the message group) to FIFO messages. */
	properties: Record<string, string>;
}

const quiet: ILogger = { info() {}, warn() {}, error() {}, debug() {} };

/** A SimpleConsumer whose telemetry streams cannot crash the test process once shut down. */
class Reader extends SimpleConsumer {
	override createTelemetryStream(endpoints: Endpoints) {
		return guardTelemetryStream(super.createTelemetryStream(endpoints));
	}
}

/**
 * Reads a topic from its start with a FIFO consumer group of its own, acknowledging each batch,
 * until nothing more arrives for `idleMs`. Messages come in delivery order (each group's in order).
 */
export async function receiveRocketMq(
	topic: string,
	idleMs = 1_500,
	timeoutMs = 60_000,
	orderly = true,
): Promise<ReceivedMessage[]> {
	const group = uniqueRocketMqName("ferry-test-reader");
	await createGroup(group, orderly);
	const consumer = new Reader({
		endpoints: rocketMqCredentials.endpoint,
		namespace: "",
		consumerGroup: group,
		subscriptions: new Map([[topic, "*"]]),
		// the proxy's floor is 0.5 s here (scripts/services/rocketmq.sh)
		awaitDuration: 1_000,
		logger: quiet,
	});
	await consumer.startup();
	const received: ReceivedMessage[] = [];
	try {
		const end = Date.now() + timeoutMs;
		for (let last = Date.now(); Date.now() - last < idleMs; ) {
			if (Date.now() > end)
				throw new Error(`${topic} still delivering after ${timeoutMs} ms (${received.length} so far)`);
			const batch = await consumer.receive(32, 30_000);
			if (batch.length > 0) last = Date.now();
			for (const m of batch) {
				received.push({
					topic: m.topic,
					keys: m.keys,
					messageGroup: m.messageGroup || undefined,
					body: m.body,
					...(m.offset !== undefined ? { offset: m.offset } : {}),
					properties: Object.fromEntries(m.properties),
				});
			}
			// one round trip per ack: in parallel, or a few thousand messages take minutes
			await Promise.all(batch.map((m) => consumer.ack(m)));
		}
	} finally {
		await consumer.shutdown();
	}
	return received;
}
