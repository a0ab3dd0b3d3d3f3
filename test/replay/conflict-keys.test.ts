import { describe, expect, it } from "vitest";
import { conflictKeys, foldText } from "../../shared/replay/literals.ts";

describe("conflict keys", () => {
	it("fold text at least as much as common collations do", () => {
		expect(foldText("Ärger  ")).toBe(foldText("arger"));
		expect(foldText("STRASSE")).toBe(foldText("straße"));
		expect(foldText("a\u0001b")).toBe(foldText("ab"));
	});

	it("cover every unique key, skip NULLs, and serialise tables without key", () => {
		const col = (name: string, kind: "integer" | "other" = "other") => ({
			source: name,
			destination: name,
			quoted: `\`${name}\``,
			dataType: kind === "integer" ? "int" : "varchar",
			kind,
			fold: true,
			laxEnum: false,
		});
		const id = col("id", "integer");
		const email = col("email");
		const base = {
			mapping: { source: { database: "d", table: "t" }, destination: { database: "d", table: "t" }, columns: [] },
			quoted: "`d`.`t`",
			label: "d.t -> d.t",
			columns: [id, email],
			keyName: "PRIMARY",
			opaqueUniqueKey: false,
			keepUnmapped: false,
			columnList: "(`id`, `email`)",
		};
		const keyed = {
			...base,
			key: [id],
			uniqueKeys: [
				{ name: "PRIMARY", columns: [id], prefixes: [null] },
				{ name: "email", columns: [email], prefixes: [null] },
			],
		};
		const a = new Set<string>();
		conflictKeys(keyed, { id: 1, email: "A@x " }, a);
		const b = new Set<string>();
		conflictKeys(keyed, { id: 2, email: "a@X" }, b);
		expect(a.size).toBe(2);
		expect([...a].some((k) => b.has(k))).toBe(true);
		const c = new Set<string>();
		conflictKeys(keyed, { id: 3, email: null }, c);
		expect(c.size).toBe(1);
		const none = new Set<string>();
		conflictKeys({ ...base, key: null, uniqueKeys: [] }, { id: 1, email: "x" }, none);
		expect([...none]).toEqual(["d\u0000t\u0001*"]);
	});
});
