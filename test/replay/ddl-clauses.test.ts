import { describe, expect, it } from "vitest";
import type { QuerySession } from "../../shared/capture/session.ts";
import { type DdlDecision, translateDdl } from "../../shared/ddl/translate.ts";
import type { TableMapping } from "../../shared/model/rules.ts";

/**
 * How the clauses of one ALTER TABLE relate (issue 11): IF [NOT] EXISTS is checked by MariaDB
 * against the table before the statement, so it goes only on clauses whose name no earlier
 * clause changed; names keep their letter case; the statement is read in the source session's
 * lexical sql_mode. The project migrates `shop` as `shop` (same names), table `x (id, a, b,
 * c1, c2, note, status, amount)`.
 */

const COLUMNS = ["id", "a", "b", "c1", "c2", "note", "status", "amount"];
const MAPPING: TableMapping = {
	source: { database: "shop", table: "x" },
	destination: { database: "shop", table: "x" },
	columns: COLUMNS.map((c) => ({ source: c, destination: c })),
};

function translate(sql: string, session?: QuerySession): DdlDecision {
	return translateDdl(
		{ kind: "ddl", database: "shop", sql, ...(session ? { session } : {}) },
		{ rules: [{ database: "shop", table: "*", exclude: false }], mappings: [MAPPING], destinationEngine: "mariadb" },
	);
}

function statement(sql: string, session?: QuerySession): string {
	const d = translate(sql, session);
	if (d.action !== "apply") throw new Error(`expected apply, got ${d.action}: ${d.reason}`);
	expect(d.statements).toHaveLength(1);
	return d.statements[0] as string;
}

describe("IF [NOT] EXISTS on ALTER TABLE clauses", () => {
	it("is left off a clause whose name an earlier clause drops, renames or adds", () => {
		expect(statement("ALTER TABLE x DROP INDEX ix, ADD UNIQUE INDEX ix (a, b)")).toBe(
			"ALTER TABLE `shop`.`x` DROP INDEX IF EXISTS `ix`, ADD UNIQUE KEY `ix` (`a`, `b`)",
		);
		expect(statement("ALTER TABLE x RENAME INDEX ix TO ix_old, ADD INDEX ix (a)")).toBe(
			"ALTER TABLE `shop`.`x` RENAME INDEX `ix` TO `ix_old`, ADD KEY `ix` (`a`)",
		);
		expect(statement("ALTER TABLE x DROP COLUMN c1, ADD COLUMN c1 INT NOT NULL DEFAULT 47")).toBe(
			"ALTER TABLE `shop`.`x` DROP COLUMN IF EXISTS `c1`, ADD COLUMN `c1` INT NOT NULL DEFAULT 47",
		);
		expect(statement("ALTER TABLE x CHANGE note note_old TEXT, ADD COLUMN note TEXT")).toBe(
			"ALTER TABLE `shop`.`x` CHANGE COLUMN IF EXISTS `note` `note_old` TEXT, ADD COLUMN `note` TEXT",
		);
		expect(statement("ALTER TABLE x DROP FOREIGN KEY fk, ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES x (id)")).toBe(
			"ALTER TABLE `shop`.`x` DROP FOREIGN KEY IF EXISTS `fk`, ADD CONSTRAINT `fk` FOREIGN KEY (`a`) REFERENCES `shop`.`x` (`id`)",
		);
	});

	it("is kept where the name is untouched, and never written on an unnamed key (the server names it a_2 when a is taken)", () => {
		expect(statement("ALTER TABLE x ADD INDEX ix (a), DROP COLUMN b, ADD INDEX (status, amount)")).toBe(
			"ALTER TABLE `shop`.`x` ADD KEY IF NOT EXISTS `ix` (`a`), DROP COLUMN IF EXISTS `b`, ADD KEY (`status`, `amount`)",
		);
	});

	it("is left off CREATE OR REPLACE INDEX, whose DROP frees the name", () => {
		expect(statement("CREATE OR REPLACE INDEX ix ON x (a)")).toBe(
			"ALTER TABLE `shop`.`x` DROP INDEX IF EXISTS `ix`, ADD KEY `ix` (`a`)",
		);
	});

	it("marks ALTER and RENAME TABLE as not repeatable, for replay's journal", () => {
		const alter = translate("ALTER TABLE x ADD COLUMN d INT");
		expect(alter.action === "apply" && alter.guards).toEqual([[{ database: "shop", table: "x" }]]);
		const rename = translate("RENAME TABLE x TO y");
		expect(rename.action === "apply" && rename.guards).toEqual([
			[
				{ database: "shop", table: "x" },
				{ database: "shop", table: "y" },
			],
		]);
	});
});

describe("names", () => {
	it("follows a change of a column's letter case (MODIFY, CHANGE, RENAME COLUMN)", () => {
		expect(statement("ALTER TABLE x MODIFY C2 BIGINT")).toBe(
			"ALTER TABLE `shop`.`x` CHANGE COLUMN IF EXISTS `c2` `C2` BIGINT",
		);
		expect(statement("ALTER TABLE x CHANGE status Status VARCHAR(20)")).toBe(
			"ALTER TABLE `shop`.`x` CHANGE COLUMN IF EXISTS `status` `Status` VARCHAR(20)",
		);
		const d = translate("ALTER TABLE x RENAME COLUMN note TO Note");
		expect(d.action === "apply" && d.statements).toEqual(["ALTER TABLE `shop`.`x` RENAME COLUMN `note` TO `Note`"]);
		expect(d.action === "apply" && d.effects[0]).toMatchObject({
			kind: "columns-changed",
			changes: [{ change: "renamed", from: "note", column: { source: "Note", destination: "Note" } }],
		});
	});

	it("swaps two columns, which only clash halfway through the statement", () => {
		const d = translate("ALTER TABLE x CHANGE a b INT, CHANGE b a INT");
		expect(d.action === "apply" && d.statements).toEqual([
			"ALTER TABLE `shop`.`x` CHANGE COLUMN IF EXISTS `a` `b` INT, CHANGE COLUMN `b` `a` INT",
		]);
	});

	it("names a foreign key after its symbol, not its index name (MariaDB swaps them with foreign_key_checks off)", () => {
		expect(statement("ALTER TABLE x ADD CONSTRAINT fk_c FOREIGN KEY fk_idx (a) REFERENCES x (id)")).toBe(
			"ALTER TABLE `shop`.`x` ADD CONSTRAINT `fk_c` FOREIGN KEY IF NOT EXISTS (`a`) REFERENCES `shop`.`x` (`id`)",
		);
	});

	it("names a key after its CONSTRAINT symbol", () => {
		expect(statement("ALTER TABLE x ADD CONSTRAINT uk UNIQUE (a)")).toBe(
			"ALTER TABLE `shop`.`x` ADD UNIQUE KEY IF NOT EXISTS `uk` (`a`)",
		);
	});

	it("ignores an ALTER TABLE that names no change", () => {
		const d = translate("ALTER TABLE x");
		expect(d.action).toBe("ignore");
		expect(d.action === "ignore" && d.reason).toBe(
			"ALTER TABLE shop.x: the statement names no change, so it does nothing",
		);
	});
});

describe("the source session's lexical sql_mode", () => {
	it("reads backslashes as characters under NO_BACKSLASH_ESCAPES and writes them escaped", () => {
		expect(
			statement("ALTER TABLE x ADD COLUMN p VARCHAR(20) DEFAULT 'C:\\new' COMMENT 'it''s'", {
				sqlMode: ["NO_BACKSLASH_ESCAPES"],
			}),
		).toBe("ALTER TABLE `shop`.`x` ADD COLUMN IF NOT EXISTS `p` VARCHAR(20) DEFAULT 'C:\\\\new' COMMENT 'it\\'s'");
	});

	it("reads double quotes as names under ANSI_QUOTES", () => {
		expect(statement('ALTER TABLE "x" ADD COLUMN "new col" INT DEFAULT 3', { sqlMode: ["ANSI_QUOTES"] })).toBe(
			"ALTER TABLE `shop`.`x` ADD COLUMN IF NOT EXISTS `new col` INT DEFAULT 3",
		);
	});

	it("refuses a statement written under sql_mode=ORACLE", () => {
		const d = translate("ALTER TABLE x ADD COLUMN d INT", { sqlMode: ["ORACLE", "PIPES_AS_CONCAT"] });
		expect(d.action).toBe("refuse");
		expect(d.action === "refuse" && d.reason).toMatch(/sql_mode=ORACLE/);
	});
});
