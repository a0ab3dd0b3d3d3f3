import { KafkaError } from "./client.ts";

/*
 * How one transaction's records are cut into Produce requests. A Produce request (v3+) carries
 * exactly one record batch per partition, and the broker refuses a batch larger than the topic's
 * max.message.bytes, so a batch of tens of thousands of messages goes as a series of requests,
 * each at most that many bytes per partition, in the order given (order per partition is what
 * Kafka keeps).
 */

/** A message ready for the wire, its partition decided. */
export interface OutgoingRecord {
	topic: string;
	partition: number;
	key: Buffer | undefined;
	value: Buffer | undefined;
	headers: Map<Buffer, Buffer>;
	/** Names the message in errors (BrokerMessage.dedupKey). */
	dedupKey: string;
}

/** The fixed part of a v2 record batch (offset ... record count). */
export const BATCH_OVERHEAD = 61;
/** Total bytes per request, far below the broker's socket.request.max.bytes (100 MiB by default). */
const REQUEST_BYTES = 16 * 1024 * 1024;

function varintBytes(n: number): number {
	let zigzag = n >= 0 ? n * 2 : -n * 2 - 1;
	let bytes = 1;
	while (zigzag >= 128) {
		zigzag = Math.floor(zigzag / 128);
		bytes += 1;
	}
	return bytes;
}

function bytesField(b: Buffer | undefined): number {
	return b === undefined ? 1 : varintBytes(b.length) + b.length;
}

/**
 * An upper bound of what the record adds to a record batch: exact for key, value and headers,
 * the largest sizes for the length prefix, timestamp and offset deltas.
 */
export function recordBytes(r: OutgoingRecord): number {
	let body = 1 + 10 + 5 + bytesField(r.key) + bytesField(r.value) + varintBytes(r.headers.size);
	for (const [k, v] of r.headers) body += bytesField(k) + bytesField(v);
	return 5 + body;
}

/**
 * Throws MESSAGE_TOO_LARGE for the first record that cannot fit a batch of its own under its
 * topic's limit. Nothing is sent then: the stream stops with this error rather than dropping the
 * message, until the topic's max.message.bytes (and the broker's message.max.bytes) is raised or
 * the row shrinks.
 */
export function checkSizes(records: OutgoingRecord[], maxBytes: (topic: string) => number, stream: string): void {
	for (const r of records) {
		const size = BATCH_OVERHEAD + recordBytes(r);
		const limit = maxBytes(r.topic);
		if (size > limit) {
			throw new KafkaError(
				`stream ${stream}: message ${r.dedupKey} for topic '${r.topic}' is about ${size} bytes, over the topic's limit of ${limit} bytes (max.message.bytes): the stream stops here rather than drop it; raise max.message.bytes on the topic (and message.max.bytes on the brokers, and max.request.size or fetch limits of consumers)`,
				"MESSAGE_TOO_LARGE",
			);
		}
	}
}

/**
 * Cuts `records` into consecutive requests: a new one starts when a record would take its
 * partition's batch over its topic's limit, or the request over REQUEST_BYTES. Records must have
 * passed checkSizes.
 */
export function splitRequests(records: OutgoingRecord[], maxBytes: (topic: string) => number): OutgoingRecord[][] {
	const requests: OutgoingRecord[][] = [];
	let current: OutgoingRecord[] = [];
	let total = 0;
	let perPartition = new Map<string, number>();
	for (const r of records) {
		const size = recordBytes(r);
		const slot = `${r.partition}:${r.topic}`;
		const filled = perPartition.get(slot) ?? BATCH_OVERHEAD;
		if (current.length > 0 && (filled + size > maxBytes(r.topic) || total + size + BATCH_OVERHEAD > REQUEST_BYTES)) {
			requests.push(current);
			current = [];
			total = 0;
			perPartition = new Map();
		}
		const before = perPartition.get(slot);
		perPartition.set(slot, (before ?? BATCH_OVERHEAD) + size);
		total += size + (before === undefined ? BATCH_OVERHEAD : 0);
		current.push(r);
	}
	if (current.length > 0) requests.push(current);
	return requests;
}
