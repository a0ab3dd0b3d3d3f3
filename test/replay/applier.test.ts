import type { RowDataPacket } from "mysql2";
import { describe, expect, it } from "vitest";
import type { RowChange, RowImage, TransactionPart } from "../../shared/capture/change.ts";
import { connect } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import type { TableName } from "../../shared/model/rules.ts";
import { Applier } from "../../shared/replay/applier.ts";
import type { ApplierOptions } from "../../shared/replay/applier-options.ts";
import { CHECKPOINT_TABLE, FEED_POSITION_TABLE, readCheckpoint } from "../../shared/replay/checkpoint.ts";
import { destinationCredentials } from "../support/databases.ts";
import { applierFixture, del, identity, ins, rows, Stream, upd } from "./helpers.ts";

/** A random workload over a model of the source tables, so any prefix of it has a known state. */
class Workload {
	readonly model = new Map<string, Map<string, RowImage>>();
	private seed: number;
	readonly stream = new Stream();

	constructor(
		readonly tables: { name: TableName; key: string; make: (id: number, r: () => number) => RowImage }[],
		seed = 7,
	) {
		this.seed = seed;
		for (const t of tables) this.model.set(t.name.table, new Map());
	}

	rand(n: number): number {
		this.seed = (this.seed * 1103515245 + 12345) & 0x7fffffff;
		return this.seed % n;
	}

	/** A transaction of 1-4 changes on keys in [0, space), on the tables of the given indexes (default all). */
	next(space: number, only?: number[]): TransactionPart {
		const changes: RowChange[] = [];
		const n = 1 + this.rand(4);
		const choice = only ?? this.tables.map((_, i) => i);
		for (let i = 0; i < n; i++) {
			const t = this.tables[choice[this.rand(choice.length)] as number] as Workload["tables"][number];
			const rows = this.model.get(t.name.table) as Map<string, RowImage>;
			const id = this.rand(space);
			const k = String(id);
			const existing = rows.get(k);
			const fresh = t.make(id, () => this.rand(1_000_000));
			if (!existing) {
				changes.push(ins(t.name, fresh));
				rows.set(k, fresh);
			} else if (this.rand(4) === 0) {
				changes.push(del(t.name, existing));
				rows.delete(k);
			} else {
				changes.push(upd(t.name, existing, fresh));
				rows.set(k, fresh);
			}
		}
		return this.stream.tx(...changes);
	}
}

describe("the applier", () => {
	const fx = applierFixture("replay_ap");
	const { db, meta, t, mappings, options } = fx;

	/**
	 * Applies `total` transactions (each logs `size(i)` rows tagged i in a table without key, where
	 * a transaction applied twice would leave duplicates, and bumps a counter), kills the
	 * applier's destination connection when `kill` says so, checks the destination holds exactly
	 * the transactions its checkpoint names, restarts from the checkpoint and checks the end state.
	 */
	async function killAndRestart(
		name: string,
		total: number,
		size: (i: number) => number,
		kill: (applier: Applier, index: number) => boolean | Promise<boolean>,
		extra: Partial<ApplierOptions> = {},
	): Promise<number> {
		const log = t(`log_${name}`);
		const counter = t(`counter_${name}`);
		await fx.dst.query(`CREATE TABLE ${quoteId(log.table)} (seq INT, payload VARCHAR(40))`);
		await fx.dst.query(`CREATE TABLE ${quoteId(counter.table)} (id INT PRIMARY KEY, n INT)`);
		await fx.dst.query(`INSERT INTO ${quoteId(counter.table)} VALUES (1, 0)`);
		mappings.set(log.table, identity(log, ["seq", "payload"]));
		mappings.set(counter.table, identity(counter, ["id", "n"]));
		const s = new Stream();
		const parts: TransactionPart[] = [];
		const rowsUpTo: number[] = [0];
		for (let i = 1; i <= total; i++) {
			const changes: RowChange[] = [];
			for (let j = 0; j < size(i); j++) changes.push(ins(log, { seq: i, payload: `tx ${i} row ${j}` }));
			changes.push(upd(counter, { id: 1, n: i - 1 }, { id: 1, n: i }));
			rowsUpTo.push((rowsUpTo[i - 1] as number) + size(i));
			if (changes.length > 1000) parts.push(...s.big(changes, 500));
			else parts.push(s.tx(...changes));
		}
		const killer = await connect(destinationCredentials);
		const state = async () => {
			const [[r]] = await killer.query<RowDataPacket[]>(
				`SELECT COUNT(*) AS c, COUNT(DISTINCT seq) AS d, IFNULL(MAX(seq), 0) AS m,
					(SELECT n FROM ${quoteId(db)}.${quoteId(counter.table)}) AS n FROM ${quoteId(db)}.${quoteId(log.table)}`,
			);
			return { c: Number(r?.c), d: Number(r?.d), m: Number(r?.m), n: Number(r?.n) };
		};
		const first = new Applier(options(name, extra));
		await first.open();
		let killed = false;
		async function* feed(): AsyncGenerator<TransactionPart> {
			for (let i = 0; i < parts.length; i++) {
				if (!killed && (await kill(first, i))) {
					killed = true;
					await killer.query(`KILL CONNECTION ${Number(first.sessionIds[0])}`);
				}
				if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
				yield parts[i] as TransactionPart;
			}
		}
		await expect(first.run(feed())).rejects.toThrow();
		expect(killed).toBe(true);
		const cp = await readCheckpoint(killer, name, meta);
		const applied = cp ? Number(cp.position.gtid.split("-")[2]) : 0;
		expect(applied).toBeLessThan(total);
		// The destination holds exactly the transactions the checkpoint names.
		expect(await state()).toEqual({ c: rowsUpTo[applied], d: applied, m: applied, n: applied });
		// Restart: capture resumes at the checkpoint; a few transactions already applied come again too.
		const second = new Applier(options(name, extra));
		const resume = await second.open();
		expect(resume?.position ?? null).toEqual(cp?.position ?? null);
		const again = parts.findIndex((p) => p.gtid === `0-1-${Math.max(1, applied - 20)}`);
		const stats = await second.run(parts.slice(again));
		expect(stats.skipped).toBe(Math.min(applied, 21));
		await second.close();
		expect(await state()).toEqual({ c: rowsUpTo[total], d: total, m: total, n: total });
		await killer.end();
		return applied;
	}

	it("killed inside a large transaction, restarts from the checkpoint with each transaction exactly once", async () => {
		// Transaction 500 writes 3,000 rows in 7 parts; the kill comes after its 4th part was written.
		let partsOfBig = 0;
		const applied = await killAndRestart(
			"big_kill",
			1000,
			(i) => (i === 500 ? 3000 : 1),
			(applier, index) => {
				void applier;
				if (index > 0 && index >= 499 && partsOfBig++ === 4) return true;
				return false;
			},
			{ groupTransactions: 100, groupRows: 1000 },
		);
		expect(applied).toBe(499);
	});

	it("killed at a random moment of group commits, restarts from the checkpoint with each transaction exactly once", async () => {
		let timer: NodeJS.Timeout | undefined;
		let fire = false;
		const applied = await killAndRestart(
			"random_kill",
			20_000,
			() => 1,
			(applier) => {
				if (!timer && applier.progress.commits > 0) timer = setTimeout(() => (fire = true), 15);
				return fire;
			},
			{ groupTransactions: 300 },
		);
		expect(applied).toBeGreaterThan(0);
	});

	it("applies a 50,000-row transaction in parts atomically", async () => {
		await fx.dst.query("CREATE TABLE big (id INT PRIMARY KEY, v VARCHAR(30))");
		mappings.set("big", identity(t("big"), ["id", "v"]));
		const s = new Stream();
		const changes: RowChange[] = [];
		for (let i = 1; i <= 50_000; i++) changes.push(ins(t("big"), { id: i, v: `row ${i}` }));
		const reader = await connect(destinationCredentials);
		const seen: number[] = [];
		const count = async () => {
			const [[r]] = await reader.query<RowDataPacket[]>(`SELECT COUNT(*) AS c FROM ${quoteId(db)}.big`);
			return Number(r?.c);
		};
		const applier = new Applier(options("big", { groupRows: 5000 }));
		async function* feed(): AsyncGenerator<TransactionPart> {
			let n = 0;
			for (const p of s.big(changes, 2000)) {
				n += 1;
				if (n % 5 === 0) seen.push(await count());
				yield p;
			}
		}
		const stats = await applier.run(feed());
		await applier.close();
		expect(stats.transactions).toBe(1);
		expect(stats.rows).toBe(50_000);
		expect(seen.length).toBeGreaterThan(3);
		expect(seen.every((c) => c === 0)).toBe(true);
		expect(await count()).toBe(50_000);
		await reader.end();
	});

	it("in parallel, ends in the same state as serially, with conflicting and independent transactions", async () => {
		const sets = { serial: ["pa_s", "pb_s", "pc_s"], parallel: ["pa_p", "pb_p", "pc_p"] };
		const U = 40;
		for (const [a, b, c] of Object.values(sets) as string[][]) {
			await fx.dst.query(`CREATE TABLE ${a} (id INT PRIMARY KEY, v INT, w VARCHAR(20))`);
			await fx.dst.query(`CREATE TABLE ${b} (id INT PRIMARY KEY, u VARCHAR(20) NOT NULL, UNIQUE KEY (u))`);
			await fx.dst.query(`CREATE TABLE ${c} (id INT, v INT)`);
			// Rows of the unique table exist from the start; transactions swap their values.
			await fx.dst.query(`INSERT INTO ${b} SELECT seq, CONCAT('u', seq) FROM seq_0_to_${U - 1}`);
			mappings.set(a as string, identity(t(a as string), ["id", "v", "w"]));
			mappings.set(b as string, identity(t(b as string), ["id", "u"]));
			mappings.set(c as string, identity(t(c as string), ["id", "v"]));
		}
		const generate = (
			[a, b, c]: string[],
			count: number,
			space: number,
		): { parts: TransactionPart[]; model: Workload } => {
			const w = new Workload([
				{ name: t(a as string), key: "id", make: (id, r) => ({ id, v: r(), w: `w${r()}` }) },
				{ name: t(c as string), key: "id", make: (id, r) => ({ id, v: r() % 3 }) },
			]);
			const uniq = new Map<number, string>();
			for (let i = 0; i < U; i++) uniq.set(i, `u${i}`);
			const parts: TransactionPart[] = [];
			for (let i = 0; i < count; i++) {
				if (i < count / 2 && w.rand(3) === 0) {
					// Swap the unique values of two rows through a temporary one, in one transaction.
					const x = w.rand(U);
					const y = (x + 1 + w.rand(U - 1)) % U;
					const ux = uniq.get(x) as string;
					const uy = uniq.get(y) as string;
					const B = t(b as string);
					parts.push(
						w.stream.tx(
							upd(B, { id: x, u: ux }, { id: x, u: "tmp" }),
							upd(B, { id: y, u: uy }, { id: y, u: ux }),
							upd(B, { id: x, u: "tmp" }, { id: x, u: uy }),
						),
					);
					uniq.set(x, uy);
					uniq.set(y, ux);
				} else {
					parts.push(i < count / 2 ? w.next(space) : w.next(100_000, [0]));
				}
			}
			return { parts, model: w };
		};
		const serial = generate(sets.serial, 3000, 30);
		const parallel = generate(sets.parallel, 3000, 30);
		const a = new Applier(options("serial", { groupTransactions: 40 }));
		await a.run(serial.parts);
		await a.close();
		const b = new Applier(options("parallel", { groupTransactions: 40, parallel: 3, lockWaitTimeout: 2 }));
		const stats = await b.run(parallel.parts);
		await b.close();
		expect(stats.transactions).toBe(3000);
		for (let i = 0; i < 3; i++) {
			const left = await rows(fx.dst, t(sets.serial[i] as string), "1, 2");
			const right = await rows(fx.dst, t(sets.parallel[i] as string), "1, 2");
			expect(right).toEqual(left);
		}
		// And the serial result is the model's.
		const model = [...(serial.model.model.get("pa_s")?.values() ?? [])].sort((x, y) => Number(x.id) - Number(y.id));
		expect(await rows(fx.dst, t("pa_s"), "id")).toEqual(model);
		expect((await readCheckpoint(fx.dst, "parallel", meta))?.position).toEqual(parallel.model.stream.position());
	});

	it("in parallel, runs again a group that meets a conflict its keys did not show", async () => {
		// Under utf8mb4_danish_ci 'aa' and 'å' are equal; the conflict keys fold case, accents and
		// ignorable characters, not contractions: the two groups below look independent.
		await fx.dst.query(
			"CREATE TABLE hid (id INT PRIMARY KEY, u VARCHAR(20) COLLATE utf8mb4_danish_ci NOT NULL, UNIQUE KEY (u))",
		);
		await fx.dst.query("CREATE TABLE filler (id INT PRIMARY KEY, v VARCHAR(100))");
		await fx.dst.query("INSERT INTO hid VALUES (1, 'aa')");
		mappings.set("hid", identity(t("hid"), ["id", "u"]));
		mappings.set("filler", identity(t("filler"), ["id", "v"]));
		const s = new Stream();
		const filler: RowChange[] = [];
		for (let i = 0; i < 30_000; i++) filler.push(ins(t("filler"), { id: i, v: `filler row ${i}`.padEnd(100, "x") }));
		// Group 1 (slow: 30,000 rows first) frees 'aa'; group 2 (fast) takes it under another spelling.
		// If group 2 runs first, its REPLACE removes row 1 and holds its lock while it waits to commit
		// after group 1, which waits for that lock: a lock wait timeout, then both run again in order.
		const parts = [
			s.tx(...filler, upd(t("hid"), { id: 1, u: "aa" }, { id: 1, u: "zz" })),
			s.tx(ins(t("hid"), { id: 2, u: "å" })),
		];
		const applier = new Applier(
			options("hidden", { parallel: 2, groupTransactions: 1, groupRows: 100_000, lockWaitTimeout: 1 }),
		);
		const stats = await applier.run(parts);
		await applier.close();
		expect(stats.transactions).toBe(2);
		expect(stats.retries).toBeGreaterThanOrEqual(1);
		expect(await rows(fx.dst, t("hid"), "id")).toEqual([
			{ id: 1, u: "zz" },
			{ id: 2, u: "å" },
		]);
		expect((await rows(fx.dst, t("filler"))).length).toBe(30_000);
	});

	it("runs DDL through the callback outside a transaction, then checkpoints it", async () => {
		await fx.dst.query("CREATE TABLE d1 (id INT PRIMARY KEY)");
		mappings.set("d1", identity(t("d1"), ["id"]));
		const s = new Stream();
		const seen: { sql: string; inTransaction: number }[] = [];
		const applier = new Applier(
			options("ddl", {
				onDdl: async (change, { connection }) => {
					const [[r]] = await connection.query<RowDataPacket[]>("SELECT @@in_transaction AS t");
					seen.push({ sql: change.sql, inTransaction: Number(r?.t) });
					await connection.query(`ALTER TABLE ${quoteId(db)}.d1 ADD COLUMN v INT`);
					mappings.set("d1", identity(t("d1"), ["id", "v"]));
				},
			}),
		);
		const stats = await applier.run([
			s.tx(ins(t("d1"), { id: 1 })),
			s.tx({ kind: "ddl", database: db, sql: "ALTER TABLE d1 ADD COLUMN v INT" }),
			s.tx(ins(t("d1"), { id: 2, v: 5 })),
		]);
		await applier.close();
		expect(seen).toEqual([{ sql: "ALTER TABLE d1 ADD COLUMN v INT", inTransaction: 0 }]);
		expect(stats.ddl).toBe(1);
		expect(await rows(fx.dst, t("d1"), "id")).toEqual([
			{ id: 1, v: null },
			{ id: 2, v: 5 },
		]);
		expect((await readCheckpoint(fx.dst, "ddl", meta))?.position).toEqual(s.position(3));
		// Without a handler, DDL stops replay with an error that names it.
		const bare = new Applier(options("ddl-bare"));
		await expect(bare.run([s.tx({ kind: "ddl", database: db, sql: "DROP TABLE d1" })])).rejects.toThrow(
			/DROP TABLE d1/,
		);
	});

	it("keeps its checkpoint table where the marker says", async () => {
		const [r] = await fx.dst.query<RowDataPacket[]>(
			"SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME",
			[meta],
		);
		expect(r.map((x) => x.t)).toEqual([CHECKPOINT_TABLE, FEED_POSITION_TABLE]);
	});
});
