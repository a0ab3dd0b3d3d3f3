import { describe, expect, it } from "vitest";
import { ddlTable } from "../../shared/sinks/events.ts";
import { IdleAwareIterator } from "../../shared/sinks/idle.ts";
import { inSnapshot, pastSnapshot, type SnapshotProgress } from "../../shared/sinks/snapshot.ts";
import { ddlRouting, rowRouting, topicFor } from "../../shared/sinks/topics.ts";

describe("topics and partitions (pure)", () => {
	it("names topics by pattern, explicit map first, unsafe characters replaced", () => {
		expect(topicFor({ topic: "{database}.{table}" }, "shop", "orders")).toBe("shop.orders");
		expect(topicFor({ topic: "cdc-{database}" }, "shop", "orders")).toBe("cdc-shop");
		expect(topicFor({ topic: "all" }, "shop", "orders")).toBe("all");
		expect(topicFor({ topic: "{database}.{table}" }, "café", "a b")).toBe("caf_.a_b");
		expect(topicFor({ topic: "{database}.{table}" }, "shop", "orders", "rocketmq")).toBe("shop_orders");
		const topicMap = { "shop.orders": "orders-topic", "shop.*": "shop-rest" };
		expect(topicFor({ topic: "x", topicMap }, "shop", "orders")).toBe("orders-topic");
		expect(topicFor({ topic: "x", topicMap }, "shop", "items")).toBe("shop-rest");
		expect(topicFor({ topic: "x", topicMap }, "crm", "items")).toBe("x");
		expect(() => topicFor({ topic: "{table}" }, "d", "t".repeat(300))).toThrow(/249/);
	});

	it("routes rows by key, by table, or to one partition; a keyless row by table", () => {
		const key = Buffer.from('{"id":1}');
		expect(rowRouting("key", "shop.orders", key)).toEqual(key);
		expect(rowRouting("key", "shop.audit", null)).toEqual(Buffer.from("shop.audit"));
		expect(rowRouting("table", "shop.orders", key)).toEqual(Buffer.from("shop.orders"));
		expect(rowRouting("one", "shop.orders", key)).toBeNull();
	});

	it("keeps DDL in order with its table's rows: every partition under key routing", () => {
		expect(ddlRouting("key", "shop.orders")).toBe("every-partition");
		expect(ddlRouting("table", "shop.orders")).toEqual({ routingKey: Buffer.from("shop.orders") });
		expect(ddlRouting("table", undefined)).toBe("every-partition");
		expect(ddlRouting("one", undefined)).toEqual({ routingKey: null });
	});

	it("finds the table a DDL statement changes", () => {
		expect(ddlTable("ALTER TABLE orders ADD c INT", "shop")).toEqual({ database: "shop", table: "orders" });
		expect(ddlTable("create table if not exists `a``b`.`t 1` (id int)", "x")).toEqual({
			database: "a`b",
			table: "t 1",
		});
		expect(ddlTable("DROP TEMPORARY TABLE IF EXISTS t", "d")).toEqual({ database: "d", table: "t" });
		expect(ddlTable("CREATE DATABASE d2", "d")).toBeUndefined();
	});
});

describe("snapshot positions (pure)", () => {
	const progress: SnapshotProgress = {
		tables: {
			"shop.orders": { gtid: "0-1-10", file: "bin.000002", pos: 500 },
			"shop.items": { gtid: "0-1-20", file: "bin.000002", pos: 900 },
		},
		complete: true,
		rows: 10,
	};
	it("leaves out a change whose transaction started before its table's snapshot", () => {
		const orders = { database: "shop", table: "orders" };
		const items = { database: "shop", table: "items" };
		expect(inSnapshot(progress, orders, { file: "bin.000002", pos: 400 })).toBe(true);
		expect(inSnapshot(progress, orders, { file: "bin.000002", pos: 500 })).toBe(false);
		expect(inSnapshot(progress, items, { file: "bin.000002", pos: 600 })).toBe(true);
		expect(inSnapshot(progress, items, { file: "bin.000003", pos: 4 })).toBe(false);
		expect(inSnapshot(progress, { database: "shop", table: "new" }, { file: "bin.000001", pos: 4 })).toBe(false);
		expect(inSnapshot(undefined, orders, { file: "bin.000001", pos: 4 })).toBe(false);
	});
	it("is past the snapshot once the stream passed every table's position", () => {
		expect(pastSnapshot(progress, { gtid: "", file: "bin.000002", pos: 800 })).toBe(false);
		expect(pastSnapshot(progress, { gtid: "", file: "bin.000002", pos: 900 })).toBe(true);
	});
});

describe("an iterator read with a deadline", () => {
	it("answers idle without losing the item on its way", async () => {
		async function* slow() {
			yield 1;
			await new Promise((r) => setTimeout(r, 120));
			yield 2;
		}
		const it = new IdleAwareIterator(slow());
		expect(await it.next(50)).toEqual({ value: 1, done: false });
		expect(await it.next(30)).toBe("idle");
		expect(await it.next(500)).toEqual({ value: 2, done: false });
		expect(await it.next(50)).toEqual({ value: undefined, done: true });
	});
});
