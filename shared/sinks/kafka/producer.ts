import { Admin, Consumer, Producer } from "@platformatic/kafka";
import { z } from "zod";
import type { KafkaCredentials } from "../../model/datasource.ts";
import { currentFormat, formatOf, type StoredRecord, upgradeRecord } from "../../state/format.ts";
import type { BrokerMessage, SinkCheckpoint, SinkProducer } from "../producer.ts";
import { clientOptions, explainKafkaError, KafkaError, protocolErrorId } from "./client.ts";
import { committedRange, readCommitted } from "./committed.ts";
import { javaPartition } from "./partitioner.ts";
import { checkSizes, type OutgoingRecord, splitRequests } from "./requests.ts";
import { TopicCatalog, type TopicCatalogOptions } from "./topics.ts";

/*
 * The Kafka side of a synchronization stream, exactly once for read_committed consumers: each
 * batch and the checkpoint it reaches are one Kafka transaction; the checkpoint is a record
 * (key = stream) in a compacted offsets topic, read back by open(). One transactional id per
 * stream, stable across restarts, so a restarted task fences the previous one: the coordinator
 * aborts the zombie's open transaction and refuses its further writes.
 */

export interface KafkaProducerOptions extends TopicCatalogOptions {
	/** The compacted topic holding each stream's checkpoint; created if missing. */
	offsetsTopic?: string;
	/**
	 * How long a transaction may stay open before the coordinator aborts it (transaction.timeout.ms):
	 * a batch must be sent within it; a crashed task's transaction holds consumers back at most this long.
	 */
	transactionTimeoutMs?: number;
}

export const DEFAULT_OFFSETS_TOPIC = "ferry-offsets";
/** The client does not export its Transaction class. */
type Transaction = NonNullable<Producer["transaction"]>;

const DEDUP_HEADER = "ferry.dedup";
const DEDUP_HEADER_KEY = Buffer.from(DEDUP_HEADER);

/** A stream's checkpoint as the offsets topic holds it (a change feed of Ferry's output reads it too: shared/feed/). */
export const StoredCheckpoint = z.object({
	position: z.object({ gtid: z.string(), file: z.string(), pos: z.number() }),
	snapshot: z.unknown().optional(),
});

/** A checkpoint record's value as written: its format (state/format.ts) beside the checkpoint. */
export function checkpointRecordValue(checkpoint: SinkCheckpoint): Buffer {
	return Buffer.from(JSON.stringify({ ...checkpoint, format: currentFormat("kafka-checkpoint") }));
}

/**
 * A checkpoint record's value read back: brought up to the current format, then parsed. Throws
 * FormatTooNewError for a newer Ferry's record; `what` names the record.
 */
export function parseCheckpointRecord(value: Buffer, what: string): ReturnType<typeof StoredCheckpoint.safeParse> {
	const raw = JSON.parse(value.toString("utf8")) as StoredRecord;
	const { format, ...rest } = raw ?? {};
	return StoredCheckpoint.safeParse(upgradeRecord("kafka-checkpoint", formatOf(format, what), rest, what));
}

/** The transactional id of a stream: stable, so a restarted task fences the one before it. */
export function transactionalIdOf(stream: string): string {
	return `ferry-${stream}`;
}

/** A SinkProducer for `stream` on the cluster of `creds`; open() connects. */
export function openKafkaProducer(
	creds: KafkaCredentials,
	stream: string,
	options: KafkaProducerOptions = {},
): SinkProducer {
	return new KafkaSinkProducer(creds, stream, options);
}

interface Session {
	admin: Admin;
	producer: Producer;
	topics: TopicCatalog;
	offsetsPartition: number;
}

class KafkaSinkProducer implements SinkProducer {
	readonly #transactionalId: string;
	readonly #offsetsTopic: string;
	readonly #streamKey: Buffer;
	#session: Session | undefined;
	/** The open transaction: begun by the first send after a commit. */
	#tx: Transaction | undefined;
	/** Set once the producer cannot go on (fenced, or a transaction it could not abort): send rejects with it. */
	#failed: Error | undefined;

	constructor(
		private readonly creds: KafkaCredentials,
		private readonly stream: string,
		private readonly options: KafkaProducerOptions,
	) {
		this.#transactionalId = transactionalIdOf(stream);
		this.#offsetsTopic = options.offsetsTopic ?? DEFAULT_OFFSETS_TOPIC;
		this.#streamKey = Buffer.from(stream);
	}

	async open(): Promise<SinkCheckpoint | null> {
		if (this.#session) throw new Error(`stream ${this.stream}: the Kafka producer is already open`);
		const base = clientOptions(this.creds);
		const admin = new Admin(base);
		const producer = new Producer({
			...base,
			idempotent: true,
			transactionalId: this.#transactionalId,
			// the client sends `timeout` as InitProducerId's transaction timeout and as Produce's ack timeout
			timeout: this.options.transactionTimeoutMs ?? 60_000,
		});
		try {
			const topics = new TopicCatalog(admin, this.creds, this.options);
			const offsetsPartitions = await topics.ensureOffsetsTopic(this.#offsetsTopic);
			// InitProducerId with id and epoch -1 (the client would send 0/0, which a coordinator
			// that already knows the id answers with PRODUCER_FENCED): aborts the previous
			// instance's open transaction and bumps the epoch, fencing it. The transaction the client
			// needs for that is only a client-side object, dropped again.
			const init = await producer.beginTransaction({ producerId: -1n, producerEpoch: -1 });
			await init.cancel();
			const session = { admin, producer, topics, offsetsPartition: javaPartition(this.#streamKey, offsetsPartitions) };
			const checkpoint = await this.#readCheckpoint(session);
			this.#session = session;
			this.#failed = undefined;
			return checkpoint;
		} catch (err) {
			await Promise.allSettled([producer.close(), admin.close()]);
			throw this.#explain(err, "opening the Kafka producer");
		}
	}

	async partitions(topic: string): Promise<number> {
		const session = this.#ready();
		try {
			return await session.topics.partitions(topic);
		} catch (err) {
			throw this.#explain(err, `reading the partitions of topic '${topic}'`);
		}
	}

	/**
	 * Sends into the open transaction (begun by the first send after a commit): invisible to
	 * read_committed consumers until `commit`. Large sends are cut into requests under the topic's
	 * max.message.bytes (the client would put them in one record batch the broker refuses).
	 */
	async send(messages: BrokerMessage[]): Promise<void> {
		await this.#inTransaction(await this.#records(messages), `sending ${messages.length} messages`);
	}

	/** Writes the checkpoint record into the open transaction and commits it: both or neither. */
	async commit(checkpoint: SinkCheckpoint): Promise<void> {
		const session = this.#ready();
		const record: OutgoingRecord = {
			topic: this.#offsetsTopic,
			partition: session.offsetsPartition,
			key: this.#streamKey,
			value: checkpointRecordValue(checkpoint),
			headers: new Map(),
			dedupKey: `checkpoint of ${this.stream}`,
		};
		await this.#inTransaction([record], "writing the checkpoint");
		const tx = this.#tx;
		this.#tx = undefined;
		try {
			await tx?.commit();
		} catch (err) {
			throw await this.#failTransaction(tx, this.#explain(err, "committing the transaction"));
		}
	}

	async #inTransaction(records: OutgoingRecord[], doing: string): Promise<void> {
		const session = this.#ready();
		const maxBytes = (topic: string) => session.topics.maxMessageBytes(topic);
		checkSizes(records, maxBytes, this.stream);
		try {
			this.#tx ??= await session.producer.beginTransaction();
			for (const request of splitRequests(records, maxBytes)) await this.#tx.send({ messages: request });
		} catch (err) {
			const tx = this.#tx;
			this.#tx = undefined;
			throw await this.#failTransaction(tx, this.#explain(err, doing));
		}
	}

	/** After a failure in a transaction: abort it (a fenced producer cannot, and stays failed). */
	async #failTransaction(tx: Transaction | undefined, error: KafkaError): Promise<KafkaError> {
		if (error.code === "FENCED") this.#failed = error;
		else if (tx && !tx.completed) {
			try {
				await tx.abort();
			} catch {
				this.#failed = error;
			}
		}
		return error;
	}

	async close(): Promise<void> {
		const session = this.#session;
		this.#session = undefined;
		if (!session) return;
		// a batch in flight: abort it now rather than leave consumers waiting for the timeout
		const tx = this.#tx;
		this.#tx = undefined;
		if (tx && !tx.completed) await tx.abort().catch(() => undefined);
		await Promise.allSettled([session.producer.close(), session.admin.close()]);
	}

	/**
	 * Gives up on the cluster (the session's probe found it silent): its clients are closed at once,
	 * which fails their requests in flight and stops their retries; no abort is attempted (it could
	 * not get through). The next producer's InitProducerId aborts the open transaction and fences
	 * this one, should a request of it still reach the broker.
	 */
	sever(reason: string): void {
		const session = this.#session;
		this.#session = undefined;
		this.#tx = undefined;
		this.#failed = new KafkaError(`stream ${this.stream}: ${reason}`, "BROKER_UNREACHABLE");
		if (!session) return;
		void session.producer.close(true).catch(() => undefined);
		void session.admin.close().catch(() => undefined);
	}

	#ready(): Session {
		if (this.#failed) throw this.#failed;
		if (!this.#session) throw new Error(`stream ${this.stream}: the Kafka producer is not open`);
		return this.#session;
	}

	/** The messages with their partitions decided (Java's murmur2 rule) and the dedup header added. */
	async #records(messages: BrokerMessage[]): Promise<OutgoingRecord[]> {
		const counts = new Map<string, number>();
		for (const topic of new Set(messages.map((m) => m.topic))) counts.set(topic, await this.partitions(topic));
		return messages.map((m) => {
			const headers = new Map<Buffer, Buffer>([[DEDUP_HEADER_KEY, Buffer.from(m.dedupKey)]]);
			for (const [k, v] of Object.entries(m.headers)) {
				if (k !== DEDUP_HEADER) headers.set(Buffer.from(k), Buffer.from(v));
			}
			return {
				topic: m.topic,
				partition: m.partition ?? javaPartition(m.routingKey, counts.get(m.topic) ?? 1),
				key: m.key ?? undefined,
				value: m.value ?? undefined,
				headers,
				dedupKey: m.dedupKey,
			};
		});
	}

	/** The last committed checkpoint of this stream: its offsets partition read up to the last stable offset. */
	async #readCheckpoint(session: Session): Promise<SinkCheckpoint | null> {
		const reader = new Consumer({ ...clientOptions(this.creds), groupId: `${this.#transactionalId}-checkpoint` });
		try {
			const [from, until] = await committedRange(reader, this.#offsetsTopic, session.offsetsPartition);
			// the latest record of this stream wins; a tombstone (null value) means none
			const latest: { value: Buffer | null } = { value: null };
			await readCommitted(reader, this.#offsetsTopic, session.offsetsPartition, from, until, (r) => {
				if (r.key?.equals(this.#streamKey)) latest.value = r.value;
			});
			if (latest.value === null) return null;
			const parsed = parseCheckpointRecord(
				latest.value,
				`the checkpoint of stream ${this.stream} in topic '${this.#offsetsTopic}'`,
			);
			if (!parsed.success) {
				throw new KafkaError(
					`stream ${this.stream}: the checkpoint in topic '${this.#offsetsTopic}' is not one Ferry wrote: ${parsed.error.message}`,
					"SEND_FAILED",
				);
			}
			return parsed.data;
		} finally {
			await reader.close();
		}
	}

	/** `err` as a KafkaError naming this stream; Ferry's own errors (a missing topic) pass through. */
	#explain(err: unknown, doing: string): KafkaError {
		if (err instanceof KafkaError) return err;
		if (protocolErrorId(err, ["PRODUCER_FENCED", "INVALID_PRODUCER_EPOCH"])) {
			return new KafkaError(
				`stream ${this.stream}: another task took over this stream: a newer producer initialised the transactional id '${this.#transactionalId}', so this one was fenced and its open transaction aborted`,
				"FENCED",
				{ cause: err },
			);
		}
		if (protocolErrorId(err, ["MESSAGE_TOO_LARGE", "RECORD_LIST_TOO_LARGE"])) {
			return new KafkaError(
				`stream ${this.stream}: ${doing}: the broker refused a record batch as too large: raise max.message.bytes on the stream's topics (and message.max.bytes on the brokers); the stream stops rather than drop messages`,
				"MESSAGE_TOO_LARGE",
				{ cause: err },
			);
		}
		return explainKafkaError(err, this.creds, `stream ${this.stream}: ${doing}`);
	}
}
