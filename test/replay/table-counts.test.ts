import { describe, expect, it } from "vitest";
import type { RowChange } from "../../shared/capture/change.ts";
import {
	addCounts,
	countDdl,
	countRows,
	MAX_COUNTED_TABLES,
	OTHER_TABLES,
	type TableCounts,
} from "../../shared/replay/table-counts.ts";

const row = (kind: RowChange["kind"], table: string): RowChange => ({ kind, table: { database: "shop", table } });

describe("replay's per-table counts", () => {
	it("counts inserts, updates and deletes by table, and DDL by the table it names", () => {
		const c: TableCounts = {};
		countRows(c, [row("insert", "a"), row("insert", "a"), row("update", "a"), row("delete", "b")]);
		for (const sql of [
			"ALTER TABLE a ADD COLUMN x INT",
			"create table if not exists `b` (id int)",
			"DROP TABLE other.`c d`",
			"CREATE VIEW v AS SELECT 1",
		]) {
			countDdl(c, { kind: "ddl", database: "shop", sql });
		}
		expect(c).toEqual({
			"shop.a": { inserts: 2, updates: 1, deletes: 0, ddl: 1 },
			"shop.b": { inserts: 0, updates: 0, deletes: 1, ddl: 1 },
			"other.c d": { inserts: 0, updates: 0, deletes: 0, ddl: 1 },
			"shop.*": { inserts: 0, updates: 0, deletes: 0, ddl: 1 },
		});
	});

	it("keeps at most MAX_COUNTED_TABLES tables, the rest adding up under one entry", () => {
		const c: TableCounts = {};
		const tables = Array.from({ length: MAX_COUNTED_TABLES + 5 }, (_, i) => row("insert", `t${i}`));
		countRows(c, tables);
		countRows(c, [row("update", "t0"), row("update", `t${MAX_COUNTED_TABLES + 1}`)]);
		expect(Object.keys(c)).toHaveLength(MAX_COUNTED_TABLES + 1);
		expect(c[OTHER_TABLES]).toEqual({ inserts: 5, updates: 1, deletes: 0, ddl: 0 });
		expect(c["shop.t0"]?.updates).toBe(1);
		// totals across sessions add up within the same bound
		const total = addCounts(addCounts({}, c), c);
		expect(Object.keys(total)).toHaveLength(MAX_COUNTED_TABLES + 1);
		expect(total[OTHER_TABLES]?.inserts).toBe(10);
	});
});
