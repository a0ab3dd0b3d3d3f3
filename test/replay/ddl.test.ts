import { describe, expect, it } from "vitest";
import {
	applyDdlEffects,
	type DdlContext,
	type DdlDecision,
	type DdlForm,
	type DdlSupportEntry,
	SUPPORTED_DDL,
	translateDdl,
} from "../../shared/ddl/translate.ts";
import type { Engine } from "../../shared/model/datasource.ts";
import type { ObjectRules, TableMapping } from "../../shared/model/rules.ts";

/**
 * Translation of source DDL into destination statements and mapping effects, without a server.
 * The project: database `shop` goes to `store`; `shop.orders` goes to `store.orders_v2` with
 * column `note` renamed to `remark`; `shop.sel` keeps columns id and a only and filters rows;
 * tables `shop.tmp_*` are excluded.
 */

const RULES: ObjectRules = [
	{ database: "shop", table: "*", exclude: false, renameDatabase: "store" },
	{
		database: "shop",
		table: "orders",
		exclude: false,
		renameDatabase: "store",
		renameTable: "orders_v2",
		renameColumns: { note: "remark" },
	},
	{ database: "shop", table: "sel", exclude: false, renameDatabase: "store", columns: ["id", "a"], where: "a > 0" },
	{ database: "shop", table: "tmp_*", exclude: true },
];

const col = (source: string, destination = source) => ({ source, destination });

const MAPPINGS: TableMapping[] = [
	{
		source: { database: "shop", table: "orders" },
		destination: { database: "store", table: "orders_v2" },
		columns: [col("id"), col("note", "remark"), col("qty")],
	},
	{
		source: { database: "shop", table: "sel" },
		destination: { database: "store", table: "sel" },
		columns: [col("id"), col("a")],
		where: "a > 0",
	},
	{
		source: { database: "shop", table: "plain" },
		destination: { database: "store", table: "plain" },
		columns: [col("id"), col("v")],
	},
];

function ctx(engine: Engine = "mariadb", extra: Partial<DdlContext> = {}): DdlContext {
	return { rules: RULES, mappings: MAPPINGS, destinationEngine: engine, ...extra };
}

function run(sql: string, context: DdlContext = ctx(), database = "shop"): DdlDecision {
	return translateDdl({ kind: "ddl", database, sql }, context);
}

function applied(sql: string, context?: DdlContext, database?: string) {
	const d = run(sql, context, database);
	if (d.action !== "apply") throw new Error(`expected apply, got ${d.action}: ${d.reason}`);
	return d;
}

function refused(sql: string, context?: DdlContext, database?: string) {
	const d = run(sql, context, database);
	if (d.action !== "refuse") throw new Error(`expected refuse, got ${d.action}: ${JSON.stringify(d)}`);
	return d;
}

function ignored(sql: string, context?: DdlContext) {
	const d = run(sql, context);
	if (d.action !== "ignore") throw new Error(`expected ignore, got ${d.action}: ${JSON.stringify(d)}`);
	return d;
}

describe("SUPPORTED_DDL", () => {
	it("gives every form a note and an example that gets the stated treatment", () => {
		// The examples are read against a project migrating all of `shop` with `shop.orders (id, note)`.
		const context: DdlContext = {
			rules: [{ database: "shop", table: "*", exclude: false }],
			mappings: [
				{
					source: { database: "shop", table: "orders" },
					destination: { database: "shop", table: "orders" },
					columns: [col("id"), col("note")],
				},
			],
			destinationEngine: "mariadb",
		};
		const expected = { supported: "apply", ignored: "ignore", refused: "refuse" } as const;
		for (const [form, entry] of Object.entries(SUPPORTED_DDL) as [string, DdlSupportEntry][]) {
			expect(entry.note.length, form).toBeGreaterThan(10);
			// a statement the source logs as another one: replay meets that one
			const sql = entry.loggedAs?.sql ?? entry.example;
			const d = translateDdl({ kind: "ddl", database: "shop", sql }, context);
			expect(d.action, `${form}: ${sql} -> ${JSON.stringify(d)}`).toBe(expected[entry.support]);
			expect(d.forms, form).toContain((entry.loggedAs?.form ?? form) as DdlForm);
		}
	});
});

describe("CREATE TABLE", () => {
	it("creates the table under the rule's names, qualified and quoted, and maps it", () => {
		const d = applied(
			"CREATE TABLE customers (id INT NOT NULL AUTO_INCREMENT, name VARCHAR(50) NOT NULL DEFAULT '' COMMENT 'it''s', PRIMARY KEY (id), KEY ix_name (name)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
		);
		expect(d.statements).toEqual([
			"CREATE TABLE IF NOT EXISTS `store`.`customers` (\n  `id` INT NOT NULL AUTO_INCREMENT,\n  `name` VARCHAR(50) NOT NULL DEFAULT '' COMMENT 'it''s',\n  PRIMARY KEY (`id`),\n  KEY `ix_name` (`name`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
		]);
		expect(d.effects).toEqual([
			{
				kind: "table-created",
				mapping: {
					source: { database: "shop", table: "customers" },
					destination: { database: "store", table: "customers" },
					columns: [col("id"), col("name")],
				},
			},
		]);
	});

	it("applies column renames and selection to a new table, leaving out indexes on left-out columns", () => {
		const context = ctx("mariadb", {
			rules: [
				...RULES,
				{
					database: "shop",
					table: "wide",
					exclude: false,
					renameDatabase: "store",
					columns: ["id", "a", "b"],
					renameColumns: { a: "alpha" },
				},
			],
		});
		const d = applied(
			"CREATE TABLE wide (id INT PRIMARY KEY, a INT, b INT, secret TEXT, KEY ix_a (a, b), KEY ix_s (secret(10)), CONSTRAINT ck CHECK (`a` > 0), CHECK (`secret` <> ''))",
			context,
		);
		expect(d.statements[0]).toBe(
			"CREATE TABLE IF NOT EXISTS `store`.`wide` (\n  `id` INT PRIMARY KEY,\n  `alpha` INT,\n  `b` INT,\n  KEY `ix_a` (`alpha`, `b`),\n  CONSTRAINT `ck` CHECK (`alpha` > 0)\n)",
		);
		expect(d.warnings.join("\n")).toMatch(/index ix_s is not created: it covers column\(s\) secret/);
		expect(d.warnings.join("\n")).toMatch(/check is not created: it reads column\(s\) secret/);
		expect(d.effects[0]).toMatchObject({ mapping: { columns: [col("id"), col("a", "alpha"), col("b")] } });
	});

	it("refuses a new table whose primary key the rule's selection leaves out", () => {
		const context = ctx("mariadb", {
			rules: [...RULES, { database: "shop", table: "wide", exclude: false, columns: ["a"] }],
		});
		expect(refused("CREATE TABLE wide (id INT PRIMARY KEY, a INT)", context).reason).toMatch(
			/CREATE TABLE shop\.wide: the column selection of rule #5 leaves out primary-key column "id"/,
		);
	});

	it("keeps hostile identifiers intact: backticks, quotes, unicode", () => {
		const d = applied(
			"CREATE TABLE `shop`.`ünï ``q`` \"x\"` (`ä` INT PRIMARY KEY, `b``c` VARCHAR(5) COMMENT '`not a name`', KEY (`b``c`))",
		);
		expect(d.statements[0]).toBe(
			"CREATE TABLE IF NOT EXISTS `store`.`ünï ``q`` \"x\"` (\n  `ä` INT PRIMARY KEY,\n  `b``c` VARCHAR(5) COMMENT '`not a name`',\n  KEY (`b``c`)\n)",
		);
		expect(d.effects[0]).toMatchObject({
			mapping: { source: { table: 'ünï `q` "x"' }, columns: [col("ä"), col("b`c")] },
		});
	});

	it("reads versioned comments the way the source did", () => {
		const sql =
			"CREATE TABLE v (id INT PRIMARY KEY /*!80023 INVISIBLE */, x INT /*M!100301 COMPRESSED */) /*!50100 COMMENT='c' */";
		expect(applied(sql).statements[0]).toBe(
			"CREATE TABLE IF NOT EXISTS `store`.`v` (\n  `id` INT PRIMARY KEY INVISIBLE,\n  `x` INT COMPRESSED\n) COMMENT='c'",
		);
		// A MySQL 5.7 source skipped the 8.0.23 and the MariaDB-only parts.
		const mysql57 = ctx("mariadb", { source: { flavor: "mysql", version: "5.7.44" } });
		expect(applied(sql, mysql57).statements[0]).toBe(
			"CREATE TABLE IF NOT EXISTS `store`.`v` (\n  `id` INT PRIMARY KEY,\n  `x` INT\n) COMMENT='c'",
		);
	});

	it("converts types, collations, defaults and options for other destinations", () => {
		const sql =
			"CREATE TABLE t (id INT PRIMARY KEY, u UUID, c VARCHAR(9) COLLATE utf8mb4_uca1400_ai_ci, body TEXT DEFAULT 'x', FULLTEXT KEY ft (body)) ENGINE=Aria PAGE_CHECKSUM=1";
		const mysql = applied(sql, ctx("mysql", { source: { flavor: "mariadb" } }));
		expect(mysql.statements[0]).toBe(
			"CREATE TABLE IF NOT EXISTS `store`.`t` (\n  `id` INT PRIMARY KEY,\n  `u` char(36),\n  `c` VARCHAR(9) CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_ai_ci,\n  `body` TEXT DEFAULT ('x'),\n  FULLTEXT KEY `ft` (`body`)\n) ENGINE=InnoDB",
		);
		expect(mysql.changes.join("\n")).toMatch(/type UUID -> char\(36\)/);
		const tidb = applied(sql, ctx("tidb"));
		expect(tidb.statements[0]).toContain("`body` TEXT DEFAULT NULL");
		expect(tidb.statements[0]).not.toContain("FULLTEXT");
		expect(tidb.warnings.join("\n")).toMatch(/index ft is not created: TiDB has no FULLTEXT indexes/);
		const mariadb = applied("CREATE TABLE j (id INT PRIMARY KEY, doc JSON)");
		expect(mariadb.statements[0]).toContain(
			"`doc` longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin CHECK (json_valid(`doc`))",
		);
	});

	it("drops partitioning with a note and refuses CREATE TABLE ... SELECT", () => {
		const d = applied("CREATE TABLE p (id INT PRIMARY KEY) PARTITION BY HASH (id) PARTITIONS 4");
		expect(d.statements[0]).toBe("CREATE TABLE IF NOT EXISTS `store`.`p` (\n  `id` INT PRIMARY KEY\n)");
		expect(d.changes.join("\n")).toMatch(/partitioning not carried over/);
		const r = refused("CREATE TABLE summary AS SELECT id FROM orders");
		expect(r.reason).toMatch(
			/^CREATE TABLE shop\.summary \.\.\. SELECT: .* holds its SELECT .* insert the rows twice$/,
		);
		expect(r.statement).toBe("CREATE TABLE summary AS SELECT id FROM orders");
		expect(refused("CREATE TABLE s2 (id INT) SELECT 1 AS id").forms).toContain("CREATE TABLE ... SELECT");
	});

	it("tells keys from columns and reads quoted option values", () => {
		const d = applied(
			"CREATE TABLE k (id INT, `key` INT, KEY int_idx (id), INDEX (`key`)) DEFAULT CHARSET='utf8mb4' COLLATE `utf8mb4_bin`",
		);
		expect(d.statements[0]).toBe(
			"CREATE TABLE IF NOT EXISTS `store`.`k` (\n  `id` INT,\n  `key` INT,\n  KEY `int_idx` (`id`),\n  KEY (`key`)\n) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
		);
		expect(refused("CREATE TABLE k2 (id INT) ENGINE=InnoDB; SELECT 1").reason).toMatch(/more than one statement/);
		expect(refused("CREATE TABLE k3 (id INT) ENGINE=InnoDB bogus").reason).toMatch(
			/^Ferry cannot read the statement \(the statement ends too early\)/,
		);
	});

	it("takes MySQL 8's row-format CREATE ... START TRANSACTION (the rows come as events)", () => {
		expect(applied("CREATE TABLE s3 (id INT) START TRANSACTION").statements[0]).toContain("`store`.`s3`");
	});

	it("ignores temporary, excluded and unmatched tables, and IF NOT EXISTS on a migrated one", () => {
		expect(ignored("CREATE TEMPORARY TABLE tt (id INT)").reason).toMatch(/temporary tables/);
		expect(ignored("CREATE TABLE tmp_x (id INT)").reason).toBe(
			"CREATE TABLE shop.tmp_x: no rule includes the table, so it is not migrated",
		);
		expect(ignored("CREATE TABLE other.x (id INT)").reason).toMatch(/other\.x: no rule includes/);
		expect(ignored("CREATE TABLE IF NOT EXISTS orders (id INT)").reason).toMatch(/exists and is migrated already/);
	});

	it("CREATE OR REPLACE drops and re-creates", () => {
		const d = applied("CREATE OR REPLACE TABLE plain (id INT PRIMARY KEY, w INT)");
		expect(d.statements).toEqual([
			"DROP TABLE IF EXISTS `store`.`plain`",
			"CREATE TABLE IF NOT EXISTS `store`.`plain` (\n  `id` INT PRIMARY KEY,\n  `w` INT\n)",
		]);
		expect(applyDdlEffects(MAPPINGS, d.effects).find((m) => m.source.table === "plain")?.columns).toEqual([
			col("id"),
			col("w"),
		]);
	});

	it("CREATE TABLE ... LIKE copies the destination table when the rules treat both alike", () => {
		const d = applied("CREATE TABLE plain_copy LIKE plain");
		expect(d.statements).toEqual(["CREATE TABLE IF NOT EXISTS `store`.`plain_copy` LIKE `store`.`plain`"]);
		expect(d.effects[0]).toMatchObject({ mapping: { columns: [col("id"), col("v")] } });
		expect(refused("CREATE TABLE orders_copy LIKE orders").reason).toMatch(
			/rule #1 selects or renames the columns of shop\.orders_copy differently/,
		);
		expect(refused("CREATE TABLE x LIKE tmp_a").reason).toMatch(/shop\.tmp_a is not migrated/);
		expect(ignored("CREATE TABLE tmp_b LIKE orders").reason).toMatch(/no rule includes shop\.tmp_b/);
	});
});

describe("DROP, TRUNCATE and RENAME TABLE", () => {
	it("drops the migrated tables of a multi-table DROP and ignores the rest", () => {
		const d = applied("DROP TABLE IF EXISTS orders, `shop`.sel, tmp_x, nothing /* generated by server */");
		expect(d.statements).toEqual(["DROP TABLE IF EXISTS `store`.`orders_v2`, `store`.`sel`"]);
		expect(d.effects).toEqual([
			{ kind: "table-dropped", source: { database: "shop", table: "orders" } },
			{ kind: "table-dropped", source: { database: "shop", table: "sel" } },
		]);
		expect(ignored("DROP TABLE tmp_x, nothing").reason).toMatch(/none of the tables is migrated/);
		expect(ignored("DROP TEMPORARY TABLE IF EXISTS orders").reason).toMatch(/temporary/);
	});

	it("truncates at the destination", () => {
		expect(applied("TRUNCATE orders").statements).toEqual(["TRUNCATE TABLE `store`.`orders_v2`"]);
		expect(ignored("TRUNCATE TABLE tmp_1").reason).toMatch(/not migrated/);
	});

	it("renames several tables in order in one statement and moves their mappings (a table swap)", () => {
		const context = ctx("mariadb", {
			mappings: [
				...MAPPINGS,
				{
					source: { database: "shop", table: "_plain_new" },
					destination: { database: "store", table: "_plain_new" },
					columns: [col("id"), col("v")],
				},
			],
		});
		const d = applied("RENAME TABLE plain TO _plain_old, _plain_new TO plain", context);
		expect(d.statements).toEqual([
			"RENAME TABLE `store`.`plain` TO `store`.`_plain_old`, `store`.`_plain_new` TO `store`.`plain`",
		]);
		expect(d.effects.map((e) => e.kind)).toEqual(["table-renamed", "table-renamed"]);
		const after = applyDdlEffects(context.mappings, d.effects);
		expect(after.map((m) => `${m.source.table}->${m.destination.table}`).sort()).toEqual([
			"_plain_old->_plain_old",
			"orders->orders_v2",
			"plain->plain",
			"sel->sel",
		]);
	});

	it("refuses renames into, out of, or across rules that treat columns or rows differently", () => {
		expect(refused("RENAME TABLE tmp_x TO x").reason).toBe(
			"RENAME TABLE shop.tmp_x TO shop.x: it moves a table into the migration (rule #1 includes shop.x, but shop.tmp_x is not migrated, so its rows were never copied): copy the table to the destination by hand (or change the rules) and skip the statement",
		);
		expect(refused("RENAME TABLE plain TO tmp_plain").reason).toMatch(
			/^RENAME TABLE shop\.plain TO shop\.tmp_plain: it moves a migrated table out of the migration/,
		);
		expect(refused("RENAME TABLE orders TO orders_2024").reason).toMatch(
			/rule #1 selects or renames the columns of shop\.orders_2024 differently from how shop\.orders was migrated \(rule #2\)/,
		);
		expect(refused("RENAME TABLE sel TO sel2").reason).toMatch(
			/rule #1 migrates every column of shop\.sel2, but shop\.sel was migrated with the column selection of rule #3/,
		);
		expect(ignored("RENAME TABLE tmp_a TO tmp_b, other.x TO other.y").reason).toMatch(/none of the tables is migrated/);
	});

	it("follows a rename to another database when the rules send both to the destination", () => {
		const context = ctx("mariadb", {
			rules: [...RULES, { database: "archive", table: "*", exclude: false, renameDatabase: "store_archive" }],
		});
		const d = applied("RENAME TABLE shop.plain TO archive.plain_2024", context);
		expect(d.statements).toEqual(["RENAME TABLE `store`.`plain` TO `store_archive`.`plain_2024`"]);
	});
});

describe("ALTER TABLE", () => {
	it("translates several specifications at once, with database, table and column renames", () => {
		const d = applied(
			"ALTER TABLE orders ADD COLUMN `we``ird` INT AFTER note, DROP COLUMN qty, CHANGE note memo TEXT, ADD INDEX ix_memo (memo(10)), MODIFY id BIGINT FIRST",
		);
		expect(d.statements).toEqual([
			"ALTER TABLE `store`.`orders_v2` ADD COLUMN IF NOT EXISTS `we``ird` INT AFTER `remark`, DROP COLUMN IF EXISTS `qty`, CHANGE COLUMN IF EXISTS `remark` `memo` TEXT, ADD KEY IF NOT EXISTS `ix_memo` (`memo`(10)), MODIFY COLUMN IF EXISTS `id` BIGINT FIRST",
		]);
		expect(d.effects).toEqual([
			{
				kind: "columns-changed",
				mapping: { ...MAPPINGS[0], columns: [col("id"), col("memo"), col("we`ird")] },
				changes: [
					{ change: "added", column: col("we`ird") },
					{ change: "dropped", source: "qty" },
					{ change: "renamed", from: "note", column: col("memo") },
				],
			},
		]);
		expect(d.warnings.join("\n")).toMatch(/rule #2 renames column note, which is now memo/);
	});

	it("writes plain clauses for destinations without IF [NOT] EXISTS on columns and indexes", () => {
		const d = applied("ALTER TABLE orders ADD x INT, DROP qty, ADD KEY k (x), DROP INDEX k2", ctx("mysql"));
		expect(d.statements).toEqual([
			"ALTER TABLE `store`.`orders_v2` ADD COLUMN `x` INT, DROP COLUMN `qty`, ADD KEY `k` (`x`), DROP INDEX `k2`",
		]);
	});

	it("reads versioned comments and qualified, quoted and bare names alike", () => {
		const d = applied(
			"alter table `shop`.orders /*!50100 add column z int */, add key (qty) /* a comment, with a comma */",
		);
		expect(d.statements).toEqual(["ALTER TABLE `store`.`orders_v2` ADD COLUMN IF NOT EXISTS `z` int, ADD KEY (`qty`)"]);
		expect(applied("ALTER TABLE orders ADD COLUMN (a INT, b INT)").statements[0]).toBe(
			"ALTER TABLE `store`.`orders_v2` ADD COLUMN IF NOT EXISTS `a` INT, ADD COLUMN IF NOT EXISTS `b` INT",
		);
	});

	it("names an unnamed key after the source column when the rule renames that column", () => {
		expect(applied("ALTER TABLE orders ADD UNIQUE (note)").statements[0]).toBe(
			"ALTER TABLE `store`.`orders_v2` ADD UNIQUE KEY `note` (`remark`)",
		);
	});

	it("respects the rule's column selection", () => {
		expect(ignored("ALTER TABLE sel ADD COLUMN b INT, ADD COLUMN c INT, DROP COLUMN d").reason).toBe(
			"ALTER TABLE shop.sel: columns b, c, d are not migrated (the column selection of rule #3 leaves them out)",
		);
		const d = applied("ALTER TABLE sel ADD COLUMN b INT, MODIFY a BIGINT NOT NULL, ADD INDEX ix_b (b)");
		expect(d.statements).toEqual(["ALTER TABLE `store`.`sel` MODIFY COLUMN IF EXISTS `a` BIGINT NOT NULL"]);
		expect(d.effects).toEqual([]);
		expect(d.warnings.join("\n")).toMatch(/new column b is not migrated/);
		expect(d.warnings.join("\n")).toMatch(/index ix_b is not created: it covers column\(s\) b/);
	});

	it("refuses what would break a row filter or a by-name column selection", () => {
		expect(refused("ALTER TABLE sel DROP COLUMN a").reason).toBe(
			"ALTER TABLE shop.sel: the row filter of rule #3 (a > 0) reads column a: change the rule's filter, then skip the statement after dropping the column at the destination by hand",
		);
		expect(refused("ALTER TABLE sel ADD PRIMARY KEY (id, a)").reason).toMatch(
			/ALTER TABLE shop\.sel: it changes the primary key of a table with a row filter \(rule #3: a > 0\)/,
		);
		expect(refused("ALTER TABLE sel DROP PRIMARY KEY").forms).toContain("ALTER TABLE ... DROP PRIMARY KEY");
		expect(refused("ALTER TABLE sel MODIFY id INT PRIMARY KEY").reason).toMatch(
			/primary key of a table with a row filter/,
		);
		expect(refused("ALTER TABLE sel RENAME COLUMN a TO b").reason).toMatch(
			/rule #3 selects columns by name and names a/,
		);
		expect(refused("ALTER TABLE sel CHANGE b a INT").reason).toMatch(
			/renames column b, which rule #3 leaves out, to a/,
		);
		expect(refused("DROP INDEX `PRIMARY` ON sel").reason).toMatch(/row filter/);
	});

	it("moves columns with FIRST and AFTER, and drops an anchor that is not migrated", () => {
		const d = applied("ALTER TABLE orders MODIFY qty INT FIRST, ADD c INT AFTER note");
		expect(d.statements[0]).toBe(
			"ALTER TABLE `store`.`orders_v2` MODIFY COLUMN IF EXISTS `qty` INT FIRST, ADD COLUMN IF NOT EXISTS `c` INT AFTER `remark`",
		);
		expect(d.effects[0]).toMatchObject({
			mapping: { columns: [col("qty"), col("id"), col("note", "remark"), col("c")] },
		});
		const s = applied("ALTER TABLE sel MODIFY a INT AFTER hidden");
		expect(s.statements[0]).toBe("ALTER TABLE `store`.`sel` MODIFY COLUMN IF EXISTS `a` INT");
		expect(s.warnings.join("\n")).toMatch(/placed after hidden at the source, which is not migrated/);
	});

	it("changes defaults, comments and visibility of migrated columns and indexes", () => {
		expect(
			applied(
				"ALTER TABLE orders ALTER COLUMN note SET DEFAULT 'x', ALTER qty DROP DEFAULT, ALTER INDEX ix INVISIBLE, MODIFY note VARCHAR(9) COMMENT 'the note'",
			).statements[0],
		).toBe(
			"ALTER TABLE `store`.`orders_v2` ALTER COLUMN `remark` SET DEFAULT 'x', ALTER COLUMN `qty` DROP DEFAULT, ALTER INDEX `ix` IGNORED, MODIFY COLUMN IF EXISTS `remark` VARCHAR(9) COMMENT 'the note'",
		);
		expect(applied("ALTER TABLE orders ALTER INDEX ix IGNORED", ctx("mysql")).statements[0]).toBe(
			"ALTER TABLE `store`.`orders_v2` ALTER INDEX `ix` INVISIBLE",
		);
		expect(applied("ALTER TABLE orders COMMENT = 'orders'").statements[0]).toBe(
			"ALTER TABLE `store`.`orders_v2` COMMENT='orders'",
		);
	});

	it("converts table options and character sets for the destination", () => {
		const d = applied("ALTER TABLE orders ENGINE=MyISAM ROW_FORMAT=DYNAMIC, AUTO_INCREMENT = 100", ctx("tidb"));
		expect(d.statements[0]).toBe("ALTER TABLE `store`.`orders_v2` ENGINE=InnoDB, AUTO_INCREMENT=100");
		expect(d.changes.join("\n")).toMatch(/ROW_FORMAT=DYNAMIC dropped/);
		expect(
			applied("ALTER TABLE orders CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_uca1400_ai_ci", ctx("mysql"))
				.statements[0],
		).toBe("ALTER TABLE `store`.`orders_v2` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_ai_ci");
	});

	it("maps foreign keys to migrated tables and leaves out the others", () => {
		const d = applied(
			"ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (qty) REFERENCES sel (a) ON DELETE CASCADE, ADD FOREIGN KEY (id) REFERENCES other.t (id), ADD c1 INT REFERENCES orders (note)",
		);
		expect(d.statements[0]).toBe(
			"ALTER TABLE `store`.`orders_v2` ADD CONSTRAINT `fk` FOREIGN KEY IF NOT EXISTS (`qty`) REFERENCES `store`.`sel` (`a`) ON DELETE CASCADE, ADD COLUMN IF NOT EXISTS `c1` INT REFERENCES `store`.`orders_v2` (`remark`)",
		);
		expect(d.warnings.join("\n")).toMatch(/foreign key is not created: it references other\.t/);
	});

	it("warns when existing rows get values each server computes", () => {
		// CURRENT_TIMESTAMP is the source's time at the destination too (replay sets it)
		const d = applied(
			"ALTER TABLE orders ADD created TIMESTAMP DEFAULT CURRENT_TIMESTAMP, ADD token CHAR(36) DEFAULT (UUID()), ADD n INT DEFAULT 0",
		);
		expect(d.warnings).toHaveLength(1);
		expect(d.warnings[0]).toMatch(/column token is filled in existing rows by each server itself/);
	});

	it("renames the table after changing its columns, in one destination statement", () => {
		const context = ctx("mariadb", {
			rules: [
				...RULES.slice(0, 2),
				{ ...(RULES[1] as ObjectRules[number]), table: "orders_old", renameTable: "orders_old" },
			],
		});
		const d = applied("ALTER TABLE orders ADD COLUMN w INT, RENAME TO orders_old", context);
		expect(d.statements).toEqual([
			"ALTER TABLE `store`.`orders_v2` ADD COLUMN IF NOT EXISTS `w` INT, RENAME TO `store`.`orders_old`",
		]);
		expect(d.effects.map((e) => e.kind)).toEqual(["columns-changed", "table-renamed"]);
		const after = applyDdlEffects(MAPPINGS, d.effects).find((m) => m.source.table === "orders_old");
		expect(after).toEqual({
			source: { database: "shop", table: "orders_old" },
			destination: { database: "store", table: "orders_old" },
			columns: [col("id"), col("note", "remark"), col("qty"), col("w")],
		});
		expect(refused("ALTER TABLE tmp_a RENAME TO a").reason).toMatch(
			/^ALTER TABLE shop\.tmp_a RENAME TO shop\.a: it moves a table into the migration/,
		);
		expect(ignored("ALTER TABLE tmp_a ADD COLUMN w INT").reason).toBe(
			"ALTER TABLE shop.tmp_a: the table is not migrated",
		);
	});

	it("refuses partition maintenance, tablespaces, system versioning and ALTER IGNORE ... ADD UNIQUE", () => {
		const partition = refused("ALTER TABLE orders DROP PARTITION p2019");
		expect(partition.reason).toMatch(
			/^ALTER TABLE shop\.orders: DROP PARTITION p2019: partitioning is not carried over/,
		);
		expect(partition.forms).toContain("ALTER TABLE ... partitioning");
		expect(
			refused("ALTER TABLE orders REORGANIZE PARTITION p1 INTO (PARTITION p2 VALUES LESS THAN (5))").forms,
		).toContain("ALTER TABLE ... partitioning");
		expect(refused("ALTER TABLE orders ADD c INT, PARTITION BY HASH(id)").reason).toMatch(/PARTITION BY HASH/);
		expect(refused("ALTER TABLE orders IMPORT TABLESPACE").forms).toContain("ALTER TABLE ... TABLESPACE");
		expect(refused("ALTER TABLE orders ADD SYSTEM VERSIONING").forms).toContain("ALTER TABLE ... SYSTEM VERSIONING");
		expect(refused("ALTER IGNORE TABLE orders ADD UNIQUE KEY (qty)").reason).toMatch(
			/ALTER IGNORE TABLE \.\.\. ADD UNIQUE: the source deletes the rows that duplicate a key value without row events/,
		);
		expect(applied("ALTER IGNORE TABLE orders ADD KEY (qty)").statements[0]).toContain("ADD KEY");
	});

	it("ignores rebuilds and drops no-op clauses from a statement that does more", () => {
		expect(ignored("ALTER TABLE orders FORCE").reason).toMatch(/FORCE: FORCE, ORDER BY/);
		expect(ignored("ALTER TABLE orders FORCE, ALGORITHM=INPLACE, LOCK=NONE").action).toBe("ignore");
		expect(applied("ALTER TABLE orders ADD x INT, ALGORITHM=INSTANT").statements[0]).toBe(
			"ALTER TABLE `store`.`orders_v2` ADD COLUMN IF NOT EXISTS `x` INT",
		);
	});
});

describe("CREATE and DROP INDEX", () => {
	it("become ALTER TABLE on the destination table", () => {
		expect(
			applied("CREATE UNIQUE INDEX uk ON orders (note DESC, qty) USING BTREE COMMENT 'c' ALGORITHM=INPLACE").statements,
		).toEqual([
			"ALTER TABLE `store`.`orders_v2` ADD UNIQUE KEY IF NOT EXISTS `uk` USING BTREE (`remark` DESC, `qty`) COMMENT 'c'",
		]);
		expect(applied("CREATE INDEX ix ON orders (note DESC)", ctx("tidb")).statements[0]).toBe(
			"ALTER TABLE `store`.`orders_v2` ADD KEY `ix` (`remark`)",
		);
		expect(applied("DROP INDEX ix ON shop.orders").statements).toEqual([
			"ALTER TABLE `store`.`orders_v2` DROP INDEX IF EXISTS `ix`",
		]);
		expect(applied("DROP INDEX `PRIMARY` ON plain").statements).toEqual([
			"ALTER TABLE `store`.`plain` DROP PRIMARY KEY",
		]);
		expect(ignored("CREATE INDEX ix ON tmp_a (x)").reason).toBe(
			"CREATE INDEX ix ON shop.tmp_a: the table is not migrated",
		);
		expect(ignored("CREATE INDEX ix ON sel (hidden)").reason).toMatch(
			/index ix is not created: it covers column\(s\) hidden/,
		);
	});
});

describe("databases", () => {
	it("creates, alters and drops databases the rules include, under their destination names", () => {
		expect(
			applied("CREATE DATABASE IF NOT EXISTS shop CHARACTER SET utf8mb4 COLLATE utf8mb4_uca1400_ai_ci", ctx("mysql"))
				.statements,
		).toEqual(["CREATE DATABASE IF NOT EXISTS `store` CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_ai_ci"]);
		expect(ignored("CREATE DATABASE elsewhere").reason).toBe(
			"CREATE DATABASE elsewhere: no rule includes tables of the database",
		);
		expect(applied("ALTER DATABASE CHARACTER SET latin1").statements).toEqual([
			"ALTER DATABASE `store` CHARACTER SET latin1",
		]);
		expect(ignored("ALTER DATABASE shop COMMENT 'x'").reason).toMatch(/other options are ignored/);
		const d = applied("DROP DATABASE shop");
		expect(d.statements).toEqual(["DROP DATABASE IF EXISTS `store`"]);
		expect(applyDdlEffects(MAPPINGS, d.effects)).toEqual([]);
		expect(ignored("DROP DATABASE IF EXISTS elsewhere").reason).toMatch(/not migrated/);
	});

	it("drops only the tables when another source database feeds the same destination database", () => {
		const context = ctx("mariadb", {
			rules: [...RULES, { database: "shop2", table: "*", exclude: false, renameDatabase: "store" }],
		});
		const d = applied("DROP DATABASE shop", context);
		expect(d.statements).toEqual(["DROP TABLE IF EXISTS `store`.`orders_v2`, `store`.`sel`, `store`.`plain`"]);
		expect(d.warnings[0]).toMatch(/store also receives tables from other source databases/);
	});
});

describe("views", () => {
	const plain = ctx("mariadb", { rules: [{ database: "app", table: "*", exclude: false }], mappings: [] });

	it("replays a view when no rule renames what it could read, with the statement's default database", () => {
		const d = applied(
			"CREATE DEFINER=`root`@`localhost` SQL SECURITY DEFINER VIEW v_open AS SELECT id FROM orders WHERE note IS NULL WITH CHECK OPTION",
			plain,
			"app",
		);
		expect(d.statements).toEqual([
			"CREATE OR REPLACE SQL SECURITY INVOKER VIEW `app`.`v_open` AS SELECT id FROM orders WHERE note IS NULL WITH CHECK OPTION",
		]);
		expect(d.useDatabase).toBe("app");
		expect(applied("ALTER ALGORITHM=MERGE VIEW app.v (a) AS SELECT 1", plain, "").statements[0]).toBe(
			"CREATE OR REPLACE ALGORITHM=MERGE SQL SECURITY INVOKER VIEW `app`.`v` (a) AS SELECT 1",
		);
		expect(applied("DROP VIEW IF EXISTS v1, other.v2", plain, "app").statements).toEqual([
			"DROP VIEW IF EXISTS `app`.`v1`",
		]);
	});

	it("refuses a view whose definition the rules' renames would have to rewrite", () => {
		expect(refused("CREATE VIEW v AS SELECT id FROM orders").reason).toBe(
			"CREATE VIEW shop.v: rule #1 renames objects of database shop, and Ferry does not rewrite user-written view definitions: create the view at the destination by hand and skip the statement",
		);
		expect(ignored("CREATE VIEW other.v AS SELECT 1").reason).toMatch(/no rule includes the view/);
	});
});

describe("other statements", () => {
	it("ignores statements without effect on migrated data or schema, saying why", () => {
		expect(ignored("ANALYZE TABLE orders").reason).toMatch(/^ANALYZE TABLE: table maintenance/);
		expect(ignored("OPTIMIZE NO_WRITE_TO_BINLOG TABLE orders").reason).toMatch(/^OPTIMIZE TABLE/);
		expect(ignored("FLUSH TABLES").reason).toMatch(/^FLUSH/);
		expect(ignored("GRANT ALL ON shop.* TO 'app'@'%'").reason).toMatch(/privileges are not migrated/);
		expect(ignored("CREATE USER 'app'@'%' IDENTIFIED BY 'secret'").reason).not.toContain("secret");
		expect(ignored("SET PASSWORD FOR 'app'@'%' = PASSWORD('x')").forms).toEqual([
			"CREATE / ALTER / DROP / RENAME USER and ROLE",
		]);
		expect(ignored("/* nothing but a comment */").reason).toMatch(/empty/);
	});

	it("refuses triggers, routines, events and sequences, naming them (pt-osc's own triggers are ignored)", () => {
		expect(
			refused("CREATE DEFINER=CURRENT_USER TRIGGER shop.t_bi BEFORE INSERT ON orders FOR EACH ROW SET NEW.qty = 1")
				.reason,
		).toMatch(/^CREATE TRIGGER shop\.t_bi: while replay runs, what a trigger changes already arrives as row events/);
		expect(refused("DROP TRIGGER IF EXISTS t_bi").reason).toMatch(/^DROP TRIGGER shop\.t_bi/);
		expect(
			ignored("CREATE TRIGGER `pt_osc_shop_orders_ins` AFTER INSERT ON orders FOR EACH ROW REPLACE INTO x VALUES (1)")
				.reason,
		).toMatch(/pt-online-schema-change/);
		expect(refused("CREATE PROCEDURE p() SELECT 1").reason).toMatch(/^CREATE PROCEDURE: stored routines/);
		expect(refused("DROP FUNCTION IF EXISTS f").forms).toEqual(["CREATE / ALTER / DROP PROCEDURE and FUNCTION"]);
		expect(refused("ALTER EVENT e DISABLE").forms).toEqual(["CREATE / ALTER / DROP EVENT"]);
		expect(refused("CREATE SEQUENCE s").forms).toEqual(["CREATE / ALTER / DROP SEQUENCE"]);
	});

	it("ignores unsupported statements about databases the rules leave out, so other schemas never stop replay", () => {
		expect(ignored("CREATE SEQUENCE `other_db`.s START WITH 10").reason).toMatch(
			/the database other_db is not migrated/,
		);
		expect(ignored("CREATE PROCEDURE elsewhere.p() SELECT 1").reason).toMatch(/elsewhere is not migrated/);
		// the trigger's own name says where it is (found by a switchover of another project)
		expect(ignored("DROP TRIGGER IF EXISTS `other_db`.`t_ai`").reason).toMatch(/other_db is not migrated/);
		expect(
			ignored("CREATE DEFINER=`u`@`h` TRIGGER other_db.t_ai AFTER INSERT ON other_db.t FOR EACH ROW SET @x = 1").reason,
		).toMatch(/other_db is not migrated/);
		expect(refused("CREATE SEQUENCE shop.s").forms).toEqual(["CREATE / ALTER / DROP SEQUENCE"]);
		// a compound body's semicolons are the routine's, not a second statement
		expect(
			ignored("CREATE DEFINER=`u`@`h` PROCEDURE elsewhere.p(IN n INT) BEGIN DECLARE x INT; SET x = n; SELECT x; END")
				.reason,
		).toMatch(/elsewhere is not migrated/);
		expect(refused("CREATE FUNCTION f() RETURNS INT BEGIN DECLARE y INT; RETURN 1; END").reason).toMatch(
			/^CREATE FUNCTION: stored routines/,
		);
		expect(refused("CREATE TABLE k3 (id INT); CREATE PROCEDURE p() SELECT 1").reason).toMatch(
			/more than one statement/,
		);
	});

	it("ignores a statement it cannot read that names no migrated database, so another schema never stops replay", () => {
		const other = (sql: string) => run(sql, ctx(), "elsewhere");
		expect(other('CREATE TABLE "quoted" ("id" INT)')).toMatchObject({
			action: "ignore",
			reason: expect.stringMatching(/cannot read the statement .*names no database the rules migrate/),
		});
		// naming a migrated database, it is refused as before
		expect(other("ALTER TABLE `shop`.orders FROBNICATE").action).toBe("refuse");
	});

	it("never drops a partitioning clause that follows a column or ALGORITHM without a comma", () => {
		const copy = refused("ALTER TABLE orders ADD COLUMN k INT, ALGORITHM=COPY PARTITION BY HASH (id) PARTITIONS 2");
		expect(copy.forms).toContain("ALTER TABLE ... partitioning");
		expect(refused("ALTER TABLE orders ADD COLUMN k INT DEFAULT 7 PARTITION BY HASH (id) PARTITIONS 2").reason).toMatch(
			/unknown attribute of column k at "PARTITION BY/,
		);
	});

	it("refuses what it cannot read, saying where, with the statement", () => {
		const r = refused("ALTER TABLE orders ADD COLUMN 'oops' INT");
		expect(r.reason).toBe(
			"Ferry cannot read the statement (expected a column name at \"'oops' INT\"): apply what the destination needs by hand and skip the statement",
		);
		expect(r.statement).toBe("ALTER TABLE orders ADD COLUMN 'oops' INT");
		expect(refused("ALTER TABLE orders ADD COLUMN k INT; DROP TABLE orders").reason).toMatch(/more than one statement/);
		expect(refused("ALTER TABLE `orders ADD x INT").reason).toMatch(/a quoted name is not closed/);
		expect(refused("ALTER TABLE orders ADD x INT", ctx(), "").reason).toMatch(
			/table orders is not qualified and the statement ran without a default database/,
		);
		expect(refused("LOAD INDEX INTO CACHE orders").reason).toMatch(
			/^LOAD INDEX INTO: Ferry does not recognise the statement/,
		);
	});
});
