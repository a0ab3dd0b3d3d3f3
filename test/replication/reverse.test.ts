import { describe, expect, it } from "vitest";
import { ProjectInput } from "../../shared/model/project.ts";
import type { TableMapping } from "../../shared/model/rules.ts";
import { forwardOf, invertMappings, sourceOf } from "../../shared/replication/reverse.ts";

const orders: TableMapping = {
	source: { database: "shop", table: "orders" },
	destination: { database: "shop2", table: "orders_v2" },
	columns: [
		{ source: "id", destination: "id" },
		{ source: "total", destination: "amount" },
	],
	where: "total > 0",
};
const users: TableMapping = {
	source: { database: "shop", table: "users" },
	destination: { database: "shop2", table: "users" },
	columns: [{ source: "id", destination: "id" }],
};
const rules = ProjectInput.shape.objects.parse([
	{ database: "shop", renameDatabase: "shop2" },
	{ database: "shop", table: "tmp_*", exclude: true },
	{
		database: "shop",
		table: "orders",
		renameDatabase: "shop2",
		renameTable: "orders_v2",
		columns: ["id", "total"],
		renameColumns: { total: "amount" },
		where: "total > 0",
	},
	// many databases into one: cannot be turned round
	{ database: "log_*", renameDatabase: "logs" },
]);

describe("reverse replication's mappings and rules", () => {
	it("turns each mapping round: names, the mapped columns, renames swapped, no row filter", () => {
		const inverted = invertMappings([orders, users], rules);
		expect(inverted.mappings).toEqual([
			{
				source: { database: "shop2", table: "orders_v2" },
				destination: { database: "shop", table: "orders" },
				columns: [
					{ source: "id", destination: "id" },
					{ source: "amount", destination: "total" },
				],
			},
			{
				source: { database: "shop2", table: "users" },
				destination: { database: "shop", table: "users" },
				columns: [{ source: "id", destination: "id" }],
			},
		]);
		expect(inverted.rules).toEqual([
			// the rules turned round, for tables the destination creates
			{ database: "shop2", table: "*", exclude: false, renameDatabase: "shop" },
			{
				database: "shop2",
				table: "orders_v2",
				exclude: false,
				renameDatabase: "shop",
				renameTable: "orders",
				renameColumns: { amount: "total" },
			},
			// then one per table, last so that it decides; no column selection: a column the destination adds goes back too
			{
				database: "shop2",
				table: "orders_v2",
				exclude: false,
				renameDatabase: "shop",
				renameTable: "orders",
				renameColumns: { amount: "total" },
			},
			{ database: "shop2", table: "users", exclude: false, renameDatabase: "shop", renameTable: "users" },
		]);
		expect(() => invertMappings([orders, { ...users, destination: orders.destination }], rules)).toThrow(
			/cannot tell which of them/,
		);
	});

	it("sends a table the destination creates back only to the source table the forward rules would send to it", () => {
		const back = invertMappings([orders, users], rules).rules;
		expect(sourceOf({ database: "shop2", table: "fresh" }, back, rules)).toEqual({ database: "shop", table: "fresh" });
		// excluded forward
		expect(sourceOf({ database: "shop2", table: "tmp_1" }, back, rules)).toBeUndefined();
		// shop.orders goes to orders_v2, not to a table named orders
		expect(sourceOf({ database: "shop2", table: "orders" }, back, rules)).toBeUndefined();
		expect(sourceOf({ database: "shop2", table: "orders_v2" }, back, rules)).toEqual({
			database: "shop",
			table: "orders",
		});
		// no rule sends anything to these
		expect(sourceOf({ database: "logs", table: "x" }, back, rules)).toBeUndefined();
		expect(sourceOf({ database: "shop", table: "x" }, back, rules)).toBeUndefined();
	});

	it("turns a reverse mapping back into the forward one, with the forward row filter", () => {
		const [reverse] = invertMappings([orders], rules).mappings;
		expect(forwardOf(reverse as TableMapping, rules)).toEqual(orders);
		const fresh: TableMapping = {
			source: { database: "shop2", table: "fresh" },
			destination: { database: "shop", table: "fresh" },
			columns: [{ source: "id", destination: "id" }],
		};
		expect(forwardOf(fresh, rules)).toEqual({
			source: { database: "shop", table: "fresh" },
			destination: { database: "shop2", table: "fresh" },
			columns: [{ source: "id", destination: "id" }],
		});
	});
});
