import { describe, expect, it } from "vitest";
import type { RowImage, TransactionPart } from "../../shared/capture/change.ts";
import { quoteId } from "../../shared/db/sql.ts";
import type { TableName } from "../../shared/model/rules.ts";
import { Applier } from "../../shared/replay/applier.ts";
import { applierFixture, del, identity, ins, rows, Stream, upd } from "./helpers.ts";

/**
 * Foreign-key actions the source's InnoDB ran below its binlog (the binlog holds the parent's
 * change only), redone by replay at the target from the target's own constraints.
 */
describe("replay of foreign-key actions", () => {
	const fx = applierFixture("replay_fk");
	const { t, mappings, options } = fx;
	let n = 0;

	/** p <- c (CASCADE both ways) <- g (CASCADE); s (SET NULL both ways) -> p; every table replicated as is. */
	async function schema(): Promise<{ p: TableName; c: TableName; g: TableName; s: TableName }> {
		n += 1;
		const p = t(`p${n}`);
		// a hostile child name: the statements replay builds must quote it
		const c = t(`c\`'"${n}`);
		const g = t(`g${n}`);
		const s = t(`s${n}`);
		const q = (x: TableName) => quoteId(x.table);
		await fx.dst.query(`USE ${quoteId(fx.db)}`);
		await fx.dst.query(`CREATE TABLE ${q(p)} (id INT PRIMARY KEY, name VARCHAR(20))`);
		await fx.dst.query(
			`CREATE TABLE ${q(c)} (id INT PRIMARY KEY, pid INT, note VARCHAR(20), KEY (pid), CONSTRAINT fk_c${n} FOREIGN KEY (pid) REFERENCES ${q(p)} (id) ON DELETE CASCADE ON UPDATE CASCADE)`,
		);
		await fx.dst.query(
			`CREATE TABLE ${q(g)} (id INT PRIMARY KEY, cid INT, CONSTRAINT fk_g${n} FOREIGN KEY (cid) REFERENCES ${q(c)} (id) ON DELETE CASCADE)`,
		);
		await fx.dst.query(
			`CREATE TABLE ${q(s)} (id INT PRIMARY KEY, pid INT, CONSTRAINT fk_s${n} FOREIGN KEY (pid) REFERENCES ${q(p)} (id) ON DELETE SET NULL ON UPDATE SET NULL)`,
		);
		mappings.set(p.table, identity(p, ["id", "name"]));
		mappings.set(c.table, identity(c, ["id", "pid", "note"]));
		mappings.set(g.table, identity(g, ["id", "cid"]));
		mappings.set(s.table, identity(s, ["id", "pid"]));
		return { p, c, g, s };
	}

	async function seed(tables: { p: TableName; c: TableName; g: TableName; s: TableName }): Promise<void> {
		const q = (x: TableName) => `${quoteId(x.database)}.${quoteId(x.table)}`;
		await fx.dst.query(`INSERT INTO ${q(tables.p)} VALUES (1, 'one'), (2, 'two')`);
		await fx.dst.query(`INSERT INTO ${q(tables.c)} VALUES (10, 1, 'a'), (11, 1, 'b'), (20, 2, 'c')`);
		await fx.dst.query(`INSERT INTO ${q(tables.g)} VALUES (100, 10), (101, 11), (200, 20)`);
		await fx.dst.query(`INSERT INTO ${q(tables.s)} VALUES (1000, 1), (2000, 2)`);
	}

	async function apply(parts: TransactionPart[], extra: Parameters<typeof options>[1] = {}): Promise<void> {
		const applier = new Applier(options(`fk${n}`, extra));
		await applier.run(parts);
		await applier.close();
	}

	const ids = async (table: TableName) => (await rows(fx.dst, table, "id")).map((r) => r.id);

	it("a parent's delete cascades through two levels and sets NULL where the key says so", async () => {
		const x = await schema();
		await seed(x);
		const stream = new Stream();
		await apply([stream.tx(del(x.p, { id: 1, name: "one" }))]);
		expect(await ids(x.p)).toEqual([2]);
		expect(await ids(x.c)).toEqual([20]);
		expect(await ids(x.g)).toEqual([200]);
		expect(await rows(fx.dst, x.s, "id")).toEqual([
			{ id: 1000, pid: null },
			{ id: 2000, pid: 2 },
		]);
	});

	it("a parent's key change cascades to children and sets NULL in the SET NULL table; other updates touch nothing", async () => {
		const x = await schema();
		await seed(x);
		const stream = new Stream();
		await apply([
			stream.tx(upd(x.p, { id: 1, name: "one" }, { id: 3, name: "one" })),
			stream.tx(upd(x.p, { id: 2, name: "two" }, { id: 2, name: "TWO" })),
		]);
		expect(await rows(fx.dst, x.c, "id")).toEqual([
			{ id: 10, pid: 3, note: "a" },
			{ id: 11, pid: 3, note: "b" },
			{ id: 20, pid: 2, note: "c" },
		]);
		expect(await ids(x.g)).toEqual([100, 101, 200]);
		expect(await rows(fx.dst, x.s, "id")).toEqual([
			{ id: 1000, pid: null },
			{ id: 2000, pid: 2 },
		]);
	});

	it("safe mode: a replayed REPLACE of a parent keeps its children, and a delete cascades even where the parent was not copied yet", async () => {
		const x = await schema();
		await seed(x);
		const q = (y: TableName) => `${quoteId(y.database)}.${quoteId(y.table)}`;
		// the copy has not reached parent 2 yet, but has copied its child
		await fx.dst.query(`SET foreign_key_checks = 0`);
		await fx.dst.query(`DELETE FROM ${q(x.p)} WHERE id = 2`);
		await fx.dst.query(`SET foreign_key_checks = 1`);
		const stream = new Stream();
		const safeUntil = { gtid: "0-1-1000", file: "binlog.000001", pos: 999_999 };
		await apply(
			[
				stream.tx(ins(x.p, { id: 1, name: "one" })), // already copied: REPLACE
				stream.tx(upd(x.p, { id: 1, name: "one" }, { id: 1, name: "uno" })),
				stream.tx(del(x.p, { id: 2, name: "two" })),
			],
			{ safeUntil },
		);
		expect(await rows(fx.dst, x.p, "id")).toEqual([{ id: 1, name: "uno" }]);
		expect(await ids(x.c)).toEqual([10, 11]);
		expect(await ids(x.g)).toEqual([100, 101]);
		expect(await rows(fx.dst, x.s, "id")).toEqual([
			{ id: 1000, pid: 1 },
			{ id: 2000, pid: null },
		]);
	});

	it("a group that deletes a parent and inserts it again with one child ends with that child only (source order kept around the cascade)", async () => {
		const x = await schema();
		await seed(x);
		const stream = new Stream();
		const parts = [
			stream.tx(del(x.p, { id: 1, name: "one" })),
			stream.tx(ins(x.p, { id: 1, name: "again" }), ins(x.c, { id: 10, pid: 1, note: "new" })),
			stream.tx(ins(x.c, { id: 12, pid: 2, note: "d" }), del(x.p, { id: 2, name: "two" })),
		];
		await apply(parts, { groupTransactions: 100, groupDelayMs: 10_000 });
		expect(await rows(fx.dst, x.p, "id")).toEqual([{ id: 1, name: "again" }]);
		expect(await rows(fx.dst, x.c, "id")).toEqual([{ id: 10, pid: 1, note: "new" }]);
		expect(await ids(x.g)).toEqual([]);
	});

	it("a self-referencing tree loses the whole subtree, with parallel apply", async () => {
		n += 1;
		const tree = t(`tree${n}`);
		const other = t(`other${n}`);
		await fx.dst.query(
			`CREATE TABLE ${quoteId(tree.table)} (id INT PRIMARY KEY, parent INT, CONSTRAINT fk_tree FOREIGN KEY (parent) REFERENCES ${quoteId(tree.table)} (id) ON DELETE CASCADE)`,
		);
		await fx.dst.query(`CREATE TABLE ${quoteId(other.table)} (id INT PRIMARY KEY, v INT)`);
		await fx.dst.query(`INSERT INTO ${quoteId(tree.table)} VALUES (1, NULL), (2, 1), (3, 1), (4, 3), (5, NULL)`);
		mappings.set(tree.table, identity(tree, ["id", "parent"]));
		mappings.set(other.table, identity(other, ["id", "v"]));
		const stream = new Stream();
		const parts: TransactionPart[] = [];
		for (let i = 0; i < 50; i++) parts.push(stream.tx(ins(other, { id: i, v: i } as RowImage)));
		parts.push(stream.tx(del(tree, { id: 1, parent: null })));
		for (let i = 50; i < 100; i++) parts.push(stream.tx(ins(other, { id: i, v: i } as RowImage)));
		parts.push(stream.tx(ins(tree, { id: 6, parent: 5 })));
		await apply(parts, { parallel: 2, groupTransactions: 10 });
		expect(await ids(tree)).toEqual([5, 6]);
		expect((await ids(other)).length).toBe(100);
	});
});
