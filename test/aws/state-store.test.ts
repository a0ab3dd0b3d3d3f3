import { beforeAll, describe, expect, it } from "vitest";
import { DynamoStateStore, ensureStateTable } from "../../shared/aws/state-store.ts";
import { ConflictError } from "../../shared/state/store.ts";
import { awsBackends, clientsFor, uniqueName } from "../support/aws.ts";

describe.each(awsBackends())("state store on $name", (backend) => {
	const { dynamo } = clientsFor(backend);
	const table = uniqueName("state");
	const store = new DynamoStateStore(dynamo, table);

	beforeAll(async () => {
		await ensureStateTable(dynamo, table);
		await ensureStateTable(dynamo, table); // a second call finds the table and returns
	});

	it("creates an item once and refuses a second create with the same key", async () => {
		const key = { pk: "PROJECT", sk: "p1" };
		const created = await store.create(key, { name: "first" });
		expect(created.version).toBe(1);
		await expect(store.create(key, { name: "second" })).rejects.toBeInstanceOf(ConflictError);
		expect((await store.get<{ name: string }>(key))?.name).toBe("first");
	});

	it("refuses a conditional replace made against a stale version", async () => {
		const key = { pk: "PROJECT", sk: "p2" };
		await store.create(key, { state: "new" });
		const v2 = await store.replace(key, { state: "running" }, 1);
		expect(v2.version).toBe(2);
		await expect(store.replace(key, { state: "paused" }, 1)).rejects.toBeInstanceOf(ConflictError);
		expect((await store.get<{ state: string }>(key))?.state).toBe("running");
	});

	it("takes only pk and sk from a stored item passed as its own key", async () => {
		const stored = await store.create({ pk: "TABLES#p", sk: "000001" }, { planned: false, chunks: 0 });
		await store.replace(stored, { planned: true, chunks: 7 }, stored.version);
		expect(await store.get<{ planned: boolean; chunks: number }>(stored)).toMatchObject({
			planned: true,
			chunks: 7,
			version: 2,
		});
	});

	it("modify retries until its change lands on the latest version", async () => {
		const key = { pk: "COUNTER", sk: "c" };
		await store.create(key, { n: 0 });
		await Promise.all(
			Array.from({ length: 5 }, () => store.modify<{ n: number }>(key, (cur) => ({ n: cur.n + 1 }), 50)),
		);
		expect((await store.get<{ n: number }>(key))?.n).toBe(5);
	});

	it("queries a partition by sort-key prefix across pages and deletes conditionally", async () => {
		for (let i = 0; i < 30; i++) {
			await store.create({ pk: "CHUNKS#p", sk: `t1#${String(i).padStart(4, "0")}` }, { blob: "x".repeat(40_000) });
		}
		await store.create({ pk: "CHUNKS#p", sk: "t2#0000" }, {});
		const t1 = await store.list("CHUNKS#p", "t1#");
		expect(t1).toHaveLength(30);
		expect(t1[29]?.sk).toBe("t1#0029");
		await expect(store.delete({ pk: "CHUNKS#p", sk: "t2#0000" }, 7)).rejects.toBeInstanceOf(ConflictError);
		await store.delete({ pk: "CHUNKS#p", sk: "t2#0000" }, 1);
		expect(await store.get({ pk: "CHUNKS#p", sk: "t2#0000" })).toBeUndefined();
	});
});
