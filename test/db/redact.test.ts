import { describe, expect, it } from "vitest";
import { redactSql } from "../../shared/db/sql.ts";

describe("redactSql keeps passwords out of logs and state", () => {
	it.each([
		["CREATE USER 'a'@'%' IDENTIFIED BY 's3cr3t'", "CREATE USER 'a'@'%' IDENTIFIED BY '***'"],
		[
			"ALTER USER a IDENTIFIED WITH mysql_native_password BY 'it''s'",
			"ALTER USER a IDENTIFIED WITH mysql_native_password BY '***'",
		],
		["SET PASSWORD FOR a = PASSWORD('x\\'y')", "SET PASSWORD FOR a = PASSWORD('***')"],
		["CREATE USER b IDENTIFIED VIA ed25519 USING PASSWORD('pw')", "CREATE USER b IDENTIFIED VIA ed25519 USING '***'"],
		['GRANT ALL ON *.* TO c IDENTIFIED BY "dq"', "GRANT ALL ON *.* TO c IDENTIFIED BY '***'"],
	])("%s", (sql, expected) => {
		expect(redactSql(sql)).toBe(expected);
		expect(redactSql(sql)).not.toMatch(/s3cr3t|it''s|x\\'y|'pw'|dq/);
	});

	it("leaves other statements alone", () => {
		const sql = "ALTER TABLE t ADD COLUMN password VARCHAR(10) DEFAULT 'identified by'";
		expect(redactSql(sql)).toBe(sql);
	});
});
