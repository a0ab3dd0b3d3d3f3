import { describe, expect, it } from "vitest";
import { createDatabase, scratch2Credentials, scratchCredentials, uniqueDatabase } from "../support/databases.ts";
import { createTopics, uniqueTopic } from "../support/kafka.ts";
import { refusal, useTestStack, waitFor } from "../support/stack.ts";
import { addLocalKafka } from "../support/sync.ts";

describe("synchronization projects: bad input gets a clear error naming the object", () => {
	const db = uniqueDatabase("syncbad");
	const t = useTestStack({
		workers: 1,
		seed: () =>
			createDatabase(
				scratchCredentials,
				db,
				"CREATE TABLE big (id INT PRIMARY KEY, body TEXT)",
				"INSERT INTO big VALUES (1, REPEAT('x', 10000))",
			),
		databases: [db],
		source: scratchCredentials,
		destination: scratch2Credentials,
	});

	it("refuses an unreachable broker, an unknown format, and a migration type a queue cannot take", async () => {
		const nowhere = await refusal(
			t.api.post("/datasources", { name: "nowhere", engine: "kafka", brokers: ["127.0.0.1:19599"] }),
		);
		expect(nowhere.status).toBe(422);
		expect(nowhere.message).toMatch(/127\.0\.0\.1:19599/);
		const noProxy = await refusal(
			t.api.post("/datasources", { name: "no proxy", engine: "rocketmq", endpoint: "127.0.0.1:19698" }),
		);
		expect(noProxy.status).toBe(422);
		expect(noProxy.message).toMatch(/127\.0\.0\.1:19698/);
		// the console tests a broker before it saves it, as it does a database
		const untested = await refusal(
			t.api.post("/datasources/test", { engine: "kafka", brokers: ["127.0.0.1:19599"], password: "" }),
		);
		expect(untested.status).toBe(422);
		expect(untested.message).toMatch(/127\.0\.0\.1:19599/);
		expect(
			await t.api.post<{ version: string }>("/datasources/test", { engine: "kafka", brokers: ["127.0.0.1:19092"] }),
		).toHaveProperty("version");

		const kafka = { id: await addLocalKafka(t, "kafka") };
		const base = { sourceId: t.ids.sourceId, destinationId: kafka.id, objects: [{ database: db }] };
		const format = await refusal(
			t.api.post("/projects", { ...base, name: "f", types: ["full"], sync: { format: "avro" } }),
		);
		expect(format.status).toBe(400);
		expect(format.message).toMatch(/sync\.format/);
		expect(format.message).toMatch(/default.*canal.*debezium.*maxwell/);
		const types = await refusal(t.api.post("/projects", { ...base, name: "t", types: ["schema", "full"] }));
		expect(types.code).toBe("SYNC_PROJECT");
		expect(types.message).toMatch(/untick schema/);
		const toDatabase = await refusal(
			t.api.post("/projects", { ...t.ids, name: "d", types: ["full"], objects: [{ database: db }], sync: {} }),
		);
		expect(toDatabase.code).toBe("SYNC_PROJECT");
		const asSource = await refusal(
			t.api.post("/projects", {
				...base,
				sourceId: kafka.id,
				destinationId: t.ids.sourceId,
				name: "s",
				types: ["full"],
			}),
		);
		expect(asSource.code).toBe("NOT_A_DATABASE");
	});

	it("stops with a ticket naming the topic and the size when a message is over the topic's limit", async () => {
		const topic = uniqueTopic("syncbad");
		await createTopics(1, [topic], { "max.message.bytes": "4096" });
		const kafka = { id: await addLocalKafka(t, "kafka small") };
		const projectId = await t.startProject({
			name: "too big",
			destinationId: kafka.id,
			types: ["full"],
			objects: [{ database: db }],
			sync: { topic },
		});
		const failed = await waitFor(
			"the ticket",
			async () => {
				const s = await t.status(projectId);
				return s.state === "failed" ? s : undefined;
			},
			90_000,
		);
		expect(failed.ticket?.step).toBe("sync");
		expect(failed.ticket?.message).toContain(`'${topic}'`);
		expect(failed.ticket?.message).toMatch(/over the topic's limit of 4096 bytes/);
		expect(failed.ticket?.message).toMatch(/max\.message\.bytes/);
	}, 120_000);
});
