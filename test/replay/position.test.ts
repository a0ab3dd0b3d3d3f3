import { describe, expect, it } from "vitest";
import { conflictKeys, foldText } from "../../shared/replay/literals.ts";
import { compareFilePositions, hasReached, includesTransaction } from "../../shared/replay/position.ts";

const at = (gtid: string, file = "binlog.000001", pos = 4) => ({ gtid, file, pos });

describe("source positions", () => {
	it("compares MariaDB GTID positions per domain", () => {
		expect(hasReached(at("0-1-100"), at("0-1-100"))).toBe(true);
		expect(hasReached(at("0-1-99"), at("0-1-100"))).toBe(false);
		// Another server id in the same domain still counts by sequence number.
		expect(hasReached(at("0-2-101"), at("0-1-100"))).toBe(true);
		expect(hasReached(at("0-1-100,1-1-5"), at("0-1-100,1-1-6"))).toBe(false);
		expect(hasReached(at("1-1-6,0-1-100"), at("0-1-100,1-1-6"))).toBe(true);
		// A domain the position does not have yet.
		expect(hasReached(at("0-1-100"), at("0-1-100,2-1-1"))).toBe(false);
		expect(hasReached(null, at("0-1-1"))).toBe(false);
	});

	it("compares MySQL GTID sets by containment", () => {
		const u = "3E11FA47-71CA-11E1-9E33-C80AA9429562";
		expect(hasReached(at(`${u}:1-100`), at(`${u.toLowerCase()}:1-50`))).toBe(true);
		expect(hasReached(at(`${u}:1-40:42-100`), at(`${u}:1-50`))).toBe(false);
		expect(includesTransaction(at(`${u}:1-100`), `${u}:77`)).toBe(true);
		expect(includesTransaction(at(`${u}:1-100`), `${u}:101`)).toBe(false);
	});

	it("falls back to binlog file and offset without GTIDs", () => {
		expect(compareFilePositions(at("", "binlog.000010", 4), at("", "binlog.000009", 900))).toBeGreaterThan(0);
		expect(hasReached(at("", "binlog.000002", 100), at("", "binlog.000002", 100))).toBe(true);
		expect(hasReached(at("", "binlog.000002", 99), at("", "binlog.000002", 100))).toBe(false);
	});

	it("knows which transactions a checkpoint covers", () => {
		expect(includesTransaction(at("0-1-100,1-1-7"), "1-1-7")).toBe(true);
		expect(includesTransaction(at("0-1-100,1-1-7"), "1-1-8")).toBe(false);
		expect(includesTransaction(at("0-1-100"), "3-1-1")).toBe(false);
		expect(includesTransaction(at("0-1-100"), undefined)).toBe(false);
		expect(includesTransaction(null, "0-1-1")).toBe(false);
	});
});

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
