import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Connection, connect } from "../../shared/db/connect.ts";
import { quoteId, quoteTable } from "../../shared/db/sql.ts";
import type { ObjectRules, TableRule } from "../../shared/model/rules.ts";
import { applySchemaPhase } from "../../shared/schema/apply.ts";
import { SchemaApplyError, SchemaRuleError } from "../../shared/schema/errors.ts";
import { planSchema, SCHEMA_PHASES, type SchemaPlan } from "../../shared/schema/plan.ts";
import { checkSchemaPrerequisites } from "../../shared/schema/precheck.ts";
import { readSchema } from "../../shared/schema/read.ts";
import { resolveObjects, resolveViews } from "../../shared/schema/resolve.ts";
import { insertableColumns } from "../../shared/schema/snapshot.ts";
import { destinationCredentials, freshDatabase, sourceCredentials, uniqueDatabase } from "../support/databases.ts";

/** Object rules end to end: renames, column selection and row filters, and every way they can be wrong. */

const src = uniqueDatabase("schema");
const renamed = uniqueDatabase("schema");
const occupied = uniqueDatabase("schema");

let source: Connection;
let destination: Connection;

const rule = (r: Partial<TableRule> & { database: string }): TableRule => ({
	table: "*",
	exclude: false,
	...r,
});

beforeAll(async () => {
	source = await freshDatabase(sourceCredentials, src);
	for (const sql of [
		"CREATE TABLE customers (id int PRIMARY KEY, name varchar(50) NOT NULL, email varchar(100), KEY ix_email (email))",
		`CREATE TABLE orders (
			id int NOT NULL AUTO_INCREMENT PRIMARY KEY,
			customer_id int NOT NULL,
			amount decimal(10,2) NOT NULL,
			note varchar(100),
			secret varchar(100),
			amount_x2 decimal(12,2) AS (amount * 2) VIRTUAL,
			KEY ix_customer (customer_id),
			KEY ix_note (note),
			KEY ix_secret (secret),
			CONSTRAINT fk_customer FOREIGN KEY (customer_id) REFERENCES customers (id),
			CONSTRAINT chk_amount CHECK (amount >= 0),
			CONSTRAINT chk_secret CHECK (secret <> '')
		)`,
		"CREATE TABLE tmp_scratch (id int PRIMARY KEY)",
		"CREATE VIEW big_orders AS SELECT o.id, o.amount, c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.amount > 100",
		"CREATE VIEW secret_view AS SELECT secret FROM orders",
		"INSERT INTO customers VALUES (1, 'Ann', 'ann@example.com')",
		"INSERT INTO orders (customer_id, amount, note, secret) VALUES (1, 150, 'n', 's')",
	]) {
		await source.query(sql);
	}
	destination = await connect(destinationCredentials);
	for (const db of [renamed, occupied]) await destination.query(`DROP DATABASE IF EXISTS ${quoteId(db)}`);
});

afterAll(async () => {
	await source?.query(`DROP DATABASE IF EXISTS ${quoteId(src)}`);
	for (const db of [renamed, occupied]) await destination?.query(`DROP DATABASE IF EXISTS ${quoteId(db)}`);
	await source?.end();
	await destination?.end();
});

async function rows(conn: Connection, sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
	const [result] = await conn.query(sql, params);
	return result as Record<string, unknown>[];
}

async function planFor(rules: ObjectRules): Promise<SchemaPlan> {
	const mappings = await resolveObjects(source, rules);
	const views = await resolveViews(source, rules);
	const snapshot = await readSchema(
		source,
		mappings.map((m) => m.source),
		views.map((v) => v.source),
	);
	return planSchema(snapshot, mappings, "mariadb", { views });
}

describe("renames, column selection and row filters", () => {
	const rules: ObjectRules = [
		rule({ database: src, renameDatabase: renamed }),
		rule({ database: src, table: "tmp_*", exclude: true }),
		rule({
			database: src,
			table: "orders",
			renameDatabase: renamed,
			renameTable: "orders_v2",
			columns: ["id", "customer_id", "AMOUNT", "note", "amount_x2"],
			renameColumns: { amount: "total", note: "remark" },
			where: "amount > 0",
		}),
	];
	let plan: SchemaPlan;

	it("resolves destinations, columns and filters by the last matching rule", async () => {
		const mappings = await resolveObjects(source, rules);
		expect(mappings).toEqual([
			{
				source: { database: src, table: "customers" },
				destination: { database: renamed, table: "customers" },
				columns: ["id", "name", "email"].map((c) => ({
					source: c,
					destination: c,
				})),
			},
			{
				source: { database: src, table: "orders" },
				destination: { database: renamed, table: "orders_v2" },
				columns: [
					{ source: "id", destination: "id" },
					{ source: "customer_id", destination: "customer_id" },
					{ source: "amount", destination: "total" },
					{ source: "note", destination: "remark" },
					{ source: "amount_x2", destination: "amount_x2" },
				],
				where: "amount > 0",
			},
		]);
		const snapshot = await readSchema(
			source,
			mappings.map((m) => m.source),
		);
		const orders = snapshot.tables.find((t) => t.name.table === "orders");
		// The copy writes no generated column: the destination computes it.
		expect(
			insertableColumns(mappings[1] as (typeof mappings)[number], orders as NonNullable<typeof orders>).map(
				(c) => c.source,
			),
		).toEqual(["id", "customer_id", "amount", "note"]);
	});

	it("reports what the selection leaves behind", async () => {
		plan = await planFor(rules);
		const refused = plan.report.filter((e) => e.status === "refused").map((e) => [e.source, e.reason]);
		expect(refused).toEqual([
			[`${src}.orders index ix_secret`, "it covers column(s) secret, which the object rules leave out"],
			[`${src}.orders check chk_secret`, "it reads column(s) secret, which the object rules leave out"],
			[`${src}.secret_view`, `it reads column secret of ${src}.orders, which the object rules leave out`],
		]);
	});

	it("creates the renamed objects, checked by query at the destination", async () => {
		for (const phase of SCHEMA_PHASES) await applySchemaPhase(destination, plan, phase);
		const columns = await rows(
			destination,
			"SELECT COLUMN_NAME AS name, GENERATION_EXPRESSION AS gen FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'orders_v2' ORDER BY ORDINAL_POSITION",
			[renamed],
		);
		expect(columns).toEqual([
			{ name: "id", gen: null },
			{ name: "customer_id", gen: null },
			{ name: "total", gen: null },
			{ name: "remark", gen: null },
			{ name: "amount_x2", gen: "`total` * 2" },
		]);
		const indexes = await rows(
			destination,
			"SELECT INDEX_NAME AS name, COLUMN_NAME AS col FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'orders_v2' ORDER BY INDEX_NAME",
			[renamed],
		);
		expect(indexes).toEqual([
			{ name: "ix_customer", col: "customer_id" },
			{ name: "ix_note", col: "remark" },
			{ name: "PRIMARY", col: "id" },
		]);
		expect(
			await rows(
				destination,
				"SELECT CONSTRAINT_NAME AS name, CHECK_CLAUSE AS clause FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ?",
				[renamed],
			),
		).toEqual([{ name: "chk_amount", clause: "`total` >= 0" }]);
		expect(
			await rows(
				destination,
				"SELECT CONSTRAINT_NAME AS name, REFERENCED_TABLE_SCHEMA AS db, REFERENCED_TABLE_NAME AS t FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = ? AND REFERENCED_TABLE_NAME IS NOT NULL",
				[renamed],
			),
		).toEqual([{ name: "fk_customer", db: renamed, t: "customers" }]);
		const tables = await rows(
			destination,
			"SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME",
			[renamed],
		);
		expect(tables.map((r) => r.t)).toEqual(["big_orders", "customers", "orders_v2"]);

		const [view] = await rows(
			destination,
			"SELECT VIEW_DEFINITION AS def FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ?",
			[renamed],
		);
		expect(view?.def).toBe(
			`select \`o\`.\`id\` AS \`id\`,\`o\`.\`total\` AS \`amount\`,\`c\`.\`name\` AS \`name\` from (\`${renamed}\`.\`orders_v2\` \`o\` join \`${renamed}\`.\`customers\` \`c\` on(\`c\`.\`id\` = \`o\`.\`customer_id\`)) where \`o\`.\`total\` > 100`,
		);
		// The view runs against the renamed tables; AUTO_INCREMENT went on from the source's next value.
		await destination.query(
			`INSERT INTO ${quoteTable({ database: renamed, table: "customers" })} VALUES (1, 'Ann', NULL)`,
		);
		await destination.query(
			`INSERT INTO ${quoteTable({ database: renamed, table: "orders_v2" })} (customer_id, total) VALUES (1, 150)`,
		);
		expect(await rows(destination, `SELECT * FROM ${quoteTable({ database: renamed, table: "big_orders" })}`)).toEqual([
			{ id: 2, amount: "150.00", name: "Ann" },
		]);
	});

	it("stops re-running the tables phase once tables hold rows, naming the table", async () => {
		await expect(applySchemaPhase(destination, plan, "tables")).rejects.toThrow(
			`destination table ${renamed}.customers already has 1 row: empty it, exclude it or rename it`,
		);
		// The later phases are idempotent whatever the data.
		for (const phase of ["indexes", "foreignKeys", "views"] as const) {
			expect((await applySchemaPhase(destination, plan, phase)).created.filter((c) => !c.startsWith("view"))).toEqual(
				[],
			);
		}
	});
});

describe("rule errors name the rule or object and say what to do", () => {
	const expectRuleError = async (rules: ObjectRules, object: string, ...fragments: string[]) => {
		const error = await resolveObjects(source, rules).then(
			() => null,
			(e: unknown) => e,
		);
		expect(error).toBeInstanceOf(SchemaRuleError);
		expect((error as SchemaRuleError).object).toBe(object);
		for (const f of fragments) expect((error as Error).message).toContain(f);
	};

	it("a rule that matches nothing", async () => {
		await expectRuleError(
			[rule({ database: src }), rule({ database: src, table: "nope*", exclude: true })],
			`rule #2 (database "${src}", table "nope*", exclude)`,
			"matches no table or view",
		);
		await expectRuleError(
			[rule({ database: `${src}_missing` })],
			`rule #1 (database "${src}_missing", table "*")`,
			"matches no table",
		);
	});

	it("a column that does not exist, selected or renamed", async () => {
		await expectRuleError(
			[rule({ database: src, table: "orders", columns: ["id", "nope"] })],
			`${src}.orders`,
			'selects column "nope"',
		);
		await expectRuleError(
			[rule({ database: src, table: "orders", renameColumns: { nope: "x" } })],
			`${src}.orders`,
			'renames column "nope"',
		);
	});

	it("a selection that drops a primary-key column, or what a generated column needs", async () => {
		await expectRuleError(
			[
				rule({
					database: src,
					table: "orders",
					columns: ["customer_id", "amount"],
				}),
			],
			`${src}.orders`,
			'leaves out primary-key column "id"',
			"rows could not be matched during incremental replay and verification",
		);
		await expectRuleError(
			[rule({ database: src, table: "orders", columns: ["id", "amount_x2"] })],
			`${src}.orders`,
			'generated column "amount_x2" is computed from column "amount"',
		);
	});

	it("two source tables mapped to one destination table", async () => {
		await expectRuleError(
			[
				rule({ database: src, table: "customers", renameTable: "t" }),
				rule({ database: src, table: "tmp_scratch", renameTable: "t" }),
			],
			`${src}.t`,
			`both ${src}.customers and ${src}.tmp_scratch`,
		);
	});

	it("row filters that are not one boolean expression", async () => {
		const filter = (where: string) => [rule({ database: src, table: "orders", where })];
		await expectRuleError(filter("1; DROP TABLE x"), `${src}.orders`, 'at ";", a statement separator');
		await expectRuleError(filter("amount = ("), `${src}.orders`, 'a "(" is not closed');
		await expectRuleError(filter("1) OR (1"), `${src}.orders`, 'a ")" closes more than was opened');
		await expectRuleError(filter("amount > 0 -- rest"), `${src}.orders`, "comments are not allowed");
		await expectRuleError(filter("amount > 0 /* x */"), `${src}.orders`, "comments are not allowed");
		await expectRuleError(filter("note = 'unclosed"), `${src}.orders`, "a string is not closed");
		await expectRuleError(filter("nope > 1"), `${src}.orders`, 'at "nope", nope is not a column of the table');
		await expectRuleError(filter("amount = = 1"), `${src}.orders`, "You have an error in your SQL syntax");
		// Separators and comment markers inside strings are data, not syntax.
		const ok = await resolveObjects(source, filter("note <> 'a;b -- c /* d */ #e'"));
		expect(ok[0]?.where).toBe("note <> 'a;b -- c /* d */ #e'");
	});
});

describe("destination tables that already exist", () => {
	const rules: ObjectRules = [rule({ database: src, table: "customers", renameDatabase: occupied })];
	const customers = quoteTable({ database: occupied, table: "customers" });

	it("an empty table with the same columns is reused, with a warning", async () => {
		await destination.query(`CREATE DATABASE ${quoteId(occupied)}`);
		await destination.query(
			`CREATE TABLE ${customers} (id int PRIMARY KEY, name varchar(50) NOT NULL, email varchar(100))`,
		);
		const mappings = await resolveObjects(source, rules);
		const snapshot = await readSchema(
			source,
			mappings.map((m) => m.source),
		);
		const plan = planSchema(snapshot, mappings, "mariadb");
		const findings = await checkSchemaPrerequisites(destination, snapshot, plan);
		expect(findings).toEqual([
			expect.objectContaining({
				level: "warning",
				object: `${occupied}.customers`,
			}),
		]);
		const result = await applySchemaPhase(destination, plan, "tables");
		expect(result.skipped).toEqual([`table ${occupied}.customers (exists, empty, same columns)`]);
		expect((await applySchemaPhase(destination, plan, "indexes")).created).toEqual([
			`index ${occupied}.customers.ix_email`,
		]);
	});

	it("a table with rows is an error in the precheck and in apply", async () => {
		await destination.query(`INSERT INTO ${customers} VALUES (7, 'x', NULL), (8, 'y', NULL)`);
		const plan = await planFor(rules);
		const mappings = await resolveObjects(source, rules);
		const snapshot = await readSchema(
			source,
			mappings.map((m) => m.source),
		);
		const findings = await checkSchemaPrerequisites(destination, snapshot, plan);
		expect(findings).toEqual([
			{
				level: "error",
				object: `${occupied}.customers`,
				message: `destination table ${occupied}.customers already has 2 rows`,
				fix: "empty it, exclude it or rename it",
			},
		]);
		const error = await applySchemaPhase(destination, plan, "tables").catch((e: unknown) => e);
		expect(error).toBeInstanceOf(SchemaApplyError);
		expect((error as SchemaApplyError).object).toBe(`${occupied}.customers`);
	});

	it("an empty table with other columns is an error", async () => {
		await destination.query(`DROP TABLE ${customers}`);
		await destination.query(`CREATE TABLE ${customers} (id int PRIMARY KEY, name text)`);
		const plan = await planFor(rules);
		await expect(applySchemaPhase(destination, plan, "tables")).rejects.toThrow(
			/already exists with other columns \(id int\(11\), name text\): drop it/,
		);
	});
});
