import { describe, expect, it } from "vitest";
import {
	isIncluded,
	parseSettings,
	setTableSettings,
	toggleDatabase,
	toggleTable,
} from "../../console/src/screens/wizard/rules-edit.ts";
import type { TableRule } from "../../shared/model/rules.ts";

/** The object tree's ticks as rule edits: the server's last-matching-rule semantics must hold after each. */
describe("the wizard's rule edits", () => {
	const tables = ["orders", "tmp_a", "tmp_b"];
	const included = (rules: TableRule[]) => tables.filter((t) => isIncluded(rules, "shop", t));

	it("ticks a database as one broad rule placed first, so table rules after it keep deciding", () => {
		const renamed = setTableSettings([], "shop", "orders", { renameTable: "orders_v2" });
		const all = toggleDatabase(renamed, "shop", tables, true);
		expect(all[0]).toEqual({ database: "shop", table: "*", exclude: false });
		expect(all.at(-1)).toMatchObject({ table: "orders", renameTable: "orders_v2" });
		expect(included(all)).toEqual(tables);
	});

	it("unticks a table under a wildcard with an exclusion, and ticks it back by removing that exclusion", () => {
		const all = toggleDatabase([], "shop", tables, true);
		const without = toggleTable(all, "shop", "tmp_a", false);
		expect(without.at(-1)).toEqual({ database: "shop", table: "tmp_a", exclude: true });
		expect(included(without)).toEqual(["orders", "tmp_b"]);
		expect(toggleTable(without, "shop", "tmp_a", true)).toEqual(all);
	});

	it("keeps a user's wildcard exclusion deciding over a later database tick, and unticks a database whole", () => {
		const rules: TableRule[] = [
			{ database: "shop", table: "*", exclude: false },
			{ database: "shop", table: "tmp_*", exclude: true },
		];
		expect(included(toggleDatabase(rules, "shop", tables, true))).toEqual(["orders"]);
		expect(toggleDatabase(rules, "shop", tables, false)).toEqual([]);
		const broad: TableRule[] = [{ database: "s*", table: "*", exclude: false }];
		expect(toggleDatabase(broad, "shop", tables, false).at(-1)).toEqual({
			database: "shop",
			table: "*",
			exclude: true,
		});
	});

	it("edits a table's own rule in place, and gives a wildcard-included table a rule of its own last", () => {
		const rules = toggleDatabase([], "shop", tables, true);
		const filtered = setTableSettings(rules, "shop", "orders", { where: "total > 15", renameTable: "" });
		expect(filtered).toEqual([...rules, { database: "shop", table: "orders", exclude: false, where: "total > 15" }]);
		const again = setTableSettings(filtered, "shop", "orders", { where: "total > 20" });
		expect(again).toHaveLength(2);
		expect(again[1]?.where).toBe("total > 20");
	});

	it("reads an exported file back and says why another file is not one", () => {
		const text = JSON.stringify({ format: "ferry-objects/1", objects: [{ database: "shop" }] });
		expect(parseSettings(text)).toEqual([{ database: "shop", table: "*", exclude: false }]);
		expect(parseSettings("{")).toBe("the file is not JSON");
		expect(parseSettings(JSON.stringify({ objects: [] }))).toContain("not a Ferry object settings file");
		expect(parseSettings(JSON.stringify({ format: "ferry-objects/1", objects: [{ table: "t" }] }))).toBe(
			"rule #1 has no database",
		);
	});
});
