import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TransactionPart } from "../../shared/capture/change.ts";
import type { Connection } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import type { TableMapping } from "../../shared/model/rules.ts";
import { Applier } from "../../shared/replay/applier.ts";
import { readCheckpoint } from "../../shared/replay/checkpoint.ts";
import type { ReplayMode } from "../../shared/replay/statements.ts";
import { freshDatabase, sourceCredentials } from "../support/databases.ts";
import { applierFixture, identity, ins, rows, Stream, upd } from "./helpers.ts";

/**
 * A stream's mapping can fall behind what the two ends have (a DDL skipped after a ticket and
 * made at the other end by hand): no column's values may then be dropped without a rule saying
 * so (shared/replay/resolver.ts). The captured side is a same-named database on the source server.
 */
describe("replay of columns the mapping does not know", () => {
	const fx = applierFixture("replay_unmapped");
	const { db, meta, t, mappings, options } = fx;
	let src: Connection;

	beforeAll(async () => {
		src = await freshDatabase(sourceCredentials, db);
	});
	afterAll(async () => {
		await src?.query(`DROP DATABASE IF EXISTS ${quoteId(db)}`);
		await src?.end();
	});

	/** The same table at both ends (`captured` / `target` column definitions), mapped with `columns`. */
	async function table(name: string, captured: string, target: string, columns: string[]) {
		await src.query(`CREATE TABLE ${quoteId(name)} (${captured})`);
		await fx.dst.query(`CREATE TABLE ${quoteId(name)} (${target})`);
		mappings.set(name, identity(t(name), columns));
		return t(name);
	}

	async function replay(name: string, parts: TransactionPart[], mode: ReplayMode = "exact") {
		const changed: TableMapping[] = [];
		const applier = new Applier(
			options(name, {
				source: src,
				safeUntil: mode === "safe" ? { gtid: "0-1-1000000", file: "", pos: 0 } : null,
				onMappingChanged: (m) => {
					changed.push(m);
				},
			}),
		);
		try {
			await applier.run(parts);
		} finally {
			await applier.close();
		}
		return changed;
	}

	for (const mode of ["exact", "safe"] as const) {
		it(`${mode} mode: writes a column the images carry once the target has it, and keeps the extended mapping`, async () => {
			const name = `added_${mode}`;
			const T = await table(
				name,
				"id INT PRIMARY KEY, v VARCHAR(10), x INT DEFAULT 7",
				"id INT PRIMARY KEY, v VARCHAR(10), x INT DEFAULT 7",
				["id", "v"],
			);
			const s = new Stream();
			const changed = await replay(
				name,
				[
					s.tx(ins(T, { id: 1, v: "a", x: 42 }), ins(T, { id: 2, v: "b", x: 5 })),
					s.tx(upd(T, { id: 1, v: "a", x: 42 }, { id: 1, v: "a", x: 43 })),
				],
				mode,
			);
			expect(await rows(fx.dst, T, "id")).toEqual([
				{ id: 1, v: "a", x: 43 },
				{ id: 2, v: "b", x: 5 },
			]);
			expect(changed.map((m) => m.columns.map((c) => c.source))).toEqual([["id", "v", "x"]]);
		});
	}

	it("stops, writing nothing, when the target has no column for values the images carry", async () => {
		const T = await table("lost", "id INT PRIMARY KEY, v VARCHAR(10), x INT", "id INT PRIMARY KEY, v VARCHAR(10)", [
			"id",
			"v",
		]);
		const s = new Stream();
		const failed = replay("lost", [s.tx(ins(T, { id: 1, v: "a", x: 42 }))]);
		await expect(failed).rejects.toMatchObject({ code: "UNREPLICATED_COLUMN" });
		await expect(failed).rejects.toThrow(/column x, for which .*lost has no column x, so its values would be lost/);
		expect(await rows(fx.dst, T, "id")).toEqual([]);
		expect(await readCheckpoint(fx.dst, "lost", meta)).toBeNull();
	});

	it("leaves out a column the captured table no longer has (an older image) and one the rules leave out", async () => {
		const T = await table(
			"older",
			"id INT PRIMARY KEY, v VARCHAR(10), secret INT",
			"id INT PRIMARY KEY, v VARCHAR(10)",
			["id", "v"],
		);
		const s = new Stream();
		const applier = new Applier(
			options("older", {
				source: src,
				columnRule: (_table, column) => ({ target: column, selected: column !== "secret" }),
			}),
		);
		await applier.run([
			// `dropped` was dropped at the captured side since; `secret` is not selected
			s.tx(ins(T, { id: 1, v: "a", dropped: 1, secret: 2 })),
			s.tx(upd(T, { id: 1, v: "a", dropped: 1, secret: 2 }, { id: 1, v: "b", dropped: 3, secret: 4 })),
		]);
		await applier.close();
		expect(await rows(fx.dst, T, "id")).toEqual([{ id: 1, v: "b" }]);
	});

	it("drops from the mapping a column gone at both ends, and stops on one only the target lacks", async () => {
		const T = await table("gone", "id INT PRIMARY KEY, v VARCHAR(10)", "id INT PRIMARY KEY, v VARCHAR(10)", [
			"id",
			"v",
			"w",
		]);
		const s = new Stream();
		const changed = await replay("gone", [s.tx(ins(T, { id: 1, v: "a" }))]);
		expect(await rows(fx.dst, T, "id")).toEqual([{ id: 1, v: "a" }]);
		expect(changed.map((m) => m.columns.map((c) => c.source))).toEqual([["id", "v"]]);

		const U = await table("half", "id INT PRIMARY KEY, v VARCHAR(10), w INT", "id INT PRIMARY KEY, v VARCHAR(10)", [
			"id",
			"v",
			"w",
		]);
		await expect(replay("half", [new Stream().tx(ins(U, { id: 1, v: "a", w: 1 }))])).rejects.toMatchObject({
			code: "DESTINATION_COLUMN_MISSING",
			message: expect.stringMatching(/half has no column w, .* add the column there, then retry/),
		});
	});

	it("writes a mapped column the images spell in another letter case", async () => {
		const T = await table("spelled", "id INT PRIMARY KEY, Note VARCHAR(10)", "id INT PRIMARY KEY, Note VARCHAR(10)", [
			"id",
			"note",
		]);
		const s = new Stream();
		const changed = await replay("spelled", [s.tx(ins(T, { id: 1, Note: "kept" }))]);
		expect(await rows(fx.dst, T, "id")).toEqual([{ id: 1, Note: "kept" }]);
		expect(changed.map((m) => m.columns.map((c) => c.source))).toEqual([["id", "Note"]]);
	});
});
