import { describe, expect, it } from "vitest";
import type { Engine } from "../../shared/model/datasource.ts";
import type { TableName } from "../../shared/model/rules.ts";
import { rewriteBody } from "../../shared/schema/body-rewrite.ts";
import { planRoutines } from "../../shared/schema/routine-plan.ts";
import type { RoutineSchema, RoutineSnapshot } from "../../shared/schema/routines.ts";
import { routineDatabases } from "../../shared/schema/routines.ts";
import { tableKey } from "../../shared/schema/snapshot.ts";

/** Routine planning and body rewriting from hand-made source definitions (no server). */

const objects = (pairs: [TableName, TableName][]) => new Map(pairs.map(([s, d]) => [tableKey(s), d]));
const moved = objects([
	[
		{ database: "shop", table: "orders" },
		{ database: "shop2", table: "orders" },
	],
	[
		{ database: "shop", table: "items" },
		{ database: "shop2", table: "line_items" },
	],
]);

describe("rewriteBody", () => {
	it("rewrites database-qualified names of migrated objects, quoted or not, and nothing else", () => {
		const body = `BEGIN
  INSERT INTO shop.orders VALUES (1.5, @shop.x);
  SELECT \`shop\`.\`orders\`.id, shop.items.qty FROM shop.orders JOIN \`shop\`.items;
END`;
		const out = rewriteBody(body, "", "shop", { objects: moved });
		expect(out.sql).toBe(`BEGIN
  INSERT INTO \`shop2\`.\`orders\` VALUES (1.5, @shop.x);
  SELECT \`shop2\`.\`orders\`.id, \`shop2\`.\`line_items\`.qty FROM \`shop2\`.\`orders\` JOIN \`shop2\`.\`line_items\`;
END`);
		expect(out.rewritten).toEqual(["shop.orders -> shop2.orders", "shop.items -> shop2.line_items"]);
		expect(out.warnings).toEqual([]);
	});

	it("says what it cannot rewrite: strings, comments, objects not migrated, unqualified renamed tables, reshaped columns", () => {
		const body = `BEGIN
  -- copies shop data
  SET @q = 'DELETE FROM shop.orders';
  DELETE FROM shop.archive;
  UPDATE items SET qty = 0;
END`;
		const out = rewriteBody(body, "", "shop", {
			objects: moved,
			reshaped: new Set([tableKey({ database: "shop", table: "items" })]),
		});
		expect(out.sql).toBe(body);
		expect(out.warnings).toEqual([
			"it names shop.archive, which is not migrated, so Ferry leaves that name as it is although shop moves to shop2: check it",
			"it uses shop.items, whose columns the rules rename or leave out: check the columns it reads and writes",
			"it names items, which is migrated as line_items: Ferry does not rewrite unqualified names (they may be variables or columns), so rename it in the body",
			"a string or comment in it mentions shop, which moves to shop2: Ferry does not rewrite text inside strings (dynamic SQL, for one), so check it",
		]);
	});

	it('reads "names" as identifiers under ANSI_QUOTES, and leaves bodies with backslashes under NO_BACKSLASH_ESCAPES', () => {
		expect(rewriteBody('SELECT * FROM "shop"."orders"', "ANSI_QUOTES", "shop", { objects: moved }).sql).toBe(
			"SELECT * FROM `shop2`.`orders`",
		);
		const body = "INSERT INTO shop.orders VALUES ('a\\'), (shop.orders.id)";
		const out = rewriteBody(body, "NO_BACKSLASH_ESCAPES", "shop", { objects: moved });
		expect(out.sql).toBe(body);
		// (the reader takes the rest for a string, so that warning comes too)
		expect(out.warnings).toContain(
			"it names shop.orders, which is migrated as shop2.orders: Ferry does not rewrite bodies with backslashes under NO_BACKSLASH_ESCAPES, so rename it in the body",
		);
	});
});

function routine(overrides: Partial<RoutineSchema>): RoutineSchema {
	return {
		kind: "function",
		database: "shop",
		name: "f",
		definer: "`app`@`%`",
		create: "CREATE DEFINER=`app`@`%` FUNCTION `f`() RETURNS int(11)\nRETURN 1",
		sqlMode: "STRICT_TRANS_TABLES",
		characterSetClient: "utf8mb4",
		collationConnection: "utf8mb4_general_ci",
		security: "DEFINER",
		...overrides,
	};
}

function plan(
	routines: RoutineSchema[],
	engine: Engine = "mariadb",
	version?: string,
	databases?: RoutineSnapshot["databases"],
) {
	return planRoutines({
		snapshot: { databases: databases ?? [{ source: "shop", destination: "shop" }], routines, triggers: [] },
		ctx: { source: "mariadb", destination: { engine, ...(version ? { version } : {}) } },
		renames: { objects: new Map() },
		tables: [],
		destinationAccount: "`ferry`@`%`",
		switchover: true,
		reverse: false,
	});
}

describe("planRoutines", () => {
	it("adds SQL SECURITY INVOKER where the characteristics start, also when there are none", () => {
		const p = plan([
			routine({}),
			routine({
				kind: "procedure",
				name: "p",
				create:
					"CREATE DEFINER=`app`@`%` PROCEDURE `p`(IN a enum('x)',\n'y'))\n    MODIFIES SQL DATA\n    COMMENT 'c'\nBEGIN SELECT 1; END",
			}),
		]);
		expect(p.routines.map((r) => r.sql)).toEqual([
			"CREATE FUNCTION `shop`.`f`() RETURNS int(11)\n    SQL SECURITY INVOKER\nRETURN 1",
			"CREATE PROCEDURE `shop`.`p`(IN a enum('x)',\n'y'))\n    SQL SECURITY INVOKER\n    MODIFIES SQL DATA\n    COMMENT 'c'\nBEGIN SELECT 1; END",
		]);
	});

	it("creates events DISABLED whatever their status, and says what the switchover does", () => {
		const p = plan([
			routine({
				kind: "event",
				name: "e",
				security: undefined,
				status: "SLAVESIDE_DISABLED",
				timeZone: "SYSTEM",
				create:
					"CREATE DEFINER=`app`@`%` EVENT `e` ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' ON COMPLETION NOT PRESERVE DISABLE ON SLAVE COMMENT 'x' DO DELETE FROM t",
			}),
		]);
		expect(p.events.map((e) => [e.sql, e.timeZone])).toEqual([
			[
				"CREATE EVENT `shop`.`e` ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' ON COMPLETION NOT PRESERVE DISABLE COMMENT 'x' DO DELETE FROM t",
				"SYSTEM",
			],
		]);
		expect(p.report[0]?.changes.map((c) => c.what)).toEqual([
			"DEFINER `app`@`%` -> `ferry`@`%`",
			"created DISABLED, as it is at the source (SLAVESIDE_DISABLED)",
		]);
		expect(p.report[0]?.warnings).toEqual([expect.stringMatching(/system time zone/)]);
	});

	it("refuses what it cannot create, each with why", () => {
		const p = plan([
			routine({ name: "unreadable", create: null }),
			routine({ name: "other", create: "CREATE DEFINER=`app`@`%` FUNCTION `f`() RETURNS int RETURN 1" }),
			routine({ kind: "package", name: "pkg", create: null }),
			routine({ database: "crm", name: "f" }),
		]);
		expect(p.report.map((e) => [e.kind, e.object, e.reason])).toEqual([
			["function", "shop.unreadable", expect.stringMatching(/may not read its body: grant it SELECT on mysql.proc/)],
			["function", "shop.other", expect.stringMatching(/cannot read its SHOW CREATE statement/)],
			["function", "crm.f", "not migrated: no rule includes its database"],
			["package", "shop.pkg", expect.stringMatching(/MariaDB packages/)],
		]);
		expect(p.functions.get(tableKey({ database: "shop", table: "other" }))).toBeNull();
	});

	it("refuses a second routine going to the same name, and follows the destination's dialect", () => {
		const twoIntoOne = plan([routine({}), routine({ database: "crm" })], "mariadb", undefined, [
			{ source: "shop", destination: "all" },
			{ source: "crm", destination: "all" },
		]);
		expect(twoIntoOne.routines.map((r) => r.source.database)).toEqual(["shop"]);
		expect(twoIntoOne.report[1]?.reason).toBe("shop.f goes to all.f too: give one of their databases another name");

		const aggregate = routine({
			name: "agg",
			create: "CREATE DEFINER=`app`@`%` AGGREGATE FUNCTION `agg`(x int) RETURNS int(11)\nBEGIN RETURN 1; END",
		});
		expect(plan([aggregate]).routines[0]?.sql).toMatch(/^CREATE AGGREGATE FUNCTION `shop`.`agg`\(x int\)/);
		const mysql = plan(
			[
				aggregate,
				routine({ sqlMode: "ORACLE" }),
				routine({ name: "g", create: routine({}).create?.replace("`f`", "`g`") ?? "" }),
			],
			"mysql",
		);
		expect(mysql.report.map((e) => e.reason ?? e.warnings)).toEqual([
			"stored aggregate functions (CREATE AGGREGATE FUNCTION) are MariaDB's own",
			"it is written in MariaDB's Oracle mode (sql_mode ORACLE)",
			[expect.stringMatching(/created as written: syntax or functions the destination lacks/)],
		]);

		const event = routine({
			kind: "event",
			name: "e",
			status: "ENABLED",
			create: "CREATE EVENT `e` ON SCHEDULE EVERY 1 DAY ON COMPLETION PRESERVE ENABLE DO SELECT 1",
		});
		expect(plan([event], "oceanbase-mysql", "4.2.1").report[0]?.reason).toBe(
			"OceanBase (MySQL mode) has events from V4.2.5 on",
		);
		expect(plan([event], "oceanbase-mysql").report[0]?.warnings[0]).toMatch(
			/^if OceanBase \(MySQL mode\) is older than 4.2.5/,
		);
	});
});

describe("routineDatabases", () => {
	it("follows the last whole-database rule, and says why for databases whose tables are chosen one by one", () => {
		const rules = [
			{ database: "*", table: "*", exclude: false },
			{ database: "tmp", table: "*", exclude: true },
			{ database: "shop", table: "*", exclude: false, renameDatabase: "shop2" },
			{ database: "shop", table: "orders", exclude: true },
		];
		expect(routineDatabases(rules, ["shop", "tmp", "crm"], new Set(["tmp"]))).toEqual([
			{ source: "shop", destination: "shop2" },
			{ source: "tmp", why: "rule #2 excludes the whole database" },
			{ source: "crm", destination: "crm" },
		]);
		expect(
			routineDatabases([{ database: "shop", table: "orders", exclude: false }], ["shop", "crm"], new Set(["shop"])),
		).toEqual([
			{
				source: "shop",
				why: 'the rules select its tables one by one, and routines and events follow only a rule for the whole database (table "*")',
			},
		]);
	});
});
