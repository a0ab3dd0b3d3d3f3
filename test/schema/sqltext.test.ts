import { describe, expect, it } from "vitest";
import { nameChains, quotedNames, renameQuoted, tokenize, unquoteStringLiteral } from "../../shared/schema/sqltext.ts";

describe("SQL text helpers", () => {
	it("tokenizes losslessly", () => {
		const sql = "select `a``b`.`c` AS `x`, 'it''s `no`' , \"q\\\"`r`\" -- c\n/* `d` */ # e\nfrom t";
		expect(
			tokenize(sql)
				.map((t) => t.text)
				.join(""),
		).toBe(sql);
	});

	it("renames only quoted identifiers, never text in strings or comments", () => {
		const sql = "`a` + 1 > 'a `a`' AND `a``b` <> \"`a`\" /* `a` */";
		expect(renameQuoted(sql, (n) => (n === "a" ? "x" : n === "a`b" ? "y`z" : undefined))).toBe(
			"`x` + 1 > 'a `a`' AND `y``z` <> \"`a`\" /* `a` */",
		);
		expect([...quotedNames(sql)]).toEqual(["a", "a`b"]);
	});

	it("finds qualified names", () => {
		const chains = nameChains(tokenize("select `db`.`t`.`c`, `a`.`b` from `db`.`t` `a`"));
		expect(chains.map((c) => c.parts)).toEqual([["db", "t", "c"], ["a", "b"], ["db", "t"], ["a"]]);
	});

	it("reads MariaDB's quoting of default literals", () => {
		expect(unquoteStringLiteral("'it''s \\\\ x\\n\\0'")).toBe("it's \\ x\n\0");
	});

	it("flags what is not closed", () => {
		expect(tokenize("'abc").at(-1)?.unterminated).toBe(true);
		expect(tokenize("`abc").at(-1)?.unterminated).toBe(true);
		expect(tokenize("/* abc").at(-1)?.unterminated).toBe(true);
	});
});
