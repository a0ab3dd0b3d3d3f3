import { type Admin, ConfigResourceTypes } from "@platformatic/kafka";
import type { KafkaCredentials } from "../../model/datasource.ts";
import { brokerAutoCreatesTopics, brokerList, KafkaError, protocolErrorId } from "./client.ts";

/*
 * The topics a producer writes to, as far as it needs to know them: how many partitions (keys
 * are hashed over that count, so it is read once per session and kept) and the largest record
 * batch the topic accepts. A missing topic is created with the broker's defaults only where the
 * broker itself would auto-create it; Ferry's own offsets topic is always created.
 */

/** Kafka's default max.message.bytes, assumed when the user may not read topic configs. */
const DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;
const MAX_MESSAGE_BYTES = "max.message.bytes";

/**
 * The offsets topic: one partition (checkpoints are small and few; open() reads one partition
 * from its start), compacted (one record per stream survives), with 16 MiB segments so the
 * cleaner can compact all but a short tail: what open() reads stays small.
 */
const OFFSETS_TOPIC_CONFIGS = [
	{ name: "cleanup.policy", value: "compact" },
	{ name: "segment.bytes", value: String(16 * 1024 * 1024) },
];

export interface TopicCatalogOptions {
	/** Create missing topics: by default only where the broker's auto.create.topics.enable is on. */
	createMissingTopics?: boolean;
}

export class TopicCatalog {
	readonly #partitions = new Map<string, Promise<number>>();
	readonly #maxBytes = new Map<string, number>();

	constructor(
		private readonly admin: Admin,
		private readonly creds: KafkaCredentials,
		private readonly options: TopicCatalogOptions,
	) {}

	/** The topic's partition count, from metadata once per catalog; creates or refuses a missing topic. */
	partitions(topic: string): Promise<number> {
		let known = this.#partitions.get(topic);
		if (!known) {
			known = this.#describe(topic, () => this.#createIfAllowed(topic));
			this.#partitions.set(topic, known);
			known.catch(() => this.#partitions.delete(topic));
		}
		return known;
	}

	/** The largest record batch the topic accepts; known once partitions(topic) resolved. */
	maxMessageBytes(topic: string): number {
		return this.#maxBytes.get(topic) ?? DEFAULT_MAX_MESSAGE_BYTES;
	}

	/** Makes sure the offsets topic exists (created compacted with one partition) and returns its partition count. */
	ensureOffsetsTopic(topic: string): Promise<number> {
		let known = this.#partitions.get(topic);
		if (!known) {
			known = this.#describe(topic, () => this.#create(topic, { partitions: 1, configs: OFFSETS_TOPIC_CONFIGS }));
			this.#partitions.set(topic, known);
			known.catch(() => this.#partitions.delete(topic));
		}
		return known;
	}

	async #describe(topic: string, whenMissing: () => Promise<void>): Promise<number> {
		if (!(await this.#exists(topic))) await whenMissing();
		const metadata = await this.admin.metadata({ topics: [topic], forceUpdate: true });
		const count = metadata.topics.get(topic)?.partitionsCount;
		if (!count) throw new Error(`topic '${topic}': the cluster reports no partitions`);
		this.#maxBytes.set(topic, await this.#readMaxBytes(topic));
		return count;
	}

	async #exists(topic: string): Promise<boolean> {
		return (await this.admin.listTopics({ includeInternals: false })).includes(topic);
	}

	async #createIfAllowed(topic: string): Promise<void> {
		const allowed =
			this.options.createMissingTopics ??
			(await brokerAutoCreatesTopics(this.admin, [...(await this.admin.metadata({ topics: [] })).brokers.keys()]));
		if (allowed === false) {
			throw new KafkaError(
				`topic '${topic}' does not exist on Kafka at ${brokerList(this.creds)} and the brokers do not create topics automatically: create it (with the partition count you want keys spread over), or enable auto.create.topics.enable`,
				"TOPIC_MISSING",
			);
		}
		// null (broker configs not readable): try, and let the broker's answer decide
		await this.#create(topic, {});
	}

	async #create(
		topic: string,
		how: { partitions?: number; configs?: { name: string; value: string }[] },
	): Promise<void> {
		try {
			// partitions and replicas left out: -1, the broker's num.partitions and default.replication.factor
			await this.admin.createTopics({ topics: [topic], partitions: how.partitions, configs: how.configs });
		} catch (err) {
			if (protocolErrorId(err, ["TOPIC_ALREADY_EXISTS"])) return;
			throw err;
		}
	}

	async #readMaxBytes(topic: string): Promise<number> {
		try {
			const [described] = await this.admin.describeConfigs({
				resources: [
					{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic, configurationKeys: [MAX_MESSAGE_BYTES] },
				],
			});
			const value = Number(described?.configs.find((c) => c.name === MAX_MESSAGE_BYTES)?.value);
			return Number.isFinite(value) && value > 0 ? value : DEFAULT_MAX_MESSAGE_BYTES;
		} catch {
			return DEFAULT_MAX_MESSAGE_BYTES;
		}
	}
}
