import { describe, expect, it } from "vitest";
import type { ProjectStatus } from "../../shared/control/status.ts";
import { type Connection, connect } from "../../shared/db/connect.ts";
import { quoteId, quoteTable } from "../../shared/db/sql.ts";
import type { Credentials } from "../../shared/model/datasource.ts";
import { destinationCredentials, execute, sourceCredentials, uniqueDatabase } from "../support/databases.ts";
import { useTestStack, waitFor } from "../support/stack.ts";

/**
 * A schema + full + incremental project with switchover and reverse, through the local stack:
 * the source's procedure, function (called by a view, written under a non-default sql_mode),
 * event and trigger, with a definer that does not exist at the destination and a hostile name,
 * arrive with the same bodies; the event is disabled until switchover, when the destination's is
 * enabled and the source's disabled (its definer kept); the schema report says what happened to
 * each, and which definer the trigger gets at switchover.
 */

const db = uniqueDatabase("rtne2e");
const HOSTILE = 'add `order` "x\'y"';
const FUNCTION_MODE = "PIPES_AS_CONCAT,STRICT_TRANS_TABLES";

const SOURCE_DDL = [
	`CREATE DATABASE ${quoteId(db)}`,
	`USE ${quoteId(db)}`,
	"CREATE TABLE orders (id int PRIMARY KEY, customer varchar(20))",
	"CREATE TABLE notes (id int PRIMARY KEY, note varchar(100))",
	"CREATE TABLE audit (id int AUTO_INCREMENT PRIMARY KEY, msg varchar(200))",
	"INSERT INTO orders VALUES (1, 'ann'), (2, 'bob')",
	`SET SESSION sql_mode = '${FUNCTION_MODE}'`,
	`CREATE DEFINER=\`app_owner\`@\`%\` FUNCTION order_label(p_id int, p_customer varchar(20)) RETURNS varchar(64)
		DETERMINISTIC SQL SECURITY INVOKER RETURN 'order ' || p_id || ' for ' || p_customer`,
	"SET SESSION sql_mode = DEFAULT",
	"CREATE VIEW order_labels AS SELECT id, order_label(id, customer) AS label FROM orders",
	`CREATE DEFINER=\`app_owner\`@\`%\` PROCEDURE ${quoteId(HOSTILE)}(IN p_id int) MODIFIES SQL DATA
		INSERT INTO ${quoteId(db)}.audit (msg) VALUES (CONCAT('added ', p_id))`,
	`CREATE DEFINER=\`app_owner\`@\`%\` EVENT purge_audit ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00'
		ON COMPLETION PRESERVE ENABLE DO DELETE FROM audit WHERE id < 0`,
	// on a table nobody writes here: its definer does not exist, so it could not fire
	`CREATE DEFINER=\`app_owner\`@\`%\` TRIGGER notes_audit AFTER INSERT ON notes FOR EACH ROW
		INSERT INTO audit (msg) VALUES (CONCAT('note ', NEW.id))`,
];

async function query(creds: Credentials, sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
	const c: Connection = await connect(creds);
	try {
		const [rows] = await c.query(sql, params);
		return rows as Record<string, unknown>[];
	} finally {
		await c.end();
	}
}

/** SHOW CREATE without what Ferry changes on purpose: the definer, SQL SECURITY INVOKER, the event's status. */
async function showCreate(creds: Credentials, type: string, name: string): Promise<string> {
	const [row] = await query(creds, `SHOW CREATE ${type} ${quoteId(db)}.${quoteId(name)}`);
	return String(row?.[`Create ${type.charAt(0)}${type.slice(1).toLowerCase()}`])
		.replace(/^CREATE DEFINER=`[^`]*`@`[^`]*` /, "CREATE ")
		.replace("    SQL SECURITY INVOKER\n", "")
		.replace(/ PRESERVE (ENABLE|DISABLE) /, " PRESERVE ");
}

const eventSql = "SELECT STATUS AS status, DEFINER AS definer FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?";
const stepState = (s: ProjectStatus, name: string) => s.steps.find((x) => x.name === name)?.state;

describe("stored routines, events and triggers through a project (local stack, real MariaDB)", () => {
	const t = useTestStack({ workers: 1, seed: () => execute(sourceCredentials, ...SOURCE_DDL), databases: [db] });

	async function statusWhen(id: string, what: string, ready: (s: ProjectStatus) => boolean): Promise<ProjectStatus> {
		return waitFor(what, async () => {
			const s = await t.status(id);
			if (s.ticket) throw new Error(`ticket while waiting for ${what}: ${s.ticket.step}: ${s.ticket.message}`);
			return ready(s) ? s : undefined;
		});
	}

	it("migrates them with the schema, reports each, and hands events and triggers over at switchover", async () => {
		const id = await t.startProject({
			name: "routines",
			types: ["schema", "full", "incremental", "switchover", "reverse"],
			objects: [{ database: db }],
		});
		// writes after the copy carry replay into exact mode
		let n = 100;
		await waitFor("replay to catch up", async () => {
			const s = await t.status(id);
			if (s.ticket) throw new Error(`ticket: ${s.ticket.step}: ${s.ticket.message}`);
			if (stepState(s, "finalize") !== "done") return undefined;
			await query(sourceCredentials, `INSERT INTO ${quoteTable({ database: db, table: "orders" })} VALUES (?, 'cy')`, [
				n++,
			]);
			return stepState(s, "incremental") === "done" ? s : undefined;
		});

		for (const [type, name] of [
			["FUNCTION", "order_label"],
			["PROCEDURE", HOSTILE],
			["EVENT", "purge_audit"],
		] as const) {
			expect(await showCreate(destinationCredentials, type, name), name).toBe(
				await showCreate(sourceCredentials, type, name),
			);
		}
		const modes =
			"SELECT ROUTINE_NAME AS name, SQL_MODE AS mode FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?";
		expect(await query(destinationCredentials, modes, [db])).toEqual(await query(sourceCredentials, modes, [db]));
		const labels = `SELECT id, label FROM ${quoteTable({ database: db, table: "order_labels" })} WHERE id < 100 ORDER BY id`;
		expect(await query(destinationCredentials, labels)).toEqual([
			{ id: 1, label: "order 1 for ann" },
			{ id: 2, label: "order 2 for bob" },
		]);
		expect(await query(destinationCredentials, eventSql, [db])).toEqual([
			{ status: "DISABLED", definer: "ferry@127.0.0.1" },
		]);
		const triggers =
			"SELECT TRIGGER_NAME AS name, DEFINER AS definer FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?";
		expect(await query(destinationCredentials, triggers, [db])).toEqual([]);

		const report = await t.api.get<{ kind: string; object: string; status: string; changes: { what: string }[] }[]>(
			`/projects/${id}/schema-report`,
		);
		const of = (kind: string) =>
			report.filter((e) => e.kind === kind).map((e) => [e.object, e.status, e.changes.map((c) => c.what)]);
		expect(of("function")).toEqual([
			[`${db}.order_label`, "changed", ["DEFINER `app_owner`@`%` -> `ferry`@`127.0.0.1`"]],
		]);
		expect(of("procedure")).toEqual([
			[`${db}.${HOSTILE}`, "changed", ["DEFINER `app_owner`@`%` dropped, SQL SECURITY INVOKER"]],
		]);
		expect(of("event")).toEqual([
			[
				`${db}.purge_audit`,
				"changed",
				[
					"DEFINER `app_owner`@`%` -> `ferry`@`127.0.0.1`",
					"created DISABLED (ENABLED at the source); enabled at switchover, when it is also disabled at the source",
				],
			],
		]);
		expect(of("trigger")).toEqual([
			[
				`${db}.notes trigger notes_audit`,
				"changed",
				["created at switchover", "DEFINER `app_owner`@`%` -> `ferry`@`127.0.0.1` at switchover"],
			],
		]);

		await t.api.post(`/projects/${id}/switchover`, { maxLatencySeconds: 30, waiveVerification: true });
		await statusWhen(id, "the switchover to wait for writes to stop", (s) =>
			/stop writes/.test(s.switchover?.blocked ?? ""),
		);
		await t.api.post(`/projects/${id}/switchover/writes-stopped`);
		await statusWhen(id, "the switch at the source", (s) => stepState(s, "switch-source") === "done");

		expect(await query(destinationCredentials, eventSql, [db])).toEqual([
			{ status: "ENABLED", definer: "ferry@127.0.0.1" },
		]);
		expect(await query(sourceCredentials, eventSql, [db])).toEqual([{ status: "DISABLED", definer: "app_owner@%" }]);
		expect(await query(destinationCredentials, triggers, [db])).toEqual([
			{ name: "notes_audit", definer: "ferry@127.0.0.1" },
		]);
		// the procedure runs at the destination, with its caller's rights
		await query(destinationCredentials, `CALL ${quoteId(db)}.${quoteId(HOSTILE)}(7)`);
		expect(
			await query(destinationCredentials, `SELECT msg FROM ${quoteTable({ database: db, table: "audit" })}`),
		).toEqual([{ msg: "added 7" }]);
	}, 300_000);
});
