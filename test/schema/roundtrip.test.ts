import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Connection, connect } from "../../shared/db/connect.ts";
import { quoteId, quoteTable } from "../../shared/db/sql.ts";
import { applySchemaPhase } from "../../shared/schema/apply.ts";
import { planSchema, SCHEMA_PHASES, type SchemaPlan } from "../../shared/schema/plan.ts";
import { checkSchemaPrerequisites } from "../../shared/schema/precheck.ts";
import { describeServer, readSchema } from "../../shared/schema/read.ts";
import { resolveObjects, resolveViews } from "../../shared/schema/resolve.ts";
import { destinationCredentials, freshDatabase, sourceCredentials, uniqueDatabase } from "../support/databases.ts";

/**
 * Migrates a schema that uses every MySQL/MariaDB column type and every kind of key and
 * constraint to the destination server (MariaDB to MariaDB), then proves source and destination
 * identical by query: SHOW CREATE TABLE text and information_schema rows. Both servers are
 * separate, so the database keeps its name on both sides and the texts compare as they are.
 */

// A database name that needs quoting: unicode, a dash and a space.
const db = `${uniqueDatabase("schema")} ß✓-x`;
const HOSTILE_TABLE = "tbl-ß✓";
const HOSTILE_COLUMN = "we`ird \"q'uote";

const SOURCE_DDL = [
	`CREATE TABLE parent (
		id int unsigned NOT NULL AUTO_INCREMENT,
		code varchar(20) NOT NULL,
		parent_id int unsigned DEFAULT NULL,
		PRIMARY KEY (id),
		UNIQUE KEY uq_code (code),
		KEY ix_parent (parent_id),
		CONSTRAINT fk_self FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE SET NULL
	) ENGINE=InnoDB AUTO_INCREMENT=1000 COMMENT='parents'`,
	`CREATE TABLE child (
		parent_id int unsigned NOT NULL,
		seq int NOT NULL,
		code varchar(20),
		note varchar(50) DEFAULT 'n/a',
		PRIMARY KEY (parent_id, seq),
		KEY ix_code_note (code, note),
		CONSTRAINT fk_parent FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE CASCADE ON UPDATE CASCADE,
		CONSTRAINT fk_code FOREIGN KEY (code) REFERENCES parent (code)
	)`,
	`CREATE TABLE all_types (
		id bigint unsigned NOT NULL AUTO_INCREMENT,
		t_tiny tinyint NOT NULL DEFAULT -5,
		t_tiny_u tinyint unsigned zerofill DEFAULT 7,
		t_bool boolean DEFAULT true,
		t_small smallint DEFAULT NULL,
		t_small_u smallint unsigned DEFAULT 65535,
		t_medium mediumint DEFAULT -8388608,
		t_medium_u mediumint unsigned zerofill,
		t_int int DEFAULT 0,
		t_int_u int unsigned DEFAULT 4294967295,
		t_big bigint DEFAULT -9223372036854775808,
		t_big_u bigint unsigned zerofill DEFAULT 18446744073709551615,
		t_dec decimal(65,30) DEFAULT 12345.678900000000000000000000000001,
		t_dec_u decimal(10,2) unsigned DEFAULT 0.00,
		t_float float DEFAULT 1.5,
		t_float_p float(7,3) DEFAULT NULL,
		t_double double DEFAULT -2.5e-300,
		t_bit1 bit(1) DEFAULT b'1',
		t_bit64 bit(64) DEFAULT b'1010',
		t_date date DEFAULT '2024-02-29',
		t_time time(6) DEFAULT '-838:59:59.000000',
		t_datetime datetime(6) DEFAULT '1000-01-01 00:00:00.000001',
		t_ts timestamp(6) NOT NULL DEFAULT current_timestamp(6) ON UPDATE current_timestamp(6),
		t_ts_null timestamp NULL DEFAULT NULL,
		t_zero datetime NOT NULL DEFAULT '0000-00-00 00:00:00',
		t_dt_upd datetime DEFAULT current_timestamp() ON UPDATE current_timestamp(),
		t_year year DEFAULT 2024,
		t_char char(10) NOT NULL DEFAULT '',
		t_varchar varchar(255) DEFAULT 'it''s a "test" \\\\ ✓',
		t_tinytext tinytext,
		t_text text DEFAULT 'x',
		t_mediumtext mediumtext,
		t_longtext longtext,
		l_char char(5) CHARACTER SET latin1 DEFAULT 'ab',
		l_varchar varchar(100) CHARACTER SET latin1 COLLATE latin1_german1_ci,
		l_text text CHARACTER SET latin1,
		u_bin varchar(20) COLLATE utf8mb4_bin,
		u_uca varchar(20) COLLATE utf8mb4_uca1400_ai_ci,
		u3 varchar(20) CHARACTER SET utf8mb3,
		t_binary binary(4) DEFAULT 0x00ff,
		t_varbinary varbinary(16) DEFAULT 'abc',
		t_tinyblob tinyblob,
		t_blob blob DEFAULT 'b',
		t_mediumblob mediumblob,
		t_longblob longblob,
		t_enum enum('a','b''c','ü') NOT NULL DEFAULT 'b''c',
		t_set set('x','y','z') DEFAULT 'x,z',
		t_json json,
		t_geometry geometry,
		t_point point NOT NULL,
		t_linestring linestring,
		t_polygon polygon,
		t_multipoint multipoint,
		t_multilinestring multilinestring,
		t_multipolygon multipolygon,
		t_geometrycollection geometrycollection,
		t_uuid uuid DEFAULT uuid(),
		t_inet6 inet6 DEFAULT '::1',
		t_inet4 inet4,
		g_virtual int GENERATED ALWAYS AS (t_int * 2) VIRTUAL,
		g_stored varchar(300) AS (concat(t_varchar, '-', t_int)) STORED,
		t_expr_default int DEFAULT (t_int + 1),
		t_invisible int INVISIBLE DEFAULT 3,
		t_compressed varchar(100) COMPRESSED,
		t_comment int COMMENT 'col''s comment ✓',
		PRIMARY KEY (id),
		UNIQUE KEY uq_composite (t_int, t_char),
		UNIQUE KEY uq_long (t_longtext),
		KEY ix_prefix (t_varchar(10), t_text(20)),
		KEY ix_desc (t_date DESC, t_int),
		KEY ix_virtual (g_virtual),
		KEY ix_ignored (t_small) COMMENT 'ignored' IGNORED,
		FULLTEXT KEY ft_text (t_text, t_mediumtext),
		SPATIAL KEY sp_point (t_point),
		CONSTRAINT chk_range CHECK (t_int >= -1000),
		CHECK (t_small_u > 0)
	) AUTO_INCREMENT=42 ROW_FORMAT=DYNAMIC COMMENT='every type ✓'`,
	"CREATE TABLE no_pk (a int, b varchar(10), KEY ix_a (a)) ENGINE=MyISAM",
	`CREATE TABLE ${quoteId(HOSTILE_TABLE)} (
		${quoteId(HOSTILE_COLUMN)} int NOT NULL,
		\`spa ce\` varchar(10) DEFAULT 'a\`b',
		\`ü✓\` int,
		PRIMARY KEY (${quoteId(HOSTILE_COLUMN)}),
		KEY \`idx \`\`x\`\` "y"\` (\`spa ce\`),
		CONSTRAINT \`chk ✓\` CHECK (\`ü✓\` <> 0)
	) COMMENT 'hostile \`\` '' "'`,
	"CREATE VIEW v_parent AS SELECT p.id, p.code FROM parent p WHERE p.id > 0 WITH LOCAL CHECK OPTION",
	"CREATE VIEW v_child AS SELECT c.parent_id, c.seq, vp.code FROM child c JOIN v_parent vp ON vp.id = c.parent_id",
	"CREATE VIEW v_top AS SELECT * FROM v_child WHERE seq < 10",
	`CREATE VIEW \`v-ß✓\` AS SELECT ${quoteId(HOSTILE_COLUMN)} AS w, \`spa ce\` FROM ${quoteId(HOSTILE_TABLE)} WHERE \`spa ce\` <> 'x\`y'`,
	"INSERT INTO parent (code) VALUES ('a'), ('b')",
];

const TABLES = ["parent", "child", "all_types", "no_pk", HOSTILE_TABLE];
const VIEWS = ["v_parent", "v_child", "v_top", "v-ß✓"];

let source: Connection;
let destination: Connection;
let plan: SchemaPlan;

beforeAll(async () => {
	source = await freshDatabase(sourceCredentials, db);
	for (const sql of SOURCE_DDL) await source.query(sql);
	destination = await connect(destinationCredentials);
	await destination.query(`DROP DATABASE IF EXISTS ${quoteId(db)}`);
});

afterAll(async () => {
	await source?.query(`DROP DATABASE IF EXISTS ${quoteId(db)}`);
	await destination?.query(`DROP DATABASE IF EXISTS ${quoteId(db)}`);
	await source?.end();
	await destination?.end();
});

async function rows(conn: Connection, sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
	const [result] = await conn.query(sql, params);
	return result as Record<string, unknown>[];
}

async function showCreateTable(conn: Connection, table: string): Promise<string> {
	const [row] = await rows(conn, `SHOW CREATE TABLE ${quoteTable({ database: db, table })}`);
	return String(row?.["Create Table"]);
}

describe("schema migration MariaDB -> MariaDB", () => {
	it("plans every object as converted, views with the definer dropped", async () => {
		const rules = [{ database: db, table: "*", exclude: false }];
		const mappings = await resolveObjects(source, rules);
		const views = await resolveViews(source, rules);
		expect(mappings.map((m) => m.source.table).sort()).toEqual([...TABLES].sort());
		expect(views.map((v) => v.source.table).sort()).toEqual([...VIEWS].sort());
		const snapshot = await readSchema(
			source,
			mappings.map((m) => m.source),
			views.map((v) => v.source),
		);
		const target = await describeServer(destination);
		plan = planSchema(snapshot, mappings, "mariadb", {
			views,
			destinationVersion: target.version,
		});

		const notConverted = plan.report.filter((e) => e.status !== "converted");
		expect(notConverted.every((e) => e.kind === "view" && e.status === "changed")).toBe(true);
		expect(notConverted).toHaveLength(VIEWS.length);
		// Views come after what they read.
		const order = plan.views.map((v) => v.view.table);
		expect(order.indexOf("v_parent")).toBeLessThan(order.indexOf("v_child"));
		expect(order.indexOf("v_child")).toBeLessThan(order.indexOf("v_top"));
		// Secondary indexes wait for the load; primary and unique keys do not.
		expect(plan.indexes.map((i) => i.name)).toContain("ft_text");
		expect(plan.tables.find((t) => t.table.table === "all_types")?.sql).toContain("UNIQUE KEY `uq_long`");

		const findings = await checkSchemaPrerequisites(destination, snapshot, plan);
		expect(findings).toEqual([expect.objectContaining({ level: "warning", object: `${db}.no_pk` })]);
	});

	it("applies every phase, and a second run changes nothing", async () => {
		// A session whose sql_mode would misread escaped literals, quoted names and zero dates:
		// apply must set its own mode for the DDL and give this one back.
		const [{ m: ordinaryMode }] = (await rows(destination, "SELECT @@SESSION.sql_mode AS m")) as [{ m: string }];
		await destination.query(
			"SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES,ANSI_QUOTES,NO_ZERO_DATE,NO_ZERO_IN_DATE')",
		);
		const modeBefore = await rows(destination, "SELECT @@SESSION.sql_mode AS m");
		for (const phase of SCHEMA_PHASES) {
			const result = await applySchemaPhase(destination, plan, phase);
			// this schema has no routines or events (test/schema/routines.test.ts has)
			if (phase !== "routines" && phase !== "events") expect(result.created.length).toBeGreaterThan(0);
		}
		for (const phase of SCHEMA_PHASES.filter((p) => p !== "views")) {
			const again = await applySchemaPhase(destination, plan, phase);
			expect(again.created).toEqual([]);
		}
		expect(await rows(destination, "SELECT @@SESSION.sql_mode AS m")).toEqual(modeBefore);
		await destination.query("SET SESSION sql_mode = ?", [ordinaryMode]);
	});

	it("gives identical SHOW CREATE TABLE output", async () => {
		for (const table of TABLES) {
			expect(await showCreateTable(destination, table), table).toBe(await showCreateTable(source, table));
		}
	});

	it("gives identical information_schema rows", async () => {
		const queries = [
			"SELECT TABLE_NAME, TABLE_TYPE, ENGINE, ROW_FORMAT, TABLE_COLLATION, CREATE_OPTIONS, TABLE_COMMENT, AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME",
			"SELECT * FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION",
			// CARDINALITY is a statistic of the rows, which the schema migration does not copy.
			"SELECT TABLE_NAME, NON_UNIQUE, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, COLLATION, SUB_PART, PACKED, NULLABLE, INDEX_TYPE, COMMENT, INDEX_COMMENT, IGNORED FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
			"SELECT * FROM information_schema.TABLE_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? ORDER BY TABLE_NAME, CONSTRAINT_NAME",
			"SELECT * FROM information_schema.KEY_COLUMN_USAGE WHERE CONSTRAINT_SCHEMA = ? ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION",
			"SELECT * FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? ORDER BY TABLE_NAME, CONSTRAINT_NAME",
			"SELECT * FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? ORDER BY TABLE_NAME, CONSTRAINT_NAME",
			"SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
		];
		for (const sql of queries) {
			const expected = await rows(source, sql, [db]);
			expect(expected.length, sql).toBeGreaterThan(0);
			expect(await rows(destination, sql, [db]), sql).toEqual(expected);
		}
	});

	it("gives identical view definitions, run with the invoker's rights", async () => {
		const sql =
			"SELECT TABLE_NAME, VIEW_DEFINITION, CHECK_OPTION, IS_UPDATABLE, ALGORITHM FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME";
		expect(await rows(destination, sql, [db])).toEqual(await rows(source, sql, [db]));
		const security = await rows(
			destination,
			"SELECT DISTINCT SECURITY_TYPE AS s FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ?",
			[db],
		);
		expect(security).toEqual([{ s: "INVOKER" }]);
		// The views work: they read the (empty) destination tables.
		await expect(rows(destination, `SELECT * FROM ${quoteTable({ database: db, table: "v_top" })}`)).resolves.toEqual(
			[],
		);
	});
});
