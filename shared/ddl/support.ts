/**
 * What DDL replay does with each statement form: the single source of truth for the documented
 * list (docs render it) and for the reasons replay gives when it ignores or refuses a statement.
 *
 * - supported: applied at the destination, converted to its dialect, with the project's renames,
 *   column selection and filters; `note` says how and when a statement of the form is still
 *   refused.
 * - ignored: skipped; the statement has no effect on migrated data or schema.
 * - refused: stops replay with a ticket naming the statement and why; the ticket can be
 *   skipped once the user has done by hand what the destination needs.
 *
 * `example` is a statement of the form, read against a source database `shop` whose table
 * `orders (id, note)` is migrated by the rule `{ database: "shop" }`; the tests check that every
 * example gets the treatment its entry states.
 */

export type DdlSupport = "supported" | "ignored" | "refused";

export interface DdlSupportEntry {
	support: DdlSupport;
	note: string;
	example: string;
	/**
	 * What a row-based binlog holds for `example` when the source logs it as another statement
	 * (and the form that statement has): `support` is what replay does with that.
	 */
	loggedAs?: { sql: string; form: string };
}

export const SUPPORTED_DDL = {
	"CREATE DATABASE": {
		support: "supported",
		note: "when a rule includes tables of the database: created at the destination under the rule's renameDatabase, IF NOT EXISTS, character set and collation converted; otherwise ignored",
		example: "CREATE DATABASE IF NOT EXISTS shop CHARACTER SET utf8mb4",
	},
	"ALTER DATABASE": {
		support: "supported",
		note: "default character set and collation, converted, when a rule includes tables of the database; other options are ignored",
		example: "ALTER DATABASE shop DEFAULT CHARACTER SET utf8mb4",
	},
	"DROP DATABASE": {
		support: "supported",
		note: "drops the database's migrated tables at the destination, and the destination database itself when no other source database or rule feeds it",
		example: "DROP DATABASE shop",
	},
	"CREATE TABLE": {
		support: "supported",
		note: "when a rule includes the table: columns, types, character sets, indexes, checks and table options converted to the destination dialect, the rule's renames and column selection applied (indexes and checks on left-out columns are not created; a left-out primary-key column is refused); partitioning and DATA/INDEX DIRECTORY are not carried over; written IF NOT EXISTS",
		example: "CREATE TABLE shop.customers (id INT PRIMARY KEY, name VARCHAR(50))",
	},
	"CREATE OR REPLACE TABLE": {
		support: "supported",
		note: "MariaDB's form: written as DROP TABLE IF EXISTS and CREATE TABLE, so any destination takes it",
		example: "CREATE OR REPLACE TABLE shop.customers (id INT PRIMARY KEY)",
	},
	"CREATE TABLE ... LIKE": {
		support: "supported",
		note: "when the original table is migrated and the new table's rule selects, renames and filters columns the same way (then the destination copy has the right columns); otherwise refused: create the table at the destination by hand and skip the statement",
		example: "CREATE TABLE shop.orders_copy LIKE shop.orders",
	},
	"CREATE TABLE ... SELECT": {
		support: "supported",
		note: "a row-based binlog (the only kind capture reads) holds it as a CREATE TABLE with the resulting columns, then the rows as row events, in one transaction: replay creates the table as for CREATE TABLE and inserts the rows; a statement that still holds its SELECT (only a statement-based binlog would) is refused, since running it at the destination would insert the rows twice",
		example: "CREATE TABLE shop.summary AS SELECT id FROM shop.orders",
		loggedAs: { sql: "CREATE TABLE `shop`.`summary` (`id` int(11) NOT NULL)", form: "CREATE TABLE" },
	},
	"CREATE TEMPORARY TABLE": {
		support: "ignored",
		note: "temporary tables are session-private and never migrated",
		example: "CREATE TEMPORARY TABLE shop.scratch (id INT)",
	},
	"DROP TABLE": {
		support: "supported",
		note: "the migrated tables of the statement are dropped at the destination (IF EXISTS); the others are ignored",
		example: "DROP TABLE IF EXISTS shop.orders, shop.not_there",
	},
	"DROP TEMPORARY TABLE": {
		support: "ignored",
		note: "temporary tables are session-private and never migrated",
		example: "DROP TEMPORARY TABLE IF EXISTS shop.scratch",
	},
	"RENAME TABLE": {
		support: "supported",
		note: "each pair in order, in one destination statement; refused when a pair moves a table into the migration (its rows were never copied) or out of it, or between rules that select, rename or filter columns differently",
		example: "RENAME TABLE shop.orders TO shop.orders_2024",
	},
	"TRUNCATE TABLE": {
		support: "supported",
		note: "the destination table is truncated too (the rows it removes do not arrive as row events)",
		example: "TRUNCATE TABLE shop.orders",
	},
	"ALTER TABLE ... ADD COLUMN": {
		support: "supported",
		note: "added at the destination (renamed by the rule, type converted) when the rule selects all columns or names the column; otherwise the column is left out like at the start; FIRST/AFTER kept where the anchor column is migrated; a warning when existing rows get values each server computes itself (AUTO_INCREMENT, expression defaults)",
		example: "ALTER TABLE shop.orders ADD COLUMN total DECIMAL(10,2) NOT NULL DEFAULT 0 AFTER id",
	},
	"ALTER TABLE ... DROP COLUMN": {
		support: "supported",
		note: "dropped at the destination when migrated; refused when the rule's row filter reads the column",
		example: "ALTER TABLE shop.orders DROP COLUMN note",
	},
	"ALTER TABLE ... MODIFY COLUMN": {
		support: "supported",
		note: "definition converted to the destination dialect; includes column comments, defaults, character sets, NULL/NOT NULL, positions; MODIFY with a new letter case renames the column as at the source",
		example: "ALTER TABLE shop.orders MODIFY note VARCHAR(200) NULL COMMENT 'free text'",
	},
	"ALTER TABLE ... CHANGE COLUMN": {
		support: "supported",
		note: "like MODIFY, and a rename of a migrated column follows the rule (renameColumns applies to the new name), a new letter case too; columns may swap names in one statement; refused when the rule selects columns by name or its row filter reads the column, since the rule would no longer describe the table",
		example: "ALTER TABLE shop.orders CHANGE note remark VARCHAR(100)",
	},
	"ALTER TABLE ... RENAME COLUMN": {
		support: "supported",
		note: "as for CHANGE COLUMN",
		example: "ALTER TABLE shop.orders RENAME COLUMN note TO remark",
	},
	"ALTER TABLE ... ALTER COLUMN": {
		support: "supported",
		note: "SET DEFAULT, DROP DEFAULT, SET VISIBLE/INVISIBLE on migrated columns",
		example: "ALTER TABLE shop.orders ALTER COLUMN note SET DEFAULT 'none'",
	},
	"ALTER TABLE ... ADD INDEX": {
		support: "supported",
		note: "INDEX, KEY, UNIQUE, FULLTEXT and SPATIAL, converted (visibility keyword, descending parts); an unnamed one gets its name from the destination server as from the source (a_2 when a is taken), `CONSTRAINT c UNIQUE` is named c; an index on a left-out column or one the destination cannot build is not created, with a warning",
		example: "ALTER TABLE shop.orders ADD INDEX ix_note (note(10))",
	},
	"ALTER TABLE ... DROP INDEX": {
		support: "supported",
		note: "DROP INDEX and DROP KEY (IF EXISTS on MariaDB destinations, so an index never created is no error there, unless an earlier clause of the statement changes that name: MariaDB checks IF EXISTS against the table before the statement)",
		example: "ALTER TABLE shop.orders DROP INDEX ix_note",
	},
	"ALTER TABLE ... RENAME INDEX": {
		support: "supported",
		note: "RENAME INDEX and RENAME KEY",
		example: "ALTER TABLE shop.orders RENAME INDEX ix_note TO ix_remark",
	},
	"ALTER TABLE ... ALTER INDEX": {
		support: "supported",
		note: "visibility: MariaDB's IGNORED and MySQL's INVISIBLE are written the destination's way",
		example: "ALTER TABLE shop.orders ALTER INDEX ix_note IGNORED",
	},
	"ALTER TABLE ... ADD PRIMARY KEY": {
		support: "supported",
		note: "refused when the table has a row filter (rows are matched by key between the filtered copy and replay) or the key covers a column the rule leaves out",
		example: "ALTER TABLE shop.orders ADD PRIMARY KEY (id)",
	},
	"ALTER TABLE ... DROP PRIMARY KEY": {
		support: "supported",
		note: "refused when the table has a row filter",
		example: "ALTER TABLE shop.orders DROP PRIMARY KEY",
	},
	"ALTER TABLE ... ADD FOREIGN KEY": {
		support: "supported",
		note: "with renamed tables and columns; named after its CONSTRAINT symbol as at the source (an index name beside it is left out: MariaDB with foreign-key checks off, as replay runs, would name the constraint after it); not created, with a warning, when it references a table or column that is not migrated",
		example: "ALTER TABLE shop.orders ADD CONSTRAINT fk_self FOREIGN KEY (id) REFERENCES shop.orders (id)",
	},
	"ALTER TABLE ... DROP FOREIGN KEY": {
		support: "supported",
		note: "IF EXISTS on MariaDB destinations",
		example: "ALTER TABLE shop.orders DROP FOREIGN KEY fk_self",
	},
	"ALTER TABLE ... ADD CHECK": {
		support: "supported",
		note: "ADD [CONSTRAINT name] CHECK (...), columns renamed; not created, with a warning, when it reads a left-out column or is NOT ENFORCED (MySQL) and the destination is MariaDB, which enforces every check; MySQL's ALTER CHECK ... [NOT] ENFORCED is refused for MariaDB",
		example: "ALTER TABLE shop.orders ADD CONSTRAINT positive CHECK (id > 0)",
	},
	"ALTER TABLE ... DROP CONSTRAINT": {
		support: "supported",
		note: "DROP CONSTRAINT and DROP CHECK",
		example: "ALTER TABLE shop.orders DROP CONSTRAINT positive",
	},
	"ALTER TABLE ... table options": {
		support: "supported",
		note: "COMMENT, AUTO_INCREMENT, ENGINE, default character set and collation, ROW_FORMAT and the like, converted to the destination dialect (options the destination does not keep are dropped)",
		example: "ALTER TABLE shop.orders COMMENT = 'orders of the shop'",
	},
	"ALTER TABLE ... CONVERT TO CHARACTER SET": {
		support: "supported",
		note: "character set and collation converted to the destination dialect",
		example: "ALTER TABLE shop.orders CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
	},
	"ALTER TABLE ... RENAME TO": {
		support: "supported",
		note: "as for RENAME TABLE",
		example: "ALTER TABLE shop.orders RENAME TO shop.orders_old",
	},
	"ALTER TABLE ... FORCE": {
		support: "ignored",
		note: "FORCE, ORDER BY, ENABLE/DISABLE KEYS, ALGORITHM, LOCK, WITH/WITHOUT VALIDATION: no effect on the destination's data or schema (dropped from a statement that does more)",
		example: "ALTER TABLE shop.orders FORCE, ALGORITHM=INPLACE",
	},
	"ALTER TABLE ... partitioning": {
		support: "refused",
		note: "partitioning is not carried over, and partition maintenance (ADD, DROP, TRUNCATE, REORGANIZE, EXCHANGE, COALESCE ... PARTITION, PARTITION BY, REMOVE PARTITIONING) can remove or move rows without row events: apply the equivalent at the destination by hand and skip the statement",
		example: "ALTER TABLE shop.orders DROP PARTITION p2019",
	},
	"ALTER TABLE ... TABLESPACE": {
		support: "refused",
		note: "DISCARD and IMPORT TABLESPACE replace the table's rows without row events",
		example: "ALTER TABLE shop.orders DISCARD TABLESPACE",
	},
	"ALTER TABLE ... SYSTEM VERSIONING": {
		support: "refused",
		note: "system-versioned tables and application-time periods are not migrated",
		example: "ALTER TABLE shop.orders ADD SYSTEM VERSIONING",
	},
	"ALTER IGNORE TABLE": {
		support: "supported",
		note: "like ALTER TABLE, but refused when it adds a unique or primary key: the source then deletes duplicate rows without row events",
		example: "ALTER IGNORE TABLE shop.orders ADD INDEX ix_note (note)",
	},
	"CREATE INDEX": {
		support: "supported",
		note: "as ALTER TABLE ... ADD INDEX",
		example: "CREATE UNIQUE INDEX uk_note ON shop.orders (note)",
	},
	"DROP INDEX": {
		support: "supported",
		note: "as ALTER TABLE ... DROP INDEX (DROP INDEX `PRIMARY` as DROP PRIMARY KEY)",
		example: "DROP INDEX ix_note ON shop.orders",
	},
	"CREATE VIEW": {
		support: "supported",
		note: "also CREATE OR REPLACE VIEW and ALTER VIEW, when a rule includes the view's name: the DEFINER is dropped and the view runs as SQL SECURITY INVOKER (as in schema migration), and the definition runs with the statement's default database; refused when the rules rename a database, table or column the definition could read, since user-written definitions are not rewritten",
		example: "CREATE VIEW shop.open_orders AS SELECT id FROM orders WHERE note IS NULL",
	},
	"DROP VIEW": {
		support: "supported",
		note: "the views a rule includes are dropped at the destination (IF EXISTS)",
		example: "DROP VIEW IF EXISTS shop.open_orders",
	},
	"ANALYZE / OPTIMIZE / CHECK / REPAIR TABLE": {
		support: "ignored",
		note: "table maintenance: no effect on the destination's data or schema (run it at the destination if wanted)",
		example: "ANALYZE TABLE shop.orders",
	},
	FLUSH: {
		support: "ignored",
		note: "server caches and logs: no effect on migrated data or schema",
		example: "FLUSH PRIVILEGES",
	},
	"GRANT / REVOKE": {
		support: "ignored",
		note: "privileges are not migrated: grant them at the destination before switchover",
		example: "GRANT SELECT ON shop.* TO 'reporting'@'%'",
	},
	"CREATE / ALTER / DROP / RENAME USER and ROLE": {
		support: "ignored",
		note: "accounts and roles (also SET PASSWORD, SET DEFAULT ROLE) are not migrated: create them at the destination before switchover",
		example: "CREATE USER 'reporting'@'%' IDENTIFIED BY 'secret'",
	},
	"INSTALL / UNINSTALL PLUGIN": {
		support: "ignored",
		note: "server configuration, not migrated",
		example: "INSTALL SONAME 'ha_blackhole'",
	},
	"CREATE / ALTER / DROP SERVER, TABLESPACE, LOGFILE GROUP": {
		support: "ignored",
		note: "server-level storage and connection definitions, not migrated",
		example: "CREATE SERVER remote FOREIGN DATA WRAPPER mysql OPTIONS (HOST 'h')",
	},
	"CREATE / DROP TRIGGER": {
		support: "refused",
		note: "while replay runs, what a trigger changes already arrives as row events, so a trigger at the destination would apply it twice: create it at the destination at switchover and skip the statement; the triggers pt-online-schema-change adds and removes (pt_osc_*) are ignored",
		example: "CREATE TRIGGER shop.t_bi BEFORE INSERT ON shop.orders FOR EACH ROW SET NEW.note = 'x'",
	},
	"CREATE / ALTER / DROP PROCEDURE and FUNCTION": {
		support: "refused",
		note: "stored routines are migrated with the schema (finalize step), but a change made while replay runs is not: make it at the destination by hand (without DEFINER, SQL SECURITY INVOKER, as the schema migration creates routines) and skip the statement",
		example: "CREATE PROCEDURE shop.p() SELECT 1",
	},
	"CREATE / ALTER / DROP EVENT": {
		support: "refused",
		note: "events are migrated with the schema, disabled until switchover, since an event running at the destination would change rows that replay also brings; a change made while replay runs is not: make it at the destination by hand, keeping the event disabled (the switchover enables the events enabled at the source), and skip the statement",
		example: "CREATE EVENT shop.e ON SCHEDULE EVERY 1 DAY DO DELETE FROM shop.orders",
	},
	"CREATE / ALTER / DROP SEQUENCE": {
		support: "refused",
		note: "MariaDB sequences are not migrated: create the sequence at the destination by hand and skip the statement",
		example: "CREATE SEQUENCE shop.s",
	},
	"other statements": {
		support: "refused",
		note: "Ferry does not recognise the statement: apply what the destination needs by hand and skip the statement",
		example: "IMPORT TABLE FROM '/var/lib/mysql-files/orders.sdi'",
	},
} as const satisfies Record<string, DdlSupportEntry>;

export type DdlForm = keyof typeof SUPPORTED_DDL;
