import type { RowDataPacket } from "mysql2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TransactionPart } from "../../shared/capture/change.ts";
import { openBinlogReader } from "../../shared/capture/reader.ts";
import { type Connection, connect } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import type { TableName } from "../../shared/model/rules.ts";
import { Applier } from "../../shared/replay/applier.ts";
import type { Inconsistency } from "../../shared/replay/statements.ts";
import { readTransactions, uniqueServerId } from "../capture/support.ts";
import {
	destinationCredentials,
	dropDatabase,
	freshDatabase,
	sourceCredentials,
	uniqueDatabase,
} from "../support/databases.ts";
import { applierFixture, del, identity, ins, rows, Stream, upd } from "./helpers.ts";

const ids = async (c: Connection, db: string, table: string) => {
	const [r] = await c.query<RowDataPacket[]>(`SELECT id FROM ${quoteId(db)}.${quoteId(table)} ORDER BY id`);
	return r.map((x) => Number(x.id));
};

describe("replay of foreign-key actions: edge cases (from review)", () => {
	const fx = applierFixture("rv_fk");
	const { t, mappings, options } = fx;
	let n = 0;
	const q = (x: TableName) => `${quoteId(x.database)}.${quoteId(x.table)}`;

	it("1. a parent delete made at the source with foreign_key_checks=0 did not cascade there, and must not at the destination", async () => {
		const db = uniqueDatabase("rv_fkc0");
		const src = await freshDatabase(sourceCredentials, db);
		const dst = await freshDatabase(destinationCredentials, db);
		try {
			for (const c of [src, dst]) {
				await c.query("CREATE TABLE p (id INT PRIMARY KEY, v INT)");
				await c.query(
					"CREATE TABLE c (id INT PRIMARY KEY, pid INT, KEY (pid), FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE)",
				);
				await c.query("INSERT INTO p VALUES (1, 1), (2, 2)");
				await c.query("INSERT INTO c VALUES (10, 1), (11, 1), (20, 2)");
			}
			const reader = await openBinlogReader(sourceCredentials, {
				from: "now",
				serverId: uniqueServerId(),
				include: (x) => x.database === db,
				includeDdl: () => false,
			});
			let parts: TransactionPart[];
			try {
				// the classic "reload a lookup table" done with checks off: the children stay at the source
				await src.query("SET foreign_key_checks = 0");
				await src.query("BEGIN");
				await src.query("DELETE FROM p");
				await src.query("INSERT INTO p VALUES (1, 10), (2, 20)");
				await src.query("COMMIT");
				await src.query("SET foreign_key_checks = 1");
				parts = (await readTransactions(reader, 1)).flat();
			} finally {
				await reader.close();
			}
			const mapping = (x: TableName) =>
				x.database !== db ? null : x.table === "p" ? identity(x, ["id", "v"]) : identity(x, ["id", "pid"]);
			const applier = new Applier({
				destination: destinationCredentials,
				stream: `rv_fkc0_${n++}`,
				metaDatabase: `${fx.db}_meta`,
				mapping,
			});
			await applier.run(parts);
			await applier.close();
			expect(await ids(src, db, "c")).toEqual([10, 11, 20]);

			expect(await ids(dst, db, "c")).toEqual([10, 11, 20]);
		} finally {
			await src.end();
			await dst.end();
			await dropDatabase(db, sourceCredentials, destinationCredentials);
		}
	});

	it("2. exact mode: deleting a self-referencing root (parent = id) reports no inconsistency", async () => {
		n += 1;
		const tree = t(`tree${n}`);
		await fx.dst.query(
			`CREATE TABLE ${q(tree)} (id INT PRIMARY KEY, parent INT, KEY (parent), FOREIGN KEY (parent) REFERENCES ${q(tree)} (id) ON DELETE CASCADE)`,
		);
		await fx.dst.query(`INSERT INTO ${q(tree)} VALUES (1, NULL), (2, 1)`);
		await fx.dst.query(`UPDATE ${q(tree)} SET parent = 1 WHERE id = 1`);
		mappings.set(tree.table, identity(tree, ["id", "parent"]));
		const found: Inconsistency[] = [];
		const applier = new Applier(options(`rv_tree${n}`, { onInconsistency: (x) => found.push(x) }));
		await applier.run([new Stream().tx(del(tree, { id: 1, parent: 1 }))]);
		await applier.close();
		expect(await rows(fx.dst, tree, "id")).toEqual([]);

		expect(found).toEqual([]);
	});

	it("3. safe mode: a RESTRICT grandchild copied from the future does not stop replay (1451)", async () => {
		n += 1;
		const [p, c, g] = [t(`p${n}`), t(`c${n}`), t(`g${n}`)];
		await fx.dst.query(`CREATE TABLE ${q(p)} (id INT PRIMARY KEY)`);
		await fx.dst.query(
			`CREATE TABLE ${q(c)} (id INT PRIMARY KEY, pid INT, KEY (pid), FOREIGN KEY (pid) REFERENCES ${q(p)} (id) ON DELETE CASCADE)`,
		);
		await fx.dst.query(
			`CREATE TABLE ${q(g)} (id INT PRIMARY KEY, cid INT, KEY (cid), FOREIGN KEY (cid) REFERENCES ${q(c)} (id))`,
		);
		// the copy read p and c before T1, g after T4
		await fx.dst.query(`INSERT INTO ${q(p)} VALUES (1)`);
		await fx.dst.query(`INSERT INTO ${q(c)} VALUES (10, 1)`);
		await fx.dst.query(`INSERT INTO ${q(g)} VALUES (100, 10)`);
		for (const [x, cols] of [
			[p, ["id"]],
			[c, ["id", "pid"]],
			[g, ["id", "cid"]],
		] as const)
			mappings.set(x.table, identity(x, [...cols]));
		const s = new Stream();
		const parts = [
			s.tx(del(p, { id: 1 })), // T1: cascades c 10 at the source
			s.tx(ins(p, { id: 1 })), // T2
			s.tx(ins(c, { id: 10, pid: 1 })), // T3: the same key again
			s.tx(ins(g, { id: 100, cid: 10 })), // T4
		];
		const applier = new Applier(
			options(`rv_restrict${n}`, { safeUntil: { gtid: "0-1-1000", file: "binlog.000001", pos: 999_999 } }),
		);

		await applier.run(parts);
		await applier.close();
		expect(await ids(fx.dst, fx.db, g.table)).toEqual([100]);
		expect(await ids(fx.dst, fx.db, c.table)).toEqual([10]);
	});

	it("4. row filter: a parent re-keyed outside the filter, with unfiltered children, does not stop replay (1452)", async () => {
		n += 1;
		const [p, c] = [t(`fp${n}`), t(`fc${n}`)];
		await fx.dst.query(`CREATE TABLE ${q(p)} (id INT PRIMARY KEY, region CHAR(2))`);
		await fx.dst.query(
			`CREATE TABLE ${q(c)} (id INT PRIMARY KEY, pid INT, KEY (pid), FOREIGN KEY (pid) REFERENCES ${q(p)} (id) ON UPDATE CASCADE)`,
		);
		// p filtered to EU (row 2 is US, not copied); c unfiltered, so c 20 references an absent parent
		await fx.dst.query(`INSERT INTO ${q(p)} VALUES (1, 'EU')`);
		// c20's parent is a US row the filter leaves out: an orphan at the destination
		await fx.dst.query(`SET foreign_key_checks = 0`);
		await fx.dst.query(`INSERT INTO ${q(c)} VALUES (10, 1), (20, 2)`);
		await fx.dst.query(`SET foreign_key_checks = 1`);
		mappings.set(p.table, { ...identity(p, ["id", "region"]), where: "region = 'EU'" });
		mappings.set(c.table, identity(c, ["id", "pid"]));
		const applier = new Applier(options(`rv_filter${n}`, { source: fx.dst }));

		await applier.run([new Stream().tx(upd(p, { id: 2, region: "US" }, { id: 5, region: "US" }))]);
		await applier.close();
		expect(await rows(fx.dst, c, "id")).toEqual([
			{ id: 10, pid: 1 },
			{ id: 20, pid: 5 },
		]);
	});

	it("5. a key referencing a STORED generated column: a parent delete does not stop replay", async () => {
		n += 1;
		const [p, c] = [t(`gp${n}`), t(`gc${n}`)];
		await fx.dst.query(
			`CREATE TABLE ${q(p)} (id INT PRIMARY KEY, name VARCHAR(10), code VARCHAR(10) AS (UPPER(name)) STORED, UNIQUE KEY (code))`,
		);
		await fx.dst.query(
			`CREATE TABLE ${q(c)} (id INT PRIMARY KEY, pcode VARCHAR(10), KEY (pcode), FOREIGN KEY (pcode) REFERENCES ${q(p)} (code) ON DELETE CASCADE)`,
		);
		await fx.dst.query(`INSERT INTO ${q(p)} (id, name) VALUES (1, 'a'), (2, 'b')`);
		await fx.dst.query(`INSERT INTO ${q(c)} VALUES (10, 'A'), (20, 'B')`);
		mappings.set(p.table, identity(p, ["id", "name", "code"]));
		mappings.set(c.table, identity(c, ["id", "pcode"]));
		const applier = new Applier(options(`rv_gen${n}`));

		await applier.run([new Stream().tx(del(p, { id: 1, name: "a", code: "A" }))]);
		await applier.close();
		expect(await ids(fx.dst, fx.db, c.table)).toEqual([20]);
	});
});

describe("replay of foreign-key actions: exact-mode convergence", () => {
	const fx = applierFixture("rv_fk6");
	const q = (x: TableName) => `${quoteId(x.database)}.${quoteId(x.table)}`;
	it("6. a re-keyed parent the destination lacks is written (as a compacted batch would), with or without a cascading key", async () => {
		const out: Record<string, unknown> = {};
		for (const withFk of [false, true]) {
			const p = fx.t(`p_${withFk}`);
			const c = fx.t(`c_${withFk}`);
			await fx.dst.query(`CREATE TABLE ${q(p)} (id INT PRIMARY KEY, v INT)`);
			await fx.dst.query(
				`CREATE TABLE ${q(c)} (id INT PRIMARY KEY, pid INT, KEY (pid)${withFk ? `, FOREIGN KEY (pid) REFERENCES ${q(p)} (id) ON UPDATE CASCADE` : ""})`,
			);
			// the destination lost parent 1 (an inconsistency exact mode reports and repairs)
			fx.mappings.set(p.table, identity(p, ["id", "v"]));
			fx.mappings.set(c.table, identity(c, ["id", "pid"]));
			const found: Inconsistency[] = [];
			const applier = new Applier(fx.options(`rv6_${withFk}`, { onInconsistency: (x) => found.push(x) }));
			await applier.run([new Stream().tx(upd(p, { id: 1, v: 1 }, { id: 3, v: 1 }))]);
			await applier.close();
			out[String(withFk)] = { rows: await rows(fx.dst, p, "id"), inconsistencies: found.length };
		}

		expect(out.true).toEqual(out.false);
	});
});
