import { describe, expect, it } from "vitest";
import type { TransactionPart } from "../../shared/capture/change.ts";
import { quoteId } from "../../shared/db/sql.ts";
import { Applier } from "../../shared/replay/applier.ts";
import { readCheckpoint } from "../../shared/replay/checkpoint.ts";
import type { Inconsistency, ReplayMode } from "../../shared/replay/statements.ts";
import { applierFixture, del, identity, ins, rows, Stream, upd } from "./helpers.ts";

/**
 * A session that starts from a checkpoint before an ADD COLUMN in the binlog it reads (reverse
 * replication lagging behind forward, which already added the column and persisted the mapping)
 * replays row events written before the column existed: their images lack it, while the
 * mapping (the current schema) has it. Such a column is one the event did not write.
 */
describe("replay of row events older than a mapped column", () => {
	const fx = applierFixture("replay_addcol");
	const { db, meta, t, mappings, options } = fx;

	/**
	 * The target has rows 1-3 (extra set after the column was added); the stream, resumed from
	 * before the ALTER, carries old-image changes, then the ALTER's echo, then full-image ones.
	 */
	async function scenario(name: string, ddl: string, mode: ReplayMode, columns = ["id", "name", "extra"]) {
		const table = t(name);
		await fx.dst.query(ddl.replace("%t", quoteId(name)));
		await fx.dst.query(
			`INSERT INTO ${quoteId(name)} (id, name, extra) VALUES (1, 'one', 11), (2, 'two', 12), (3, 'three', 13)`,
		);
		mappings.set(name, identity(table, columns));
		const s = new Stream();
		const parts: TransactionPart[] = [
			// written before the column existed: no `extra` in the images
			s.tx(upd(table, { id: 1, name: "one" }, { id: 1, name: "uno" })),
			s.tx(ins(table, { id: 4, name: "four" }), del(table, { id: 2, name: "two" })),
			s.tx(
				ins(table, { id: 5, name: "five" }),
				upd(table, { id: 3, name: "three" }, { id: 30, name: "thirty" }),
				ins(table, { id: 6, name: "six" }),
			),
			// the ALTER's echo: nothing to run, the mapping already has the column
			s.tx({
				kind: "ddl",
				database: db,
				sql: `ALTER TABLE ${name} ADD COLUMN extra INT NOT NULL DEFAULT 5`,
				echo: true,
			}),
			// after it: full images
			s.tx(
				ins(table, { id: 7, name: "seven", extra: 77 }),
				upd(table, { id: 4, name: "four", extra: 5 }, { id: 4, name: "FOUR", extra: 5 }),
			),
			// both shapes in one batch (a binlog would not mix them): never one multi-row statement
			s.tx(ins(table, { id: 8, name: "eight", extra: 88 }), ins(table, { id: 9, name: "nine" })),
		];
		const found: Inconsistency[] = [];
		const safeUntil = mode === "safe" ? s.position(s.seq + 1) : null;
		const applier = new Applier(
			options(name, { safeUntil, onInconsistency: (x) => found.push(x), onDdl: async () => {} }),
		);
		await applier.run(parts);
		await applier.close();
		expect((await readCheckpoint(fx.dst, name, meta))?.position).toEqual(s.position());
		return { table, found };
	}

	const expected = [
		{ id: 1, name: "uno", extra: 11 }, // an update leaves the column as it is
		{ id: 4, name: "FOUR", extra: 5 }, // an insert leaves it to its default
		{ id: 5, name: "five", extra: 5 },
		{ id: 6, name: "six", extra: 5 },
		{ id: 7, name: "seven", extra: 77 },
		{ id: 8, name: "eight", extra: 88 },
		{ id: 9, name: "nine", extra: 5 },
		{ id: 30, name: "thirty", extra: 13 }, // carried over a key change
	];

	for (const mode of ["exact", "safe"] as const) {
		it(`a keyed table, ${mode} mode: inserts take the default, updates keep it, deletes find their row`, async () => {
			const { table, found } = await scenario(
				`keyed_${mode}`,
				"CREATE TABLE %t (id INT PRIMARY KEY, name VARCHAR(20), extra INT NOT NULL DEFAULT 5)",
				mode,
			);
			const got = await rows(fx.dst, table, "id");
			if (mode === "safe") {
				// safe mode rewrites a key change as delete + insert (as for tables with unmapped columns)
				expect(got).toEqual(expected.map((r) => (r.id === 30 ? { ...r, extra: 5 } : r)));
			} else {
				expect(got).toEqual(expected);
			}
			expect(found).toEqual([]);
		});

		it(`a table with columns outside the mapping, ${mode} mode`, async () => {
			const { table, found } = await scenario(
				`unmapped_${mode}`,
				"CREATE TABLE %t (id INT PRIMARY KEY, name VARCHAR(20), own INT DEFAULT 0, extra INT NOT NULL DEFAULT 5)",
				mode,
			);
			const got = (await rows(fx.dst, table, "id")).map(({ own: _, ...r }) => r);
			if (mode === "safe") expect(got).toEqual(expected.map((r) => (r.id === 30 ? { ...r, extra: 5 } : r)));
			else expect(got).toEqual(expected);
			expect(found).toEqual([]);
		});

		it(`a table without key, ${mode} mode: rows are matched on the columns the image has`, async () => {
			const { table, found } = await scenario(
				`nokey_${mode}`,
				"CREATE TABLE %t (id INT, name VARCHAR(20), extra INT NOT NULL DEFAULT 5)",
				mode,
			);
			expect(await rows(fx.dst, table, "id")).toEqual(expected);
			expect(found).toEqual([]);
		});
	}

	it("in exact mode, still reports a missing row of an old-image update", async () => {
		const name = "report";
		const table = t(name);
		await fx.dst.query(`CREATE TABLE ${name} (id INT PRIMARY KEY, name VARCHAR(20), extra INT NOT NULL DEFAULT 5)`);
		mappings.set(name, identity(table, ["id", "name", "extra"]));
		const s = new Stream();
		const found: Inconsistency[] = [];
		const applier = new Applier(options(name, { onInconsistency: (x) => found.push(x) }));
		await applier.run([
			s.tx(upd(table, { id: 1, name: "a" }, { id: 1, name: "b" }), ins(table, { id: 2, name: "c" })),
			s.tx(ins(table, { id: 2, name: "d" })),
		]);
		await applier.close();
		expect(found.map((x) => [x.kind, x.key])).toEqual([
			["missing-row", { id: 1 }],
			["duplicate-row", { id: 2 }],
		]);
		expect(await rows(fx.dst, table, "id")).toEqual([
			{ id: 1, name: "b", extra: 5 },
			{ id: 2, name: "d", extra: 5 },
		]);
	});

	it("still refuses an image without a key column", async () => {
		const name = "nokeycol";
		const table = t(name);
		await fx.dst.query(`CREATE TABLE ${name} (id INT PRIMARY KEY, name VARCHAR(20))`);
		mappings.set(name, identity(table, ["id", "name"]));
		const applier = new Applier(options(name));
		await expect(applier.run([new Stream().tx(ins(table, { name: "x" }))])).rejects.toMatchObject({
			code: "INCOMPLETE_ROW_IMAGE",
		});
		await applier.close();
	});
});
