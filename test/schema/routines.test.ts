import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Connection, connect } from "../../shared/db/connect.ts";
import { quoteId, quoteTable } from "../../shared/db/sql.ts";
import type { ObjectRules } from "../../shared/model/rules.ts";
import { applySchemaPhase } from "../../shared/schema/apply.ts";
import { planSchema, SCHEMA_PHASES, type SchemaPlan } from "../../shared/schema/plan.ts";
import { checkSchemaPrerequisites } from "../../shared/schema/precheck.ts";
import { describeServer, readSchema } from "../../shared/schema/read.ts";
import type { ReportEntry } from "../../shared/schema/report.ts";
import { resolveObjects, resolveViews } from "../../shared/schema/resolve.ts";
import { currentAccount, readRoutines } from "../../shared/schema/routines.ts";
import { destinationCredentials, freshDatabase, sourceCredentials, uniqueDatabase } from "../support/databases.ts";

/**
 * Stored procedures, functions and events migrated with the schema (MariaDB -> MariaDB): the same
 * bodies under the same sql_mode, definers replaced and reported, events disabled, renames of the
 * database applied to bodies, and every trigger reported with the definer it gets at switchover.
 */

const db = uniqueDatabase("routines");
const renamed = `${db}_moved`;
const HOSTILE = 'add `order` "x\'y" ✓';
// The function's body means something else without PIPES_AS_CONCAT (|| would be OR).
const FUNCTION_MODE = "PIPES_AS_CONCAT,STRICT_TRANS_TABLES";

const SOURCE_DDL = [
	"CREATE TABLE orders (id int PRIMARY KEY, customer varchar(20), total decimal(10,2))",
	"CREATE TABLE audit (id int AUTO_INCREMENT PRIMARY KEY, msg varchar(200))",
	// before the trigger: its definer account does not exist, so it cannot fire at the source
	"INSERT INTO orders VALUES (1, 'ann', 10), (2, 'bob', 20)",
	`SET SESSION sql_mode = '${FUNCTION_MODE}'`,
	`CREATE DEFINER=\`app_owner\`@\`%\` FUNCTION order_label(p_id int, p_customer varchar(20)) RETURNS varchar(64)
		DETERMINISTIC SQL SECURITY INVOKER COMMENT 'label ''quoted'''
		RETURN 'order ' || p_id || ' for ' || p_customer`,
	"SET SESSION sql_mode = DEFAULT",
	"CREATE VIEW order_labels AS SELECT id, order_label(id, customer) AS label FROM orders",
	`CREATE DEFINER=\`app_owner\`@\`%\` PROCEDURE ${quoteId(HOSTILE)}(IN p_id int)
		MODIFIES SQL DATA
	BEGIN
		-- orders of this database, named with it
		INSERT INTO ${quoteId(db)}.orders VALUES (p_id, 'proc', 1.5);
		INSERT INTO audit (msg) VALUES (CONCAT('added ', p_id, ' via ${db}'));
	END`,
	`CREATE DEFINER=\`app_owner\`@\`%\` EVENT purge_audit ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00'
		ON COMPLETION PRESERVE ENABLE COMMENT 'nightly' DO DELETE FROM audit WHERE id < 0`,
	`CREATE DEFINER=\`app_owner\`@\`%\` TRIGGER orders_audit AFTER INSERT ON orders FOR EACH ROW
		INSERT INTO audit (msg) VALUES (CONCAT('order ', NEW.id))`,
];

let source: Connection;
let destination: Connection;
let account: string;

beforeAll(async () => {
	source = await freshDatabase(sourceCredentials, db);
	for (const sql of SOURCE_DDL) await source.query(sql);
	destination = await connect(destinationCredentials);
	await destination.query(`DROP DATABASE IF EXISTS ${quoteId(db)}`);
	await destination.query(`DROP DATABASE IF EXISTS ${quoteId(renamed)}`);
	account = await currentAccount(destination);
});

afterAll(async () => {
	await source?.query(`DROP DATABASE IF EXISTS ${quoteId(db)}`);
	for (const name of [db, renamed]) await destination?.query(`DROP DATABASE IF EXISTS ${quoteId(name)}`);
	await source?.end();
	await destination?.end();
});

async function rows(conn: Connection, sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
	const [result] = await conn.query(sql, params);
	return result as Record<string, unknown>[];
}

async function plan(rules: ObjectRules, options: { engine?: "mariadb" | "tidb"; switchover?: boolean } = {}) {
	const mappings = await resolveObjects(source, rules);
	const views = await resolveViews(source, rules);
	const snapshot = await readSchema(
		source,
		mappings.map((m) => m.source),
		views.map((v) => v.source),
	);
	return planSchema(snapshot, mappings, options.engine ?? "mariadb", {
		views,
		destinationVersion: (await describeServer(destination)).version,
		routines: await readRoutines(
			source,
			rules,
			mappings.map((m) => m.source),
		),
		destinationAccount: account,
		switchover: options.switchover ?? true,
		reverse: true,
	});
}

async function applyAll(p: SchemaPlan): Promise<string[]> {
	const created: string[] = [];
	for (const phase of SCHEMA_PHASES) created.push(...(await applySchemaPhase(destination, p, phase)).created);
	return created;
}

/** SHOW CREATE without what Ferry changes on purpose: the definer, SQL SECURITY INVOKER, the event's status. */
async function showCreate(conn: Connection, type: string, database: string, name: string): Promise<string> {
	const [row] = await rows(conn, `SHOW CREATE ${type} ${quoteId(database)}.${quoteId(name)}`);
	const text = String(row?.[`Create ${type.charAt(0)}${type.slice(1).toLowerCase()}`]);
	return text
		.replace(/^CREATE DEFINER=`[^`]*`@`[^`]*` /, "CREATE ")
		.replace("    SQL SECURITY INVOKER\n", "")
		.replace(/ PRESERVE (ENABLE|DISABLE) /, " PRESERVE ");
}

const entry = (p: SchemaPlan, kind: ReportEntry["kind"]) => p.report.filter((e) => e.kind === kind);

describe("routines, events and triggers MariaDB -> MariaDB", () => {
	let p: SchemaPlan;

	it("plans functions, procedures and events with definers and status reported, and triggers for switchover", async () => {
		p = await plan([{ database: db, table: "*", exclude: false }]);
		expect(p.routines.map((r) => [r.kind, r.destination.table])).toEqual([
			["function", "order_label"],
			["procedure", HOSTILE],
		]);
		expect(p.events.map((e) => e.destination.table)).toEqual(["purge_audit"]);
		const [fn] = entry(p, "function");
		expect(fn).toMatchObject({ status: "changed", object: `${db}.order_label` });
		expect(fn?.changes.map((c) => c.what)).toEqual([`DEFINER \`app_owner\`@\`%\` -> ${account}`]);
		const [proc] = entry(p, "procedure");
		expect(proc?.changes.map((c) => c.what)).toEqual(["DEFINER `app_owner`@`%` dropped, SQL SECURITY INVOKER"]);
		// the procedure's own database is named in a string: nothing to review, the database keeps its name
		expect(proc?.warnings).toEqual([]);
		const [event] = entry(p, "event");
		expect(event?.changes.map((c) => c.what)).toEqual([
			`DEFINER \`app_owner\`@\`%\` -> ${account}`,
			"created DISABLED (ENABLED at the source); enabled at switchover, when it is also disabled at the source",
		]);
		expect(entry(p, "trigger")).toEqual([
			expect.objectContaining({
				object: `${db}.orders trigger orders_audit`,
				status: "changed",
				changes: [
					expect.objectContaining({ what: "created at switchover" }),
					expect.objectContaining({ what: `DEFINER \`app_owner\`@\`%\` -> ${account} at switchover` }),
				],
			}),
		]);
		// the event scheduler of the shared test server is off
		const findings = await checkSchemaPrerequisites(destination, await readSchema(source, []), p);
		expect(findings.map((f) => f.object)).toEqual(["destination event_scheduler"]);
	});

	it("creates them with the same bodies and sql_mode, the event disabled, and keeps what exists on a second run", async () => {
		const created = await applyAll(p);
		expect(created).toEqual(
			expect.arrayContaining([
				`function ${db}.order_label`,
				`procedure ${db}.${HOSTILE}`,
				`view ${db}.order_labels`,
				`event ${db}.purge_audit`,
			]),
		);
		for (const [type, name] of [
			["FUNCTION", "order_label"],
			["PROCEDURE", HOSTILE],
			["EVENT", "purge_audit"],
		] as const) {
			expect(await showCreate(destination, type, db, name), name).toBe(await showCreate(source, type, db, name));
		}
		const routineSql =
			"SELECT ROUTINE_NAME AS name, SQL_MODE AS mode, SECURITY_TYPE AS security, DEFINER AS definer, COLLATION_CONNECTION AS co FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? ORDER BY ROUTINE_NAME";
		const before = await rows(source, routineSql, [db]);
		expect(await rows(destination, routineSql, [db])).toEqual(
			before.map((r) => ({ ...r, security: "INVOKER", definer: "ferry@127.0.0.1" })),
		);
		expect(before.find((r) => r.name === "order_label")?.mode).toBe(FUNCTION_MODE);
		const eventSql =
			"SELECT STATUS AS status, DEFINER AS definer, SQL_MODE AS mode, TIME_ZONE AS tz, STARTS AS starts FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?";
		const [sourceEvent] = await rows(source, eventSql, [db]);
		expect(await rows(destination, eventSql, [db])).toEqual([
			{ ...sourceEvent, status: "DISABLED", definer: "ferry@127.0.0.1" },
		]);
		// no trigger before switchover
		expect(await rows(destination, "SELECT * FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?", [db])).toEqual(
			[],
		);
		const again = await applyAll(p);
		expect(again).toEqual([`view ${db}.order_labels`]);
	});

	it("the function computes the same at both ends through the view, and the hostile procedure runs", async () => {
		const view = `SELECT id, label FROM ${quoteTable({ database: db, table: "order_labels" })} ORDER BY id`;
		await destination.query(
			`INSERT INTO ${quoteTable({ database: db, table: "orders" })} VALUES (1, 'ann', 10), (2, 'bob', 20)`,
		);
		const expected = await rows(source, view);
		expect(expected).toEqual([
			{ id: 1, label: "order 1 for ann" },
			{ id: 2, label: "order 2 for bob" },
		]);
		expect(await rows(destination, view)).toEqual(expected);
		await destination.query(`CALL ${quoteId(db)}.${quoteId(HOSTILE)}(7)`);
		expect(await rows(destination, `SELECT msg FROM ${quoteTable({ database: db, table: "audit" })}`)).toEqual([
			{ msg: `added 7 via ${db}` },
		]);
	});

	it("applies a database rename to bodies and to views' function calls, and says what to review", async () => {
		const moved = await plan([{ database: db, table: "*", exclude: false, renameDatabase: renamed }]);
		const [proc] = entry(moved, "procedure");
		expect(proc?.changes.map((c) => c.what)).toContain(`renamed in the body: ${db}.orders -> ${renamed}.orders`);
		expect(proc?.warnings).toEqual([expect.stringMatching(/a string or comment in it mentions .* which moves to/)]);
		await applyAll(moved);
		const [row] = await rows(destination, `SHOW CREATE PROCEDURE ${quoteId(renamed)}.${quoteId(HOSTILE)}`);
		expect(String(row?.["Create Procedure"])).toContain(`INSERT INTO \`${renamed}\`.\`orders\` VALUES`);
		const [view] = await rows(
			destination,
			"SELECT VIEW_DEFINITION AS d FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'order_labels'",
			[renamed],
		);
		expect(String(view?.d)).toContain(`\`${renamed}\`.\`order_label\`(`);
		await destination.query(`INSERT INTO ${quoteTable({ database: renamed, table: "orders" })} VALUES (3, 'cy', 1)`);
		expect(
			await rows(destination, `SELECT label FROM ${quoteTable({ database: renamed, table: "order_labels" })}`),
		).toEqual([{ label: "order 3 for cy" }]);
	});

	it("reports each routine as not migrated under table-level rules, and on TiDB; triggers without switchover", async () => {
		const tableRules = await plan([{ database: db, table: "orders", exclude: false }], { switchover: false });
		expect(tableRules.routines).toEqual([]);
		expect(tableRules.events).toEqual([]);
		const refused = tableRules.report.filter((e) => ["function", "procedure", "event"].includes(e.kind));
		expect(refused.map((e) => [e.kind, e.status])).toEqual([
			["function", "refused"],
			["procedure", "refused"],
			["event", "refused"],
		]);
		expect(refused[0]?.reason).toMatch(/rules select its tables one by one.*whole database/);
		expect(entry(tableRules, "trigger")[0]).toMatchObject({
			status: "refused",
			reason: expect.stringMatching(/only at switchover, and this project has none/),
		});

		const tidb = await plan([{ database: db, table: "*", exclude: false }], { engine: "tidb" });
		expect(tidb.routines).toEqual([]);
		expect(
			tidb.report
				.filter((e) => e.kind !== "table" && e.kind !== "index" && e.kind !== "database")
				.map((e) => [e.kind, e.reason]),
		).toEqual([
			["view", `it calls function ${db}.order_label, which is not migrated`],
			["function", "TiDB has no stored procedures or functions"],
			["procedure", "TiDB has no stored procedures or functions"],
			["event", "TiDB has no events"],
			["trigger", "TiDB has no triggers"],
		]);
	});
});
