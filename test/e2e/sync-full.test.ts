import { describe, expect, it } from "vitest";
import { createDatabase, scratch2Credentials, scratchCredentials, uniqueDatabase } from "../support/databases.ts";
import { consumeAll, createTopics } from "../support/kafka.ts";
import { useTestStack, waitFor } from "../support/stack.ts";
import { addLocalKafka } from "../support/sync.ts";

describe("a full-only synchronization project in Debezium format, with a rule's column choice and row filter", () => {
	const db = uniqueDatabase("syncfull");
	const t = useTestStack({
		workers: 1,
		seed: () =>
			createDatabase(
				scratchCredentials,
				db,
				"CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20), secret VARCHAR(20), price DECIMAL(8,2))",
				"INSERT INTO items VALUES (1, 'a', 's1', 1.50), (2, 'b', 's2', 20.00), (3, 'c', 's3', 300.25)",
				"CREATE TABLE skipped (id INT PRIMARY KEY)",
				"INSERT INTO skipped VALUES (1)",
			),
		databases: [db],
		source: scratchCredentials,
		destination: scratch2Credentials,
	});

	it("sends each chosen row once as a snapshot read (op r), then completes", async () => {
		const topic = `${db}.items`;
		await createTopics(3, [topic]);
		const kafka = { id: await addLocalKafka(t, "kafka") };
		const projectId = await t.startProject({
			name: "full only",
			destinationId: kafka.id,
			types: ["full"],
			objects: [{ database: db, table: "items", columns: ["id", "name", "price"], where: "price < 100" }],
			sync: { format: "debezium", serverName: "shop" },
		});
		const done = await waitFor(
			"the project to complete",
			async () => {
				const s = await t.status(projectId);
				if (s.state === "failed") throw new Error(`ticket: ${s.ticket?.message}`);
				return s.state === "completed" ? s : undefined;
			},
			90_000,
		);
		expect(done.steps.map((s) => [s.name, s.state])).toEqual([
			["precheck", "done"],
			["sync", "done"],
		]);
		const messages = await consumeAll([topic], { untilIdleMs: 1500 });
		const values = messages.map((m) => JSON.parse(String(m.value)) as Record<string, unknown>);
		expect(values.map((v) => v.op)).toEqual(["r", "r"]);
		const after = values.map((v) => v.after as Record<string, unknown>).sort((a, b) => Number(a.id) - Number(b.id));
		// DECIMAL in Debezium's precise mode: the unscaled value's big-endian bytes, base64 (150 -> AJY=)
		expect(after).toEqual([
			{ id: 1, name: "a", price: "AJY=" },
			{ id: 2, name: "b", price: "B9A=" },
		]);
		expect(values.map((v) => (v.source as { name: string; snapshot: string }).name)).toEqual(["shop", "shop"]);
		// keys as Debezium's: the primary key struct; partitions by Kafka's murmur2 of the key bytes
		expect(messages.map((m) => JSON.parse(String(m.key)).id).sort()).toEqual([1, 2]);
	}, 120_000);
});
