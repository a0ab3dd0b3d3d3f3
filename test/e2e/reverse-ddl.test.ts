import type { RowDataPacket } from "mysql2";
import { describe, expect, it } from "vitest";
import { compareDatabases } from "../../cli/demo/compare.ts";
import { resolveTicket } from "../../shared/control/projects.ts";
import type { Connection } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import { SYSTEM } from "../../shared/model/actor.ts";
import { markSql } from "../../shared/replay/checkpoint.ts";
import { replicationId } from "../../shared/replication/ids.ts";
import { runReplication } from "../../shared/replication/stream.ts";
import { startVerification } from "../../shared/scheduler/verification.ts";
import { updateProject } from "../../shared/state/projects.ts";
import type { ReplicationStatus } from "../../shared/state/streams.ts";
import { replicationStatus } from "../../shared/state/streams.ts";
import { listTables } from "../../shared/state/tables.ts";
import { destinationCredentials, sourceCredentials } from "../support/databases.ts";
import {
	type ReplicationMode,
	replicationProject,
	sleep,
	useTestContext,
	verifyToEnd,
	waitForStatus,
} from "../support/replication.ts";

/**
 * DDL at the destination once it takes writes (after a switchover, or all along in two-way
 * sync) reaches the source the way forward replay carries the source's DDL to the destination,
 * and no column's values are lost on the way: the replication tasks run in this process against
 * the real servers (see test/support/replication.ts).
 */

type Row = Record<string, unknown>;

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 40_000): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const v = await probe();
		if (v) return v;
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await sleep(300);
	}
}

async function select(c: Connection, sql: string): Promise<Row[]> {
	const [rows] = await c.query<RowDataPacket[]>(sql);
	return rows.map((r) => ({ ...r }));
}

async function hasColumn(c: Connection, db: string, table: string, column: string): Promise<boolean> {
	const [rows] = await c.query<RowDataPacket[]>(
		"SELECT 1 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?",
		[db, table, column],
	);
	return rows.length > 0;
}

/** Waits until both databases are the same by query (tables, SHOW CREATE TABLE, counts, checksums). */
async function identical(db: string): Promise<void> {
	let last = await compareDatabases(sourceCredentials, destinationCredentials, db);
	const deadline = Date.now() + 40_000;
	while (!last.identical && Date.now() < deadline) {
		await sleep(500);
		last = await compareDatabases(sourceCredentials, destinationCredentials, db);
	}
	expect(last.identical, last.lines.join("\n")).toBe(true);
}

describe("DDL at the destination reaches the source (reverse replication, after a switchover and in two-way sync)", () => {
	const fx = useTestContext("reverse-ddl", { verify: true });

	/** A database with table t (rows 1-3) at both ends and a project replicating it. */
	async function setUp(prefix: string, mode: ReplicationMode, reverseActive = true) {
		const db = fx.database(prefix);
		for (const c of [fx.src, fx.dst]) {
			await c.query(`CREATE DATABASE ${quoteId(db)} CHARACTER SET utf8mb4`);
			await c.query(`CREATE TABLE ${quoteId(db)}.t (id INT PRIMARY KEY, v VARCHAR(40)) ENGINE=InnoDB`);
			await c.query(`INSERT INTO ${quoteId(db)}.t VALUES (1, 'one'), (2, 'two'), (3, 'three')`);
		}
		const projectId = await replicationProject(fx.ctx, db, { t: { columns: ["id", "v"] } }, mode, reverseActive);
		const ids = { forward: replicationId(projectId, "forward"), reverse: replicationId(projectId, "reverse") };
		fx.streams.push(ids.forward, ids.reverse);
		const q = (c: Connection, sql: string) => c.query(sql.replaceAll("$db", quoteId(db)));
		return { db, projectId, ids, q };
	}

	/** Runs a stream until `stop` aborts; `restart` stops it and starts a new task (a new session). */
	function stream(id: string, stop: AbortSignal) {
		let own = new AbortController();
		const onStop = () => own.abort();
		stop.addEventListener("abort", onStop);
		let task = runReplication(fx.ctx, id, own.signal);
		return {
			get task() {
				return task;
			},
			async restart() {
				own.abort();
				expect(await task).toBe("stopped");
				own = new AbortController();
				task = runReplication(fx.ctx, id, own.signal);
				await waitForStatus(fx.ctx, id, (s) => s.phase === "exact" && !s.fatal);
			},
			async end() {
				own.abort();
				stop.removeEventListener("abort", onStop);
				return task.catch((err: Error) => err.message);
			},
		};
	}

	const noStop = (s: ReplicationStatus | undefined) => {
		expect(s?.fatal).toBeUndefined();
		expect(s?.inconsistencies ?? 0).toBe(0);
	};

	it("after a switchover: an added column and a new table go back to the source with every value, also after a restart", async () => {
		const { db, projectId, ids, q } = await setUp("revddl_switched", "switched");
		const stop = new AbortController();
		const reverse = stream(ids.reverse, stop.signal);
		try {
			await waitForStatus(fx.ctx, ids.reverse, (s) => s.phase === "exact");
			await q(fx.dst, "ALTER TABLE $db.t ADD COLUMN x INT DEFAULT 7");
			await q(fx.dst, "INSERT INTO $db.t (id, v, x) VALUES (10, 'ten', 42)");
			await q(fx.dst, "UPDATE $db.t SET x = 43 WHERE id = 1");
			await q(fx.dst, "CREATE TABLE $db.fresh (id INT PRIMARY KEY, w VARCHAR(20) NOT NULL DEFAULT '')");
			await q(fx.dst, "INSERT INTO $db.fresh VALUES (1, 'a'), (2, 'b')");
			await q(fx.dst, "UPDATE $db.fresh SET w = 'B' WHERE id = 2");
			await identical(db);
			expect(await select(fx.src, `SELECT id, x FROM ${quoteId(db)}.t ORDER BY id`)).toEqual([
				{ id: 1, x: 43 },
				{ id: 2, x: 7 },
				{ id: 3, x: 7 },
				{ id: 10, x: 42 },
			]);
			noStop(await replicationStatus(fx.ctx, ids.reverse));
			// the project's mappings follow, for the next session, verification and the way forward
			const mappings = (await listTables(fx.ctx, projectId)).map((t) => t.mapping);
			expect(mappings.find((m) => m.source.table === "t")?.columns.map((c) => c.source)).toEqual(["id", "v", "x"]);
			expect(mappings.find((m) => m.source.table === "fresh")?.columns.map((c) => c.destination)).toEqual(["id", "w"]);

			await reverse.restart();
			await q(fx.dst, "UPDATE $db.t SET x = 44 WHERE id = 10");
			await q(fx.dst, "INSERT INTO $db.fresh VALUES (3, 'c')");
			await q(fx.dst, "ALTER TABLE $db.fresh DROP COLUMN w, ADD COLUMN z DATE");
			await q(fx.dst, "UPDATE $db.fresh SET z = '2026-12-06' WHERE id = 1");
			await identical(db);
			noStop(await replicationStatus(fx.ctx, ids.reverse));
		} finally {
			stop.abort();
			await reverse.end();
		}
	}, 120_000);

	it("two-way: DDL on either side ends up at both ends with the same columns and values", async () => {
		const { db, projectId, ids, q } = await setUp("revddl_twoway", "two-way");
		const stop = new AbortController();
		const forward = stream(ids.forward, stop.signal);
		const reverse = stream(ids.reverse, stop.signal);
		try {
			await Promise.all([
				waitForStatus(fx.ctx, ids.forward, (s) => s.phase === "exact"),
				waitForStatus(fx.ctx, ids.reverse, (s) => s.phase === "exact"),
			]);
			await q(fx.dst, "ALTER TABLE $db.t ADD COLUMN x INT DEFAULT 7");
			await until("x at the source", () => hasColumn(fx.src, db, "t", "x"));
			await q(fx.src, "ALTER TABLE $db.t ADD COLUMN y VARCHAR(10) DEFAULT 'y'");
			await until("y at the destination", () => hasColumn(fx.dst, db, "t", "y"));
			await q(fx.src, "INSERT INTO $db.t (id, v, x, y) VALUES (100, 'from the source', 1, 'a')");
			await q(fx.dst, "INSERT INTO $db.t (id, v, x, y) VALUES (200, 'from the destination', 2, 'b')");
			await q(fx.src, "UPDATE $db.t SET x = 5 WHERE id = 1");
			await q(fx.dst, "UPDATE $db.t SET y = 'z', x = 6 WHERE id = 2");

			await q(fx.dst, "CREATE TABLE $db.made_there (id INT PRIMARY KEY, n INT)");
			await q(fx.src, "CREATE TABLE $db.made_here (id INT PRIMARY KEY, s VARCHAR(10))");
			await until(
				"made_there at the source",
				async () => (await select(fx.src, `SHOW TABLES FROM ${quoteId(db)}`)).length === 3,
			);
			await until(
				"made_here at the destination",
				async () => (await select(fx.dst, `SHOW TABLES FROM ${quoteId(db)}`)).length === 3,
			);
			await q(fx.src, "INSERT INTO $db.made_there VALUES (1, 10)");
			await q(fx.dst, "INSERT INTO $db.made_there VALUES (2, 20)");
			await q(fx.src, "INSERT INTO $db.made_here VALUES (1, 'fx.src')");
			await q(fx.dst, "INSERT INTO $db.made_here VALUES (2, 'fx.dst')");
			await identical(db);
			expect(
				await select(fx.src, `SELECT id, x, y FROM ${quoteId(db)}.t WHERE id IN (1, 2, 100, 200) ORDER BY id`),
			).toEqual([
				{ id: 1, x: 5, y: "y" },
				{ id: 2, x: 6, y: "z" },
				{ id: 100, x: 1, y: "a" },
				{ id: 200, x: 2, y: "b" },
			]);
			noStop(await replicationStatus(fx.ctx, ids.forward));
			noStop(await replicationStatus(fx.ctx, ids.reverse));

			// both restarted: they go on from the mappings they persisted
			await forward.restart();
			await reverse.restart();
			await q(fx.dst, "UPDATE $db.t SET x = 60 WHERE id = 100");
			await q(fx.src, "UPDATE $db.t SET y = 'w' WHERE id = 200");
			await q(fx.src, "UPDATE $db.made_there SET n = 11 WHERE id = 2");
			await identical(db);
			noStop(await replicationStatus(fx.ctx, ids.forward));
			noStop(await replicationStatus(fx.ctx, ids.reverse));

			// verification covers the tables and columns made at either end during replay: a change at
			// the destination that reverse passes over (marked as forward's) is found in x
			await fx.dst.query("START TRANSACTION");
			await fx.dst.query(markSql(ids.forward));
			await q(fx.dst, "UPDATE $db.t SET x = 99 WHERE id = 100");
			await fx.dst.query("COMMIT");
			await startVerification(fx.ctx, projectId);
			const checked = await verifyToEnd(fx.ctx, projectId);
			expect(checked.run.truth).toBe("source");
			const result = (name: string) => checked.tables.find((r) => r.table === `${db}.${name}`);
			expect(result("t")).toMatchObject({ missing: 0, extra: 0, different: 1, columns: ["x"], schema: [] });
			for (const name of ["made_there", "made_here"]) {
				expect(result(name)).toMatchObject({ missing: 0, extra: 0, different: 0, schema: [] });
				expect(result(name)?.rowsChecked).toBe(2);
			}
		} finally {
			stop.abort();
			await Promise.all([forward.end(), reverse.end()]);
		}
	}, 180_000);

	for (const direction of ["reverse", "forward"] as const) {
		it(`${direction}: a statement replay refuses stops it with a ticket; made at the other end by hand and skipped, the column's values arrive`, async () => {
			// forward alone: a two-way project whose reverse is not turned on
			const { db, projectId, ids, q } = await setUp(
				`ddlskip_${direction}`,
				direction === "reverse" ? "switched" : "two-way",
				direction === "reverse",
			);
			const [from, to] = direction === "reverse" ? [fx.dst, fx.src] : [fx.src, fx.dst];
			const id = ids[direction];
			const stop = new AbortController();
			let replay = stream(id, stop.signal);
			try {
				await waitForStatus(fx.ctx, id, (s) => s.phase === "exact");
				// refused: ALTER IGNORE deletes duplicates of the new key without row events
				await q(from, "ALTER IGNORE TABLE $db.t ADD COLUMN x INT DEFAULT 7, ADD UNIQUE KEY uv (v)");
				expect(await Promise.race([replay.task, sleep(20_000).then(() => "still running")])).toBe("fatal");
				const fatal = (await replicationStatus(fx.ctx, id))?.fatal;
				expect(fatal?.message).toMatch(/ALTER IGNORE TABLE/);
				expect(fatal?.gtid).toBeTruthy();

				// what the ticket says: the change at the other end by hand, then skip
				await q(to, "ALTER TABLE $db.t ADD COLUMN x INT DEFAULT 7, ADD UNIQUE KEY uv (v)");
				await updateProject(fx.ctx, projectId, (p) =>
					direction === "reverse"
						? { ...p, reverse: { ...p.reverse, skipGtid: fatal?.gtid } }
						: { ...p, incremental: { ...p.incremental, skipGtid: fatal?.gtid } },
				);
				await fx.ctx.store.modify<ReplicationStatus>({ pk: "REPLICATION", sk: id }, (s) => ({
					...s,
					fatal: undefined,
				}));
				await replay.end();
				replay = stream(id, stop.signal);
				await q(from, "INSERT INTO $db.t (id, v, x) VALUES (10, 'ten', 42)");
				await q(from, "UPDATE $db.t SET x = 43 WHERE id = 1");
				const expected = [
					{ id: 1, x: 43 },
					{ id: 2, x: 7 },
					{ id: 3, x: 7 },
					{ id: 10, x: 42 },
				];
				const table = `${quoteId(db)}.t`;
				await until(
					"the values of x at the other end",
					async () =>
						JSON.stringify(await select(to, `SELECT id, x FROM ${table} ORDER BY id`)) === JSON.stringify(expected),
				).catch(async (err: Error) => {
					expect(await select(to, `SELECT id, x FROM ${table} ORDER BY id`), err.message).toEqual(expected);
				});
				// and after a restart
				await replay.restart();
				await q(from, "UPDATE $db.t SET x = 44 WHERE id = 10");
				await until("the update after the restart", async () => {
					const [row] = await select(to, `SELECT x FROM ${table} WHERE id = 10`);
					return row?.x === 44;
				});
				noStop(await replicationStatus(fx.ctx, id));
			} finally {
				stop.abort();
				await replay.end();
			}
		}, 120_000);
	}

	it("values the source has no column for stop reverse with a ticket skip cannot pass; once the column is added, retry writes them", async () => {
		const { db, projectId, ids, q } = await setUp("revddl_lost", "switched");
		const stop = new AbortController();
		let reverse = stream(ids.reverse, stop.signal);
		/** What the scheduler does with a fatal stop, and what the user's decision does. */
		const decide = async (decision: "retry" | "skip") => {
			expect(await Promise.race([reverse.task, sleep(20_000).then(() => "still running")])).toBe("fatal");
			await updateProject(fx.ctx, projectId, (p) => ({
				...p,
				state: "failed",
				ticket: { id: "tk-test", step: "reverse", message: "replication stopped", openedAt: new Date().toISOString() },
			}));
			const fatal = (await replicationStatus(fx.ctx, ids.reverse))?.fatal;
			await resolveTicket(fx.ctx, projectId, decision, SYSTEM);
			await reverse.end();
			reverse = stream(ids.reverse, stop.signal);
			return fatal;
		};
		try {
			await waitForStatus(fx.ctx, ids.reverse, (s) => s.phase === "exact");
			await q(fx.dst, "ALTER IGNORE TABLE $db.t ADD COLUMN x INT DEFAULT 7, ADD UNIQUE KEY uv (v)");
			// skipped without making the change at the source
			expect((await decide("skip"))?.statement).toMatch(/ALTER IGNORE TABLE/);
			await q(fx.dst, "INSERT INTO $db.t (id, v, x) VALUES (10, 'ten', 42)");
			expect(await Promise.race([reverse.task, sleep(20_000).then(() => "still running")])).toBe("fatal");
			const lost = (await replicationStatus(fx.ctx, ids.reverse))?.fatal;
			expect(lost?.message).toMatch(/column x, for which .* has no column x, so its values would be lost/);
			expect(lost?.gtid).toBeUndefined();
			await updateProject(fx.ctx, projectId, (p) => ({
				...p,
				state: "failed",
				ticket: { id: "tk-lost", step: "reverse", message: "replication stopped", openedAt: new Date().toISOString() },
			}));
			await expect(resolveTicket(fx.ctx, projectId, "skip", SYSTEM)).rejects.toMatchObject({ code: "CANNOT_SKIP" });

			await q(fx.src, "ALTER TABLE $db.t ADD COLUMN x INT DEFAULT 7");
			await resolveTicket(fx.ctx, projectId, "retry", SYSTEM);
			await reverse.end();
			reverse = stream(ids.reverse, stop.signal);
			await until("row 10 with x = 42 at the source", async () => {
				const [row] = await select(fx.src, `SELECT x FROM ${quoteId(db)}.t WHERE id = 10`);
				return row?.x === 42;
			});
			noStop(await replicationStatus(fx.ctx, ids.reverse));
		} finally {
			stop.abort();
			await reverse.end();
		}
	}, 120_000);
});
