import type { SyncOptions } from "../model/sync.ts";
import { SinkError } from "./errors.ts";

/*
 * Where each message goes: its topic (a pattern, or an explicit map) and what decides its
 * partition. Per-key order needs every change of a row in one partition; a table's DDL must stay
 * in order with its rows, so it is routed like the table ("table" and "one") or to every partition
 * the table's rows may be in ("key": see `ddlRouting`).
 */

/** What each broker takes in a topic name: Kafka letters, digits, '.', '_', '-'; RocketMQ no '.'. */
const REFUSED = { kafka: /[^A-Za-z0-9._-]/g, rocketmq: /[^A-Za-z0-9_-]/g } as const;

/** A topic name as the broker takes it: a refused character becomes '_' (a format's own side topics too). */
export function safeTopic(name: string, broker: keyof typeof REFUSED): string {
	return name.replace(REFUSED[broker], "_");
}

/**
 * The topic of a table's messages (destination names: the rules' renames apply). A character the
 * broker refuses becomes '_' (on RocketMQ the default `{database}.{table}` is `shop_orders`).
 */
export function topicFor(
	options: Pick<SyncOptions, "topic" | "topicMap">,
	database: string,
	table: string,
	broker: keyof typeof REFUSED = "kafka",
): string {
	const explicit = options.topicMap?.[`${database}.${table}`] ?? options.topicMap?.[`${database}.*`];
	const pattern = explicit ?? options.topic;
	const name = safeTopic(pattern.replaceAll("{database}", database).replaceAll("{table}", table), broker);
	if (name.length > 249) {
		throw new SinkError(
			`the topic name for ${database}.${table} would be ${name.length} characters long (the limit is 249): choose a shorter topic pattern or a topicMap entry`,
			"TOPIC_NAME",
		);
	}
	return name;
}

/**
 * What a row message is routed by: its key bytes ("key": Kafka's own partitioner hashes the
 * message key, so a Java consumer computing a partition agrees), the table's name ("table"), or
 * nothing: partition 0 ("one"). A table without a key has no key bytes and goes by table.
 */
export function rowRouting(
	partitioning: SyncOptions["partitioning"],
	table: string,
	messageKey: Buffer | null,
): Buffer | null {
	if (partitioning === "one") return null;
	if (partitioning === "key" && messageKey) return messageKey;
	return Buffer.from(table);
}

/**
 * How a DDL statement is routed: like its table's rows ("table"), to partition 0 ("one"), or, by
 * key, to every partition (the statement is copied to each, so whatever partition a row is in, its
 * consumer sees the statement in order with the row). A statement with no table goes to every
 * partition, except under "one".
 */
export function ddlRouting(
	partitioning: SyncOptions["partitioning"],
	table: string | undefined,
): { routingKey: Buffer | null } | "every-partition" {
	if (partitioning === "one") return { routingKey: null };
	if (partitioning === "table" && table) return { routingKey: Buffer.from(table) };
	return "every-partition";
}
