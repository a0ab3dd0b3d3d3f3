import type { SourcePosition } from "../binlog/position.ts";

/*
 * The broker side of a synchronization project: one interface, one adapter per broker
 * (kafka/producer.ts, rocketmq/producer.ts). The sink target (sink-target.ts) sends messages and
 * commits them with the checkpoint they reach; the adapter decides how the two are kept together.
 * Kafka writes both in one transaction (exactly once for read_committed consumers); RocketMQ sends
 * the messages, then stores the checkpoint (at least once, each message carrying its dedupKey).
 */

/** How far a synchronization stream got: what a restarted stream resumes from. */
export interface SinkCheckpoint {
	/** The position after the last source transaction whose messages were all sent. */
	position: SourcePosition;
	/** While the snapshot (full synchronization) runs: how far it got (snapshot.ts). */
	snapshot?: unknown;
}

export interface BrokerMessage {
	topic: string;
	/**
	 * What decides where the message goes: Kafka hashes it into a partition (murmur2, as Java's
	 * default partitioner does), RocketMQ uses it as the FIFO message group. Null: partition 0 /
	 * one group for the whole topic.
	 */
	routingKey: Buffer | null;
	/** An explicit partition (Kafka; heartbeats go to each partition): wins over routingKey. */
	partition?: number;
	key: Buffer | null;
	value: Buffer | null;
	headers: Record<string, string>;
	/** Stable across restarts (event.ts `dedupKey`): RocketMQ's message key, a Kafka header. */
	dedupKey: string;
}

export interface SinkProducer {
	/** Connects and returns the checkpoint stored for this stream, or null before its first commit. */
	open(): Promise<SinkCheckpoint | null>;
	/** The topic's partition count (Kafka), 1 for a broker without partitions the sink can address. */
	partitions(topic: string): Promise<number>;
	/**
	 * Sends messages, in order, as part of the open batch (one is opened by the first send after a
	 * commit). Kafka: inside a transaction, invisible to read_committed consumers until `commit`.
	 * RocketMQ: delivered at once.
	 */
	send(messages: BrokerMessage[]): Promise<void>;
	/**
	 * Ends the batch at a source transaction boundary and records the checkpoint it reaches.
	 * Kafka: the checkpoint is written in the same transaction, which then commits. RocketMQ: the
	 * checkpoint is stored once every message was acknowledged.
	 */
	commit(checkpoint: SinkCheckpoint): Promise<void>;
	/**
	 * Fails what is in flight at once and drops the connections, when the broker stopped answering
	 * (the session's probe, replication/probe.ts); `close` after it does nothing more. Absent: the
	 * client's own request bounds are short enough (RocketMQ's 10 s gRPC deadline).
	 */
	sever?(reason: string): void;
	/** Closes the connections; an open batch is aborted (and sent again from the checkpoint). */
	close(): Promise<void>;
}
