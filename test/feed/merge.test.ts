import { describe, expect, it } from "vitest";
import type { FeedEvent, FeedRow, FeedTransaction } from "../../shared/feed/event.ts";
import { FeedMerge } from "../../shared/feed/merge.ts";

/* The merge of a feed's partitions into whole transactions in commit order, without Kafka. */

const P0 = "t:0";
const P1 = "t:1";

function tx(order: bigint): FeedTransaction {
	return { id: order.toString(), order, commitTime: Number(order >> 18n), commitTs: order.toString() };
}

function row(order: bigint, id: number, v = "x", index?: number): FeedRow {
	return {
		kind: "row",
		op: "insert",
		table: { database: "d", table: "t" },
		after: { id: String(id), v },
		transaction: tx(order),
		...(index === undefined ? {} : { index }),
	};
}

const mark = (order: bigint): FeedEvent => ({ kind: "watermark", order });

function ids(merge: FeedMerge): string[][] {
	return merge.release().map((t) => t.events.map((e) => (e.kind === "row" ? String(e.after?.id) : e.sql)));
}

describe("watermarks (TiCDC)", () => {
	const watermarks = (applied: bigint | null = null) =>
		new FeedMerge({
			completeness: "watermarks",
			partitions: [P0, P1],
			applied: (t) => applied !== null && t.order <= applied,
		});

	it("holds a transaction until every partition's watermark is above it, then releases in commit order", () => {
		const m = watermarks();
		// partition 1 is ahead: its later transaction arrives first
		m.add(P1, 0n, [row(20n, 2)], 10);
		m.add(P0, 0n, [row(10n, 1)], 10);
		m.add(P0, 1n, [mark(30n)], 10);
		expect(ids(m)).toEqual([]); // partition 1 has no watermark yet
		m.add(P1, 1n, [mark(15n)], 10);
		expect(ids(m)).toEqual([["1"]]); // 10 < 15; 20 is not below partition 1's watermark
		m.add(P1, 2n, [mark(21n)], 10);
		expect(ids(m)).toEqual([["2"]]);
	});

	it("a transaction at the watermark waits: only what is below it is complete", () => {
		const m = watermarks();
		m.add(P0, 0n, [row(10n, 1)], 10);
		m.add(P0, 1n, [mark(10n)], 10);
		m.add(P1, 0n, [mark(10n)], 10);
		expect(ids(m)).toEqual([]);
		m.add(P1, 1n, [mark(11n)], 10);
		m.add(P0, 2n, [mark(11n)], 10);
		expect(ids(m)).toEqual([["1"]]);
	});

	it("joins a transaction's rows from several partitions and drops resent copies", () => {
		const m = watermarks();
		m.add(P0, 0n, [row(10n, 1)], 10);
		m.add(P1, 0n, [row(10n, 2)], 10);
		// TiCDC restarted and sent both again
		m.add(P0, 1n, [row(10n, 1)], 10);
		m.add(P1, 1n, [row(10n, 2)], 10);
		m.add(P0, 2n, [mark(11n)], 10);
		m.add(P1, 2n, [mark(11n)], 10);
		expect(ids(m)).toEqual([["1", "2"]]);
		expect(m.duplicates).toBe(2);
		// a copy arriving after its transaction went out is dropped too
		m.add(P1, 3n, [row(10n, 2)], 10);
		m.add(P0, 3n, [mark(12n)], 10);
		m.add(P1, 4n, [mark(12n)], 10);
		expect(ids(m)).toEqual([]);
		expect(m.duplicates).toBe(3);
	});

	it("drops transactions the destination already holds", () => {
		const m = watermarks(10n);
		m.add(P0, 0n, [row(10n, 1), row(11n, 2)], 10);
		m.add(P0, 1n, [mark(20n)], 10);
		m.add(P1, 0n, [mark(20n)], 10);
		expect(ids(m)).toEqual([["2"]]);
	});

	it("keeps the first offset of what it still holds in the cursor; a resumed session trusts only watermarks it reads again", () => {
		const m = watermarks();
		m.add(P0, 5n, [row(10n, 1)], 10);
		m.add(P0, 6n, [row(30n, 3)], 10);
		m.add(P0, 7n, [mark(25n)], 10);
		m.add(P1, 9n, [mark(25n)], 10);
		expect(ids(m)).toEqual([["1"]]);
		expect(m.cursor()).toEqual({ offsets: { [P0]: "6", [P1]: "10" } });
		// a session resuming from the cursor starts where it says; the watermark after row 30 is read
		// again before it counts, or transaction 30 could go out before its other rows are read again
		const again = new FeedMerge({
			completeness: "watermarks",
			partitions: [P0, P1],
			cursor: m.cursor(),
			applied: (t) => t.order <= 10n,
		});
		expect(again.startOffset(P0)).toBe(6n);
		expect(again.watermark()).toBeNull();
		again.add(P0, 6n, [row(30n, 3)], 10);
		again.add(P1, 10n, [mark(40n)], 10);
		expect(ids(again)).toEqual([]);
		again.add(P0, 7n, [mark(25n)], 10);
		again.add(P0, 8n, [row(30n, 4), mark(40n)], 10);
		expect(ids(again)).toEqual([["3", "4"]]);
	});

	it("gives each transaction released with others a cursor that reads the later ones again", () => {
		const m = watermarks();
		m.add(P0, 5n, [row(10n, 1)], 10);
		m.add(P1, 3n, [row(20n, 2)], 10);
		m.add(P0, 6n, [row(30n, 3)], 10);
		m.add(P0, 7n, [mark(25n)], 10);
		m.add(P1, 4n, [mark(25n)], 10);
		const [first, second] = m.release();
		// 10's checkpoint is written while 20 is not applied yet: resuming there must read 20 again
		expect(first?.cursor.offsets).toEqual({ [P0]: "6", [P1]: "3" });
		expect(second?.cursor.offsets).toEqual({ [P0]: "6", [P1]: "5" });
		expect(second?.cursor).toEqual(m.cursor());
	});
});

describe("transactions (Ferry's Kafka output)", () => {
	const transactions = () =>
		new FeedMerge({ completeness: "transactions", partitions: [P0, P1], applied: () => false });
	const bothRead = (m: FeedMerge) => {
		m.readTo(P0, 0n, true);
		m.readTo(P1, 0n, true);
	};

	it("releases what a round saw once a later round has read every partition to its end, with earlier transactions seen later", () => {
		const m = transactions();
		m.startRound();
		m.add(P1, 0n, [row(20n, 2)], 10);
		bothRead(m);
		expect(ids(m)).toEqual([]); // partition 0 may still hold transaction 20's other rows
		m.startRound();
		// transaction 10 was committed before 20 but read only now
		m.add(P0, 0n, [row(10n, 1)], 10);
		m.add(P0, 1n, [row(20n, 3)], 10);
		bothRead(m);
		expect(ids(m)).toEqual([["1"], ["2", "3"]]);
	});

	it("releases a backlog as it is read: a partition that gave a later transaction holds no more of an earlier one", () => {
		const m = transactions();
		m.startRound();
		m.add(P0, 0n, [row(10n, 1)], 10);
		m.add(P0, 1n, [row(20n, 2)], 10);
		m.add(P1, 0n, [row(15n, 3)], 10);
		m.add(P1, 1n, [row(30n, 4)], 10);
		// neither partition was read to its end: 20 may have more rows in partition 0, 30 in partition 1
		expect(ids(m)).toEqual([["1"], ["3"]]);
		m.add(P0, 2n, [row(40n, 5)], 10);
		expect(ids(m)).toEqual([["2"]]);
		expect(m.cursor().offsets).toEqual({ [P0]: "2", [P1]: "1" });
	});

	it("runs a DDL statement Ferry wrote to every partition once", () => {
		const m = transactions();
		m.startRound();
		const ddl = (): FeedEvent => ({ kind: "ddl", database: "d", sql: "ALTER TABLE t ADD c INT", transaction: tx(10n) });
		m.add(P0, 0n, [ddl()], 10);
		m.add(P1, 0n, [ddl()], 10);
		bothRead(m);
		m.startRound();
		bothRead(m);
		expect(ids(m)).toEqual([["ALTER TABLE t ADD c INT"]]);
	});

	it("keeps identical events of one transaction (two equal updates are both real) in row order", () => {
		const m = transactions();
		m.startRound();
		m.add(P1, 0n, [row(10n, 1, "a", 2)], 10);
		m.add(P0, 0n, [row(10n, 1, "a", 0), row(10n, 1, "a", 1)], 10);
		bothRead(m);
		m.startRound();
		bothRead(m);
		const [t] = m.release();
		expect(t?.events.map((e) => (e.kind === "row" ? e.index : -1))).toEqual([0, 1, 2]);
		expect(m.duplicates).toBe(0);
	});
});
