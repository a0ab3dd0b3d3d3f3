import type { RowDataPacket } from "mysql2";
import { describe, expect, it } from "vitest";
import { correctionSql, requestCorrection } from "../../shared/control/verification.ts";
import type { Connection } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import { startVerification } from "../../shared/scheduler/verification.ts";
import type { VerificationResults } from "../../shared/scheduler/verification-results.ts";
import { updateProject } from "../../shared/state/projects.ts";
import { replicationProject, useTestContext, verifyToEnd } from "../support/replication.ts";

/**
 * Verification compares the tables as both ends have them now (not as the project's mappings
 * last knew them), covers every table the rules include, and after a switchover takes the
 * destination, which takes the writes, as the truth. The scheduler's verification turns and the
 * verify worker run in this process against the real servers and the embedded AWS servers.
 */

type Row = Record<string, unknown>;

describe("verification of the tables as they are now, and after the switch", () => {
	const fx = useTestContext("verify-now", { verify: true });

	async function database(prefix: string, setup: (c: Connection, side: "source" | "destination") => Promise<void>) {
		const db = fx.database(prefix);
		for (const [c, side] of [
			[fx.src, "source"],
			[fx.dst, "destination"],
		] as const) {
			await c.query(`CREATE DATABASE ${quoteId(db)} CHARACTER SET utf8mb4`);
			await c.query(`USE ${quoteId(db)}`);
			await setup(c, side);
		}
		return db;
	}

	const table = (r: VerificationResults, name: string) => r.tables.find((t) => t.table.endsWith(`.${name}`));

	it("compares columns the mapping does not know, reports columns and tables at one end only, and tables the rules include but the project lacks", async () => {
		const db = await database("vnow", async (c, side) => {
			await c.query("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10), x INT)");
			await c.query(`INSERT INTO t VALUES (1, 'a', ${side === "source" ? 7 : 42}), (2, 'b', 5)`);
			await c.query(`CREATE TABLE narrow (id INT PRIMARY KEY, a INT${side === "source" ? ", b INT" : ""})`);
			await c.query(`INSERT INTO narrow (id, a) VALUES (1, 1)`);
			await c.query(`CREATE TABLE wide (id INT PRIMARY KEY, a INT${side === "destination" ? ", extra INT" : ""})`);
			await c.query(`INSERT INTO wide (id, a) VALUES (1, 1)`);
			await c.query("CREATE TABLE fresh (id INT PRIMARY KEY)");
			await c.query("INSERT INTO fresh VALUES (1)");
			if (side === "source") await c.query("CREATE TABLE lost (id INT PRIMARY KEY)");
		});
		const id = await replicationProject(
			fx.ctx,
			db,
			{
				t: { columns: ["id", "v"] },
				narrow: { columns: ["id", "a"] },
				wide: { columns: ["id", "a"] },
				lost: { columns: ["id"] },
			},
			"switched",
			false,
			[{ database: db }, { database: db, table: "narrow", columns: ["id", "a"] }],
		);
		// no replication and no switchover: the source is the truth, differing chunks are final at once
		await updateProject(fx.ctx, id, (p) => ({
			...p,
			switchover: undefined,
			steps: p.steps.filter((s) => s.name !== "incremental"),
		}));
		await startVerification(fx.ctx, id);
		const r = await verifyToEnd(fx.ctx, id);
		expect(r.run.state).toBe("done");
		// x: at both ends, not in the mapping (a DDL the project did not follow): compared all the same
		expect(table(r, "t")).toMatchObject({ different: 1, columns: ["x"], schema: [] });
		// b: left out by the rule's column selection; extra: at the destination only
		expect(table(r, "narrow")?.schema).toEqual([]);
		expect(table(r, "wide")?.schema).toEqual([`column extra of ${db}.wide is at the destination only`]);
		expect(table(r, "lost")?.schema).toEqual([`${db}.lost is missing at the destination`]);
		expect(table(r, "fresh")?.schema).toEqual([
			`${db}.fresh is a table the rules include, at both ends, but the project does not replicate it`,
		]);
		expect(r.run.totals).toMatchObject({ different: 1, tablesDiffering: 4 });
		expect(r.run.truth ?? "source").toBe("source");
	}, 120_000);

	it("after a switchover, takes the destination as the truth for differences and correction SQL", async () => {
		const db = await database("vtruth", async (c, side) => {
			await c.query("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(40))");
			// the source also has a column the project never migrated: a correction keeps it
			await c.query(`CREATE TABLE n (id INT PRIMARY KEY, a INT${side === "source" ? ", keep_me INT DEFAULT 9" : ""})`);
			await c.query("INSERT INTO t VALUES (1, 'one'), (2, 'two'), (3, 'three')");
			await c.query("INSERT INTO n (id, a) VALUES (1, 1), (2, 2)");
		});
		const id = await replicationProject(
			fx.ctx,
			db,
			{ t: { columns: ["id", "v"] }, n: { columns: ["id", "a"] } },
			"switched",
			false,
			[{ database: db }, { database: db, table: "n", columns: ["id", "a"] }],
		);
		// the destination took writes the source never saw (reverse replay was not running)
		await fx.dst.query(`INSERT INTO ${quoteId(db)}.t VALUES (4, 'four at the destination')`);
		await fx.dst.query(`UPDATE ${quoteId(db)}.t SET v = 'changed' WHERE id = 1`);
		await fx.dst.query(`DELETE FROM ${quoteId(db)}.t WHERE id = 3`);
		await fx.dst.query(`UPDATE ${quoteId(db)}.n SET a = 20 WHERE id = 2`);
		await fx.src.query(`UPDATE ${quoteId(db)}.n SET keep_me = 99 WHERE id = 2`);
		await startVerification(fx.ctx, id);
		const r = await verifyToEnd(fx.ctx, id);
		expect(r.run.truth).toBe("destination");
		// missing: rows the truth has and the other end lacks
		expect(table(r, "t")).toMatchObject({ missing: 1, extra: 1, different: 1, columns: ["v"] });
		expect(table(r, "n")).toMatchObject({ missing: 0, extra: 0, different: 1, columns: ["a"] });
		const { script } = await correctionSql(fx.ctx, id);
		expect(script).toContain(`${quoteId(db)}.\`t\``);
		expect(script).toMatch(/'four at the destination'/);
		expect(script).not.toMatch(/REPLACE INTO/);

		await requestCorrection(fx.ctx, id);
		const after = await verifyToEnd(fx.ctx, id);
		expect(after.run.state).toBe("done");
		expect(after.run.totals).toMatchObject({ missing: 0, extra: 0, different: 0, tablesDiffering: 0 });
		const rows = async (c: Connection, sql: string) =>
			(await c.query<RowDataPacket[]>(sql))[0].map((x) => ({ ...x }) as Row);
		const all = `SELECT * FROM ${quoteId(db)}.t ORDER BY id`;
		// corrected at the source, from the destination's data
		expect(await rows(fx.src, all)).toEqual(await rows(fx.dst, all));
		expect(await rows(fx.dst, all)).toEqual([
			{ id: 1, v: "changed" },
			{ id: 2, v: "two" },
			{ id: 4, v: "four at the destination" },
		]);
		expect(await rows(fx.src, `SELECT id, a, keep_me FROM ${quoteId(db)}.n ORDER BY id`)).toEqual([
			{ id: 1, a: 1, keep_me: 9 },
			{ id: 2, a: 20, keep_me: 99 },
		]);
	}, 120_000);
});
