import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { Kafka, logLevel } from "kafkajs";
import type { Credentials } from "../../shared/model/datasource.ts";

/*
 * Kafka Connect with Debezium's MariaDB connector (scripts/services/kafka-connect.sh), for tests
 * that compare Ferry's Debezium format with the real thing, and a reader of whole Kafka topics.
 */

/** Read at each call: bench/sync.ts points it at a worker of its own after loading this module. */
const connectUrl = () => `http://127.0.0.1:${Number(process.env.FERRY_KAFKA_CONNECT_PORT ?? 19783)}`;
const brokers = (process.env.FERRY_KAFKA_BROKERS ?? "127.0.0.1:19092").split(",").map((b) => b.trim());
const script = join(import.meta.dirname, "../../scripts/services/kafka-connect.sh");

/** Starts the Connect worker (returns at once when it already runs); resolves with how long that took, ms. */
export async function startKafkaConnect(): Promise<number> {
	const t0 = performance.now();
	await promisify(execFile)("bash", [script, "start"], { timeout: 300_000 });
	return Math.round(performance.now() - t0);
}

async function rest(method: string, path: string, body?: unknown): Promise<unknown> {
	const res = await fetch(`${connectUrl()}${path}`, {
		method,
		headers: { "content-type": "application/json" },
		...(body === undefined ? {} : { body: JSON.stringify(body) }),
	});
	const text = await res.text();
	if (!res.ok && res.status !== 404)
		throw new Error(`Kafka Connect ${method} ${path}: ${res.status} ${text.slice(0, 500)}`);
	return text ? JSON.parse(text) : null;
}

export interface ConnectorOptions {
	/** topic.prefix */
	prefix: string;
	database: string;
	/** The binlog client's server id (unique among the source's replicas). */
	serverId: number;
	/** Where FileSchemaHistory keeps the schema history (a path the Connect JVM can write). */
	historyFile: string;
	/** Further connector settings (they win). */
	settings?: Record<string, string>;
}

/**
 * Creates (or reconfigures) a MariaDB connector. Besides `settings`, it is made robust against
 * other tests' tables on a shared server: DDL Debezium cannot parse (INET6, ...) is skipped, and an
 * event it cannot decode (a TABLE_MAP with COMPRESSED columns makes its binlog client throw) is
 * logged instead of stopping the task.
 */
export async function createMariaDbConnector(name: string, creds: Credentials, o: ConnectorOptions): Promise<void> {
	await rest("PUT", `/connectors/${encodeURIComponent(name)}/config`, {
		"connector.class": "io.debezium.connector.mariadb.MariaDbConnector",
		"tasks.max": "1",
		"database.hostname": creds.host,
		"database.port": String(creds.port),
		"database.user": creds.user,
		"database.password": creds.password,
		"database.ssl.mode": "disable",
		"database.server.id": String(o.serverId),
		"topic.prefix": o.prefix,
		"database.include.list": o.database,
		"schema.history.internal": "io.debezium.storage.file.history.FileSchemaHistory",
		"schema.history.internal.file.filename": o.historyFile,
		"schema.history.internal.skip.unparseable.ddl": "true",
		"event.processing.failure.handling.mode": "warn",
		...o.settings,
	});
}

export async function deleteConnector(name: string): Promise<void> {
	await rest("DELETE", `/connectors/${encodeURIComponent(name)}`);
}

/** The connector's task state ("RUNNING", "FAILED" with its trace, ...), or null before it has a task. */
export async function connectorTask(name: string): Promise<{ state: string; trace?: string } | null> {
	const status = (await rest("GET", `/connectors/${encodeURIComponent(name)}/status`)) as {
		tasks?: { state: string; trace?: string }[];
	} | null;
	return status?.tasks?.[0] ?? null;
}

export interface TopicRecord {
	topic: string;
	partition: number;
	offset: number;
	key: Buffer | null;
	value: Buffer | null;
	headers: Record<string, string>;
}

const kafka = new Kafka({ clientId: "ferry-test-topics", brokers, logLevel: logLevel.NOTHING });

/** Messages in `topic` so far (0 when it does not exist yet). */
export async function topicSize(topic: string): Promise<number> {
	const admin = kafka.admin();
	await admin.connect();
	try {
		if (!(await admin.listTopics()).includes(topic)) return 0;
		const offsets = await admin.fetchTopicOffsets(topic);
		return offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
	} finally {
		await admin.disconnect();
	}
}

/** Every record of the topics `match` selects, from the beginning to their end as of the call, in offset order. */
export async function readTopics(match: (topic: string) => boolean, timeoutMs = 30_000): Promise<TopicRecord[]> {
	const admin = kafka.admin();
	await admin.connect();
	const ends = new Map<string, number>();
	let topics: string[];
	try {
		topics = (await admin.listTopics()).filter(match);
		for (const topic of topics) {
			for (const p of await admin.fetchTopicOffsets(topic)) {
				if (Number(p.high) > 0) ends.set(`${topic}/${p.partition}`, Number(p.high));
			}
		}
	} finally {
		await admin.disconnect();
	}
	const records: TopicRecord[] = [];
	if (ends.size === 0) return records;
	const consumer = kafka.consumer({ groupId: `ferry-test-${process.pid}-${Date.now()}`, maxWaitTimeInMs: 200 });
	await consumer.connect();
	try {
		await consumer.subscribe({ topics, fromBeginning: true });
		await new Promise<void>((resolve, reject) => {
			const timer = setTimeout(() => reject(new Error(`topics not read to their end in ${timeoutMs} ms`)), timeoutMs);
			consumer
				.run({
					eachMessage: async ({ topic, partition, message }) => {
						const offset = Number(message.offset);
						const end = ends.get(`${topic}/${partition}`) ?? 0;
						if (offset >= end) return;
						const headers = Object.fromEntries(
							Object.entries(message.headers ?? {}).map(([k, v]) => [
								k,
								Buffer.isBuffer(v) ? v.toString("utf8") : String(v),
							]),
						);
						records.push({ topic, partition, offset, key: message.key, value: message.value, headers });
						if (offset === end - 1) ends.delete(`${topic}/${partition}`);
						if (ends.size === 0) {
							clearTimeout(timer);
							resolve();
						}
					},
				})
				.catch(reject);
		});
	} finally {
		await consumer.disconnect();
	}
	return records.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition || a.offset - b.offset);
}
