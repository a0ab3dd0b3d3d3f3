import type { RowDataPacket } from "mysql2";
import { describe, expect, it } from "vitest";
import type { TransactionPart } from "../../shared/capture/change.ts";
import { Applier } from "../../shared/replay/applier.ts";
import type { Inconsistency } from "../../shared/replay/statements.ts";
import { applierFixture, identity, ins, Stream, upd } from "./helpers.ts";

/*
 * ENUM's error value (index 0, '' as capture gives it; 0 from a change feed without member
 * lists) replayed into MariaDB, whose strict mode refuses it for an ENUM without a '' member:
 * every kind of statement that writes it does, and the statements around it stay strict.
 */

describe("replaying ENUM's error value", () => {
	const fx = applierFixture("replay_enum");
	const { t, mappings, options } = fx;
	/** Safe mode for every transaction of a stream (its positions stay below). */
	const SAFE = { safeUntil: { gtid: "0-1-1000000", file: "", pos: 0 } };

	/** `name`'s rows as `id` (or `a`) -> ENUM index. */
	async function indexes(name: string, key = "id"): Promise<Record<string, number>> {
		const [r] = await fx.dst.query<RowDataPacket[]>(`SELECT ${key} AS k, e + 0 AS i FROM ${name} ORDER BY ${key}`);
		return Object.fromEntries(r.map((x) => [String(x.k), Number(x.i)]));
	}

	async function apply(stream: string, parts: TransactionPart[], extra = {}): Promise<Inconsistency[]> {
		const issues: Inconsistency[] = [];
		const applier = new Applier(options(stream, { onInconsistency: (x) => issues.push(x), ...extra }));
		try {
			await applier.run(parts);
		} finally {
			await applier.close();
		}
		return issues;
	}

	for (const mode of ["safe", "exact"] as const) {
		it(`writes it with every statement kind, in ${mode} mode`, async () => {
			const enumType = "ENUM('red','green') NOT NULL";
			// keyed (compacted REPLACE or UPDATE), without key (INSERT / insert-if-absent, whole-image match),
			// and with a destination-only column (IODKU)
			await fx.dst.query(`CREATE TABLE k_${mode} (id INT PRIMARY KEY, e ${enumType}, v VARCHAR(8))`);
			await fx.dst.query(`CREATE TABLE n_${mode} (a INT, e ${enumType})`);
			await fx.dst.query(`CREATE TABLE u_${mode} (id INT PRIMARY KEY, e ${enumType}, extra INT DEFAULT 7)`);
			mappings.set(`k_${mode}`, identity(t(`k_${mode}`), ["id", "e", "v"]));
			mappings.set(`n_${mode}`, identity(t(`n_${mode}`), ["a", "e"]));
			mappings.set(`u_${mode}`, identity(t(`u_${mode}`), ["id", "e"]));
			const [k, n, u] = [t(`k_${mode}`), t(`n_${mode}`), t(`u_${mode}`)];
			const s = new Stream();
			const parts = [
				s.tx(
					ins(k, { id: 1, e: "", v: "a" }),
					ins(k, { id: 2, e: "red", v: "b" }),
					ins(n, { a: 1, e: "" }),
					ins(n, { a: 2, e: "red" }),
					ins(u, { id: 1, e: "" }),
					ins(u, { id: 2, e: "red" }),
				),
				// a group of its own: the updates meet the rows above at the destination
				s.tx(
					upd(k, { id: 2, e: "red", v: "b" }, { id: 2, e: 0, v: "b" }),
					upd(n, { a: 2, e: "red" }, { a: 2, e: "" }),
					upd(u, { id: 2, e: "red" }, { id: 2, e: "" }),
					upd(k, { id: 1, e: "", v: "a" }, { id: 1, e: "", v: "a2" }),
				),
			];
			const issues = await apply(`enum-${mode}`, parts, {
				groupTransactions: 1,
				...(mode === "safe" ? SAFE : {}),
			});
			// exact mode's checks see every update find its row, through the lax statements too
			expect(issues).toEqual([]);
			expect(await indexes(k.table)).toEqual({ 1: 0, 2: 0 });
			expect(await indexes(n.table, "a")).toEqual({ 1: 0, 2: 0 });
			expect(await indexes(u.table)).toEqual({ 1: 0, 2: 0 });
			const [[row1]] = await fx.dst.query<RowDataPacket[]>(`SELECT v FROM ${k.table} WHERE id = 1`);
			expect(row1?.v).toBe("a2");
			const [extras] = await fx.dst.query<RowDataPacket[]>(`SELECT extra FROM ${u.table} ORDER BY id`);
			expect(extras.map((r) => r.extra)).toEqual([7, 7]);
		});
	}

	it("keeps strict mode for the statements after it in the same transaction", async () => {
		await fx.dst.query("CREATE TABLE lax_first (id INT PRIMARY KEY, e ENUM('red') NOT NULL)");
		await fx.dst.query("CREATE TABLE strict_after (id INT PRIMARY KEY, v VARCHAR(4))");
		mappings.set("lax_first", identity(t("lax_first"), ["id", "e"]));
		mappings.set("strict_after", identity(t("strict_after"), ["id", "v"]));
		const s = new Stream();
		// one group: the lax REPLACE of lax_first goes first, then strict_after's, which must still fail
		const parts = [
			s.tx(ins(t("lax_first"), { id: 1, e: "" })),
			s.tx(ins(t("strict_after"), { id: 1, v: "far too long" })),
		];
		await expect(apply("enum-strict", parts)).rejects.toThrow(/Data too long for column 'v'/);
		const [r] = await fx.dst.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM lax_first");
		expect(Number(r[0]?.n)).toBe(0);
	});
});
