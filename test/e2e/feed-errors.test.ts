import { Producer } from "@platformatic/kafka";
import { describe, expect, it } from "vitest";
import type { ProjectStatus } from "../../shared/control/status.ts";
import { createDatabase, scratch2Credentials, scratchCredentials, uniqueDatabase } from "../support/databases.ts";
import { createTopics, kafkaCredentials, uniqueTopic } from "../support/kafka.ts";
import { refusal, type StackFixture, useTestStack, waitFor } from "../support/stack.ts";
import { addLocalKafka } from "../support/sync.ts";
import { canalJsonMessage, canalJsonWatermark } from "../support/ticdc.ts";

/* A migration fed from Kafka: bad settings and a feed Ferry cannot follow get a clear error naming the object. */

async function produce(topic: string, values: Buffer[]): Promise<void> {
	const producer = new Producer({ clientId: "feed-errors", bootstrapBrokers: kafkaCredentials.brokers });
	try {
		await producer.send({ messages: values.map((value) => ({ topic, partition: 0, value })) });
	} finally {
		await producer.close();
	}
}

/** A TiCDC canal-json row message, with or without the TiDB extension's commit timestamp. */
function row(db: string, id: number, extension = true): Buffer {
	const message = canalJsonMessage({
		database: db,
		table: "t",
		type: "INSERT",
		commitTs: (BigInt(Date.now()) << 18n) + 1n,
		data: [{ id: String(id), v: "x" }],
		pkNames: ["id"],
		mysqlType: { id: "int", v: "varchar" },
	});
	if (extension) return message;
	const json = JSON.parse(message.toString()) as Record<string, unknown>;
	delete json._tidb;
	return Buffer.from(JSON.stringify(json));
}

async function failedPrecheck(t: StackFixture, projectId: string): Promise<ProjectStatus> {
	return waitFor(
		"the precheck ticket",
		async () => {
			const s = await t.status(projectId);
			return s.state === "failed" ? s : undefined;
		},
		60_000,
	);
}

describe("a migration fed from Kafka: bad input gets a clear error naming the object", () => {
	const db = uniqueDatabase("feedbad");
	const t = useTestStack({
		workers: 1,
		seed: () => createDatabase(scratchCredentials, db, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))"),
		databases: [db],
		source: scratchCredentials,
		destination: scratch2Credentials,
	});

	it("refuses a feed that is not Kafka, one without incremental, two-way sync, and a wrong synchronization", async () => {
		const kafkaId = await addLocalKafka(t, "kafka");
		const base = { ...t.ids, name: "fed", types: ["schema", "full", "incremental"], objects: [{ database: db }] };
		const feed = { dataSourceId: kafkaId, topics: ["changes"], format: "ticdc-canal-json" };

		const notKafka = await refusal(
			t.api.post("/projects", { ...base, feed: { ...feed, dataSourceId: t.ids.sourceId } }),
		);
		expect(notKafka.code).toBe("CHANGE_FEED");
		expect(notKafka.message).toMatch(/must be a Kafka data source/);
		const fullOnly = await refusal(t.api.post("/projects", { ...base, types: ["schema", "full"], feed }));
		expect(fullOnly.message).toMatch(/tick incremental/);
		const twoWay = await refusal(t.api.post("/projects", { ...base, options: { twoWay: true }, feed }));
		expect(twoWay.message).toMatch(/turn twoWay off/);
		const badFormat = await refusal(t.api.post("/projects", { ...base, feed: { ...feed, format: "avro" } }));
		expect(badFormat.status).toBe(400);
		expect(badFormat.message).toMatch(/feed\.format/);
		const badTopic = await refusal(t.api.post("/projects", { ...base, feed: { ...feed, topics: ["a b"] } }));
		expect(badTopic.status).toBe(400);
		const notSync = await refusal(
			t.api.post("/projects", { ...base, feed: { ...feed, format: "debezium", synchronization: "pr-nope" } }),
		);
		expect(notSync.message).toMatch(/feed\.synchronization 'pr-nope' is not a synchronization project/);
	});

	it("stops at precheck when the topic is missing, or its messages lack TiCDC's commit timestamps or watermarks", async () => {
		const kafkaId = await addLocalKafka(t, "kafka 2");
		const start = (name: string, topic: string) =>
			t.startProject({
				name,
				types: ["schema", "full", "incremental"],
				objects: [{ database: db }],
				feed: { dataSourceId: kafkaId, topics: [topic], format: "ticdc-canal-json" },
			});

		const missing = uniqueTopic("feed-missing");
		const noTopic = await failedPrecheck(t, await start("no topic", missing));
		expect(noTopic.ticket?.step).toBe("precheck");
		expect(noTopic.ticket?.message).toContain(`topic '${missing}' does not exist`);

		const plain = uniqueTopic("feed-plain");
		await createTopics(1, [plain]);
		await produce(plain, [row(db, 1, false)]);
		const noExtension = await failedPrecheck(t, await start("no extension", plain));
		expect(noExtension.ticket?.message).toMatch(/enable-tidb-extension=true/);

		const unmarked = uniqueTopic("feed-unmarked");
		await createTopics(1, [unmarked]);
		await produce(unmarked, [row(db, 1)]);
		const noWatermark = await failedPrecheck(t, await start("no watermark", unmarked));
		expect(noWatermark.ticket?.message).toMatch(/no watermark/);
	}, 240_000);

	it("stops replay with a ticket naming the topic, partition and offset of a message it cannot read", async () => {
		const kafkaId = await addLocalKafka(t, "kafka 3");
		const topic = uniqueTopic("feed-broken");
		await createTopics(1, [topic]);
		await produce(topic, [row(db, 1), canalJsonWatermark(BigInt(Date.now()) << 18n)]);
		const projectId = await t.startProject({
			name: "broken later",
			types: ["schema", "full", "incremental"],
			objects: [{ database: db }],
			feed: { dataSourceId: kafkaId, topics: [topic], format: "ticdc-canal-json" },
		});
		await waitFor(
			"replay to run",
			async () => ((await t.status(projectId)).incremental?.state === "running" ? true : undefined),
			90_000,
		);
		await produce(topic, [row(db, 2, false)]);
		const stopped = await waitFor(
			"the replay ticket",
			async () => {
				const s = await t.status(projectId);
				return s.ticket ? s : undefined;
			},
			60_000,
		);
		expect(stopped.ticket?.step).toBe("incremental");
		expect(stopped.ticket?.message).toMatch(new RegExp(`topic '${topic}', partition 0, offset 2`));
		expect(stopped.ticket?.message).toMatch(/enable-tidb-extension=true/);
	}, 240_000);
});
