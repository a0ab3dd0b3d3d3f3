import {
	type Consumer,
	connectionsApiChannel,
	FetchIsolationLevels,
	type fetchV17,
	IS_CONTROL,
	IS_TRANSACTIONAL,
} from "@platformatic/kafka";

type FetchResponsePartition = fetchV17.FetchResponsePartition;

/*
 * Reading a partition as a read_committed consumer sees it. The broker stops a read_committed
 * fetch at the last stable offset but still returns the records of aborted transactions below
 * it, with a list of those transactions; the client drops them. @platformatic/kafka 2.12.1's
 * filter keeps an aborted transaction's records when its abort marker is not in the same fetch
 * response (a large transaction spanning fetches), and when a producer aborted twice in one
 * response it drops everything of that producer up to the second abort, committed transactions
 * in between included. So the filter here is Java's (FetchCollector / CompletedFetch): a
 * producer's batches are skipped from its aborted transaction's first offset until its abort
 * marker. It must see the batches as the broker sent them: Consumer.fetch applies the client's
 * filter before it returns (in place, replacing each partition's `records`), so the batches are
 * taken from the client's diagnostics channel, which publishes each response before its callback runs.
 */

/** The Fetch API key. */
const FETCH = 1;
/** Each fetched partition's batches before the client's filter, by the partition object it replaces them in. */
const unfiltered = new WeakMap<object, FetchResponsePartition["records"]>();
connectionsApiChannel.asyncStart.subscribe((message) => {
	const event = message as { apiKey?: number; result?: { responses?: { partitions?: FetchResponsePartition[] }[] } };
	if (event.apiKey !== FETCH) return;
	for (const topic of event.result?.responses ?? []) {
		for (const partition of topic.partitions ?? []) unfiltered.set(partition, partition.records);
	}
});

export interface CommittedRecord {
	offset: bigint;
	timestamp: bigint;
	key: Buffer | null;
	value: Buffer | null;
	headers: [Buffer | null, Buffer | null][];
}

/** The control record of an abort marker has key (version int16, type int16) with type 0. */
function isAbortMarker(key: Buffer | null | undefined): boolean {
	return key !== null && key !== undefined && key.length >= 4 && key.readInt16BE(2) === 0;
}

/** The records of one fetched partition that a read_committed consumer delivers, in offset order. */
export function committedRecords(partition: FetchResponsePartition): CommittedRecord[] {
	const aborted = [...(partition.abortedTransactions ?? [])].sort((a, b) =>
		a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0,
	);
	const abortedProducers = new Set<bigint>();
	let next = 0;
	const out: CommittedRecord[] = [];
	for (const batch of partition.records ?? []) {
		const lastOffset = batch.firstOffset + BigInt(batch.lastOffsetDelta);
		for (let a = aborted[next]; a !== undefined && a.firstOffset <= lastOffset; a = aborted[++next]) {
			abortedProducers.add(a.producerId);
		}
		if (batch.attributes & IS_CONTROL) {
			if (isAbortMarker(batch.records[0]?.key)) abortedProducers.delete(batch.producerId);
			continue;
		}
		if (batch.attributes & IS_TRANSACTIONAL && abortedProducers.has(batch.producerId)) continue;
		for (const r of batch.records) {
			out.push({
				offset: batch.firstOffset + BigInt(r.offsetDelta),
				timestamp: batch.firstTimestamp + r.timestampDelta,
				key: r.key,
				value: r.value,
				headers: r.headers,
			});
		}
	}
	return out;
}

/** Where one fetch got to: the offset after its last batch (control batches included). */
function nextOffset(partition: FetchResponsePartition, from: bigint): bigint {
	let next = from;
	for (const batch of partition.records ?? []) {
		const after = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n;
		if (after > next) next = after;
	}
	return next;
}

/** A partition's earliest offset and its last stable offset (the end of committed data). */
export async function committedRange(consumer: Consumer, topic: string, partition: number): Promise<[bigint, bigint]> {
	const partitions = { [topic]: [partition] };
	const [earliest, stable] = await Promise.all([
		consumer.listOffsets({ topics: [topic], partitions, timestamp: -2n }),
		consumer.listOffsets({
			topics: [topic],
			partitions,
			timestamp: -1n,
			isolationLevel: FetchIsolationLevels.READ_COMMITTED,
		}),
	]);
	return [earliest.get(topic)?.[partition] ?? 0n, stable.get(topic)?.[partition] ?? 0n];
}

/** Bytes asked for per fetch (the broker returns at least one batch even if it is larger). */
const FETCH_BYTES = 8 * 1024 * 1024;

/**
 * Calls `onRecord` for each committed record of topic/partition from `from` on, in order, until
 * it reaches `until` (a fetch may deliver records past it: all committed), and returns the offset
 * reached. `until` should be at most the last stable offset: above it a fetch waits for open
 * transactions.
 */
export async function readCommitted(
	consumer: Consumer,
	topic: string,
	partition: number,
	from: bigint,
	until: bigint,
	onRecord: (r: CommittedRecord) => void,
): Promise<bigint> {
	if (from >= until) return from;
	const metadata = await consumer.metadata({ topics: [topic] });
	const described = metadata.topics.get(topic);
	const leader = described?.partitions[partition]?.leader;
	if (!described || leader === undefined) throw new Error(`topic '${topic}' has no partition ${partition}`);
	let offset = from;
	while (offset < until) {
		const response = await consumer.fetch({
			node: leader,
			topics: [
				{
					topicId: described.id,
					partitions: [
						{
							partition,
							fetchOffset: offset,
							currentLeaderEpoch: -1,
							lastFetchedEpoch: -1,
							partitionMaxBytes: FETCH_BYTES,
						},
					],
				},
			],
			isolationLevel: FetchIsolationLevels.READ_COMMITTED,
			maxBytes: FETCH_BYTES,
			maxWaitTime: 100,
		});
		const filtered = response.responses[0]?.partitions.find((p) => p.partitionIndex === partition);
		if (!filtered) break;
		if (!unfiltered.has(filtered)) throw new Error("the Kafka client's fetch response was not seen unfiltered");
		const fetched = { ...filtered, records: unfiltered.get(filtered) ?? null };
		for (const r of committedRecords(fetched)) onRecord(r);
		const next = nextOffset(fetched, offset);
		// nothing more below `until` (the rest compacted away, or the log truncated)
		if (next === offset) break;
		offset = next;
	}
	return offset;
}
