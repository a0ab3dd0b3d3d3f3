import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Connection } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import { applyDdlEffects, type DdlDecision, translateDdl } from "../../shared/ddl/translate.ts";
import type { ObjectRules, TableMapping, TableName } from "../../shared/model/rules.ts";
import { renameQuoted } from "../../shared/schema/sqltext.ts";
import { destinationCredentials, freshDatabase, sourceCredentials, uniqueDatabase } from "../support/databases.ts";

/**
 * DDL replay against real servers (MariaDB to MariaDB): each statement runs at the source, its
 * translation at the destination, and the mappings follow the effects. At the end every migrated
 * table must look at the destination as the source table looks through its mapping (columns
 * selected and renamed), by information_schema: columns, types, defaults, comments, keys,
 * checks, table options; and the destination must hold exactly the mapped tables.
 */

const SOURCE = uniqueDatabase("ddl_src");
const DESTINATION = `${uniqueDatabase("ddl_dst")} ✓-x`;
const HOSTILE = 'ünï `q` "x"';

const RULES: ObjectRules = [
	{ database: SOURCE, table: "*", exclude: false, renameDatabase: DESTINATION },
	{
		database: SOURCE,
		table: "orders",
		exclude: false,
		renameDatabase: DESTINATION,
		renameTable: "orders_dst",
		renameColumns: { note: "remark" },
	},
	{ database: SOURCE, table: "narrow", exclude: false, renameDatabase: DESTINATION, columns: ["id", "a"] },
	{ database: SOURCE, table: "tmp_*", exclude: true },
];

const STEPS: [sql: string, action: DdlDecision["action"]][] = [
	[
		`CREATE TABLE ${quoteId(HOSTILE)} (\`ä\` INT PRIMARY KEY, \`b\`\`c\` VARCHAR(20) CHARACTER SET latin1 COMMENT 'it''s', KEY (\`b\`\`c\`)) COMMENT='hostile'`,
		"apply",
	],
	[
		"ALTER TABLE orders ADD COLUMN total DECIMAL(10,2) NOT NULL DEFAULT 0 AFTER id, ADD INDEX ix_note (note(5)), MODIFY qty BIGINT UNSIGNED NULL COMMENT 'quantity', ALTER COLUMN note SET DEFAULT 'n/a'",
		"apply",
	],
	["ALTER TABLE orders CHANGE note memo VARCHAR(100) DEFAULT NULL, RENAME INDEX ix_note TO ix_memo", "apply"],
	["ALTER TABLE narrow ADD COLUMN c INT /*!50100 COMMENT 'v' */, DROP COLUMN b", "ignore"],
	["ALTER TABLE narrow MODIFY a VARCHAR(30) NOT NULL DEFAULT '', ADD KEY ix_c (c)", "apply"],
	[
		`CREATE TABLE items (
			id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
			order_id INT,
			doc JSON,
			created DATETIME(3) DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
			CONSTRAINT ck_order CHECK (order_id > 0),
			UNIQUE KEY uk (order_id, created, id)
		) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci /*!50100 PARTITION BY HASH (id) PARTITIONS 2 */`,
		"apply",
	],
	["CREATE INDEX ix_created ON items (created DESC)", "apply"],
	["RENAME TABLE items TO items2", "apply"],
	["ALTER TABLE items2 ADD COLUMN extra TEXT, RENAME TO items3", "apply"],
	["CREATE TABLE items_like LIKE items3", "apply"],
	["TRUNCATE TABLE items_like", "apply"],
	["DROP TABLE IF EXISTS items_like, nothing", "apply"],
	["DROP INDEX ix_created ON items3", "apply"],
	["ALTER TABLE items3 ALTER INDEX uk IGNORED, COMMENT = 'renamed twice'", "apply"],
	["CREATE TABLE tmp_skip (id INT)", "ignore"],
	["CREATE TEMPORARY TABLE tt (id INT)", "ignore"],
	["ALTER TABLE orders RENAME COLUMN qty TO quantity", "apply"],
	["ALTER TABLE orders DROP COLUMN total", "apply"],
	[
		"ALTER TABLE orders ADD CONSTRAINT ck_qty CHECK (quantity >= 0), ADD COLUMN doubled BIGINT AS (quantity * 2) VIRTUAL",
		"apply",
	],
	["RENAME TABLE tmp_skip TO entering", "refuse"],
	["CREATE TABLE `b``ad` (`x``y` INT, `ü` TEXT, PRIMARY KEY (`x``y`))", "apply"],
	["ALTER TABLE `b``ad` CHANGE `ü` `ö` VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL", "apply"],
	["ANALYZE TABLE orders", "ignore"],
];

/** Renames, primary keys and checks have no IF [NOT] EXISTS form; replay must know it ran them. */
const NOT_REPEATABLE = /RENAME|PRIMARY KEY|CHECK \(/;

let source: Connection;
let destination: Connection;
let mappings: TableMapping[];

beforeAll(async () => {
	source = await freshDatabase(sourceCredentials, SOURCE);
	destination = await freshDatabase(destinationCredentials, DESTINATION);
	await source.query("CREATE TABLE orders (id INT PRIMARY KEY, note VARCHAR(50), qty INT)");
	await source.query("CREATE TABLE narrow (id INT PRIMARY KEY, a INT, b INT)");
	// What schema migration made of them: renamed, and `narrow` without column b.
	await destination.query("CREATE TABLE orders_dst (id INT PRIMARY KEY, remark VARCHAR(50), qty INT)");
	await destination.query("CREATE TABLE narrow (id INT PRIMARY KEY, a INT)");
	mappings = [
		{
			source: { database: SOURCE, table: "orders" },
			destination: { database: DESTINATION, table: "orders_dst" },
			columns: [
				{ source: "id", destination: "id" },
				{ source: "note", destination: "remark" },
				{ source: "qty", destination: "qty" },
			],
		},
		{
			source: { database: SOURCE, table: "narrow" },
			destination: { database: DESTINATION, table: "narrow" },
			columns: [
				{ source: "id", destination: "id" },
				{ source: "a", destination: "a" },
			],
		},
	];
});

afterAll(async () => {
	await source?.query(`DROP DATABASE IF EXISTS ${quoteId(SOURCE)}`);
	await destination?.query(`DROP DATABASE IF EXISTS ${quoteId(DESTINATION)}`);
	await source?.end();
	await destination?.end();
});

type Row = Record<string, unknown>;

async function rows(conn: Connection, sql: string, params: unknown[]): Promise<Row[]> {
	const [result] = await conn.query(sql, params);
	return result as Row[];
}

/** The table as information_schema shows it, column names passed through `name`. */
async function describe_(conn: Connection, t: TableName, name: (c: string) => string | undefined) {
	const where = "TABLE_SCHEMA = ? AND TABLE_NAME = ?";
	const params = [t.database, t.table];
	const rename = (sql: string | null) => (sql === null ? null : renameQuoted(sql, (n) => name(n)));
	const columns = (
		await rows(
			conn,
			`SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, CHARACTER_SET_NAME, COLLATION_NAME,
			        COLUMN_COMMENT, EXTRA, GENERATION_EXPRESSION
			 FROM information_schema.COLUMNS WHERE ${where} ORDER BY ORDINAL_POSITION`,
			params,
		)
	)
		.filter((c) => name(c.COLUMN_NAME as string) !== undefined)
		.map((c) => ({
			...c,
			COLUMN_NAME: name(c.COLUMN_NAME as string),
			GENERATION_EXPRESSION: rename(c.GENERATION_EXPRESSION as string | null),
		}));
	const keyParts = await rows(
		conn,
		`SELECT INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME, SUB_PART, COLLATION, INDEX_TYPE, INDEX_COMMENT, IGNORED
		 FROM information_schema.STATISTICS WHERE ${where} ORDER BY INDEX_NAME, SEQ_IN_INDEX`,
		params,
	);
	// Keys on columns the rules leave out exist at the source only.
	const partial = new Set(keyParts.filter((k) => name(k.COLUMN_NAME as string) === undefined).map((k) => k.INDEX_NAME));
	const keys = keyParts
		.filter((k) => !partial.has(k.INDEX_NAME))
		.map((k) => ({ ...k, COLUMN_NAME: name(k.COLUMN_NAME as string) }));
	const checks = (
		await rows(
			conn,
			`SELECT CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS
			 WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ? ORDER BY CONSTRAINT_NAME`,
			params,
		)
	).map((c) => ({ ...c, CHECK_CLAUSE: rename(c.CHECK_CLAUSE as string) }));
	const [table] = await rows(
		conn,
		`SELECT ENGINE, TABLE_COLLATION, TABLE_COMMENT FROM information_schema.TABLES WHERE ${where}`,
		params,
	);
	return { columns, keys, checks, table };
}

describe("DDL replay on a MariaDB destination", () => {
	it("keeps the destination schema equal to the source seen through the mappings", async () => {
		for (const [sql, action] of STEPS) {
			await source.query(sql).catch((err: Error) => {
				throw new Error(`the source refused ${sql}: ${err.message}`);
			});
			const decision = translateDdl(
				{ kind: "ddl", database: SOURCE, sql },
				{ rules: RULES, mappings, destinationEngine: "mariadb", source: { flavor: "mariadb" } },
			);
			expect(decision.action, `${sql}\n-> ${JSON.stringify(decision)}`).toBe(action);
			if (decision.action === "refuse") expect(decision.reason).toMatch(/RENAME TABLE .*tmp_skip TO .*entering/);
			if (decision.action !== "apply") continue;
			for (const statement of decision.statements) {
				await destination.query(statement).catch((err: Error) => {
					throw new Error(`the destination refused ${statement} (for ${sql}): ${err.message}`);
				});
			}
			// Replay may repeat the last statement after a crash: what is written IF [NOT] EXISTS must take it.
			for (const statement of decision.statements.filter((x) => !NOT_REPEATABLE.test(x))) {
				await destination.query(statement).catch((err: Error) => {
					throw new Error(`running ${statement} twice failed: ${err.message}`);
				});
			}
			mappings = applyDdlEffects(mappings, decision.effects);
		}

		const listed = await rows(
			destination,
			"SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME",
			[DESTINATION],
		);
		expect(listed.map((r) => r.name)).toEqual(mappings.map((m) => m.destination.table).sort());
		expect(mappings.map((m) => m.source.table).sort()).toEqual([HOSTILE, "b`ad", "items3", "narrow", "orders"].sort());

		for (const m of mappings) {
			const toDestination = (c: string) =>
				m.columns.find((x) => x.source.toLowerCase() === c.toLowerCase())?.destination;
			const expected = await describe_(source, m.source, toDestination);
			const actual = await describe_(destination, m.destination, (c) => c);
			expect(actual, `${m.source.table} -> ${m.destination.table}`).toEqual(expected);
		}
	});
});
