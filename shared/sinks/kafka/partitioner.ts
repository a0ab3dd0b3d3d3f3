/*
 * Where a keyed message goes, the way Java clients place it (Kafka's BuiltInPartitioner:
 * `Utils.toPositive(Utils.murmur2(key)) % partitions`), so a Java consumer or Kafka Streams
 * application co-partitioned with Ferry's topics agrees on which partition holds a key.
 * @platformatic/kafka's own defaultPartitioner uses `murmur2 >>> 0` instead: for a key whose hash
 * is negative that is 2^31 more, another partition unless the count is a power of two
 * (docs/decisions/2026-12-06-kafka-client.md).
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2): a signed 32-bit hash. */
export function murmur2(data: Buffer): number {
	const length = data.length;
	let h = SEED ^ length;
	const whole = length - (length % 4);
	for (let i = 0; i < whole; i += 4) {
		let k = data.readInt32LE(i);
		k = Math.imul(k, M);
		k ^= k >>> 24;
		k = Math.imul(k, M);
		h = Math.imul(h, M) ^ k;
	}
	const rest = length - whole;
	if (rest > 0) {
		// the reference switch falls through: byte 2, then 1, then 0, then one multiplication
		for (let j = rest - 1; j >= 0; j--) h ^= data.readUInt8(whole + j) << (8 * j);
		h = Math.imul(h, M);
	}
	h ^= h >>> 13;
	h = Math.imul(h, M);
	h ^= h >>> 15;
	return h | 0;
}

/** The partition Java's default partitioner picks for `key`; a null key goes to partition 0. */
export function javaPartition(key: Buffer | null, partitions: number): number {
	if (key === null) return 0;
	return (murmur2(key) & 0x7fffffff) % partitions;
}
