import type { ResultSetHeader, RowDataPacket } from "mysql2";
import { beforeAll, describe, expect, it } from "vitest";
import { compareDatabases } from "../../cli/demo/compare.ts";
import { includesTransaction } from "../../shared/binlog/position.ts";
import type { Context } from "../../shared/context.ts";
import { connect } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import type { Credentials } from "../../shared/model/datasource.ts";
import {
	CHECKPOINT_TABLE,
	checkpointStatements,
	ensureMetaSchema,
	META_DATABASE,
	markSql,
	readCheckpoint,
} from "../../shared/replay/checkpoint.ts";
import { replicationId } from "../../shared/replication/ids.ts";
import { runReplication } from "../../shared/replication/stream.ts";
import { updateProject } from "../../shared/state/projects.ts";
import type { ReplicationStatus } from "../../shared/state/streams.ts";
import { replicationStatus } from "../../shared/state/streams.ts";
import { listTables } from "../../shared/state/tables.ts";
import { destinationCredentials, sourceCredentials } from "../support/databases.ts";
import { type MappedTables, replicationProject, sleep, useTestContext, waitForStatus } from "../support/replication.ts";

/**
 * Two-way sync at the level of the replication task: forward (source -> destination) and
 * reverse (destination -> source) replication of one project run in this process against the
 * real source and destination instances and the embedded AWS servers, without a scheduler.
 */

type Tables = Record<string, { ddl: string; columns: string[] }>;

const twoWayProject = (ctx: Context, db: string, tables: MappedTables, reverseActive: boolean) =>
	replicationProject(ctx, db, tables, "two-way", reverseActive);

const TABLES: Tables = {
	items: {
		ddl: "id INT PRIMARY KEY, side CHAR(1) NOT NULL, n INT NOT NULL, note VARCHAR(100)",
		columns: ["id", "side", "n", "note"],
	},
	pairs: { ddl: "a INT, b INT, v VARCHAR(50), PRIMARY KEY (a, b)", columns: ["a", "b", "v"] },
	journal: { ddl: "side CHAR(1), seq INT, msg VARCHAR(50)", columns: ["side", "seq", "msg"] },
};

async function createTables(db: string): Promise<void> {
	for (const creds of [sourceCredentials, destinationCredentials]) {
		const c = await connect(creds);
		await c.query(`CREATE DATABASE ${quoteId(db)} CHARACTER SET utf8mb4`);
		for (const [table, t] of Object.entries(TABLES)) {
			await c.query(`CREATE TABLE ${quoteId(db)}.${quoteId(table)} (${t.ddl}) ENGINE=InnoDB`);
		}
		// the same starting rows on both sides, as after a full migration
		await c.query(
			`INSERT INTO ${quoteId(db)}.items VALUES ${Array.from({ length: 40 }, (_, i) => `(${i}, '${i % 2 ? "d" : "s"}', 0, 'seed')`).join(", ")}`,
		);
		await c.end();
	}
}

/**
 * One side's writers: inserts, updates and deletes of rows only this side writes (its own id
 * range and seed rows), in transactions of one to three statements. Counts the row changes of
 * committed transactions: exactly what the other direction must apply, no more.
 */
async function writeFor(
	creds: Credentials,
	db: string,
	side: "s" | "d",
	signal: AbortSignal,
	connections = 2,
): Promise<{ rows: number; transactions: number }> {
	const totals = { rows: 0, transactions: 0 };
	await Promise.all(
		Array.from({ length: connections }, async (_, k) => {
			const c = await connect(creds);
			await c.query(`USE ${quoteId(db)}`);
			const lane = (side === "s" ? 0 : connections) + k; // disjoint id lanes
			// the seed rows: even ids are the source's, odd ones the destination's, shared out among the connections
			const owned = new Set<number>();
			for (let i = side === "s" ? 0 : 1; i < 40; i += 2) if (Math.floor(i / 2) % connections === k) owned.add(i);
			let next = 1000 + lane;
			let seq = 0;
			try {
				while (!signal.aborted) {
					const statements = 1 + Math.floor(Math.random() * 3);
					let rows = 0;
					await c.query("START TRANSACTION");
					for (let s = 0; s < statements; s++) {
						const op = Math.random();
						const existing = [...owned];
						const pick = existing[Math.floor(Math.random() * existing.length)];
						let r: ResultSetHeader;
						if (op < 0.35 || pick === undefined) {
							[r] = await c.query<ResultSetHeader>("INSERT INTO items (id, side, n, note) VALUES (?, ?, 0, ?)", [
								next,
								side,
								`by ${side}${k}`,
							]);
							owned.add(next);
							next += 2 * connections;
						} else if (op < 0.65) {
							[r] = await c.query<ResultSetHeader>("UPDATE items SET n = n + 1, note = ? WHERE id = ?", [
								`${side}${k} #${seq}`,
								pick,
							]);
						} else if (op < 0.75) {
							[r] = await c.query<ResultSetHeader>("DELETE FROM items WHERE id = ?", [pick]);
							owned.delete(pick);
						} else if (op < 0.9) {
							[r] = await c.query<ResultSetHeader>(
								"INSERT INTO pairs (a, b, v) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE v = VALUES(v)",
								[lane, seq % 50, `${side}${k} #${seq}`],
							);
							// an upsert that updates counts 2 affected rows but is one row change
							r = { ...r, affectedRows: Math.min(1, r.affectedRows) } as ResultSetHeader;
						} else {
							[r] = await c.query<ResultSetHeader>("INSERT INTO journal (side, seq, msg) VALUES (?, ?, ?)", [
								side,
								lane * 1_000_000 + seq,
								"keyless",
							]);
						}
						seq += 1;
						rows += r.affectedRows;
					}
					await c.query("COMMIT");
					totals.rows += rows;
					totals.transactions += 1;
				}
			} finally {
				await c.end();
			}
		}),
	);
	return totals;
}

describe("two-way sync: forward and reverse replication of one project at once", () => {
	const fx = useTestContext("twoway");
	const db = fx.database("ferry_twoway");
	const db2 = fx.database("ferry_twoway_marks");
	const db3 = fx.database("ferry_twoway_ddl");
	const db4 = fx.database("ferry_twoway_addcol");
	// the mark the marks test writes for a stream of another project
	fx.streams.push("pr-other-stream");

	beforeAll(() => createTables(db));

	it("keeps both sides identical under writes on both, sends nothing back, and stops each direction on its own", async () => {
		const projectId = await twoWayProject(fx.ctx, db, TABLES, true);
		const [fwdId, revId] = [replicationId(projectId, "forward"), replicationId(projectId, "reverse")];
		fx.streams.push(fwdId, revId);
		const fwdStop = new AbortController();
		const revStop = new AbortController();
		const forward = runReplication(fx.ctx, fwdId, fwdStop.signal);
		const reverse = runReplication(fx.ctx, revId, revStop.signal);
		try {
			// both tasks hold their own lease and report their own status
			const [fs, rs] = await Promise.all([
				waitForStatus(fx.ctx, fwdId, (s) => s.phase === "exact"),
				waitForStatus(fx.ctx, revId, (s) => s.phase === "exact"),
			]);
			expect(fs?.phase).toBe("exact");
			expect(rs?.phase).toBe("exact");
			expect(fs?.owner).not.toBe(rs?.owner);

			const load = new AbortController();
			const writers = Promise.all([
				writeFor(sourceCredentials, db, "s", load.signal),
				writeFor(destinationCredentials, db, "d", load.signal),
			]);
			await sleep(6000);
			// DDL at the source: forward replays it at the destination; reverse recognises it as
			// forward's and follows the new column (the destination's rows carry it from then on)
			const ddl = await connect(sourceCredentials);
			await ddl.query(`ALTER TABLE ${quoteId(db)}.items ADD COLUMN extra INT NOT NULL DEFAULT 5`);
			await ddl.end();
			await sleep(9000);
			load.abort();
			const [fromSource, fromDestination] = await writers;
			expect(fromSource.transactions).toBeGreaterThan(50);
			expect(fromDestination.transactions).toBeGreaterThan(50);

			const deadline = Date.now() + 60_000;
			let report = await compareDatabases(sourceCredentials, destinationCredentials, db);
			while (!report.identical && Date.now() < deadline) {
				await sleep(1000);
				report = await compareDatabases(sourceCredentials, destinationCredentials, db);
			}
			expect(report.identical, report.lines.join("\n")).toBe(true);

			// each direction applied exactly the other side's row changes: an echo would add rows
			const f = await waitForStatus(fx.ctx, fwdId, (s) => s.rows >= fromSource.rows);
			const r = await waitForStatus(fx.ctx, revId, (s) => s.rows >= fromDestination.rows);
			expect(f?.rows).toBe(fromSource.rows);
			expect(r?.rows).toBe(fromDestination.rows);
			// both skipped what the other wrote, and found nothing unexpected in exact mode
			expect(f?.echoes ?? 0).toBeGreaterThan(0);
			expect(r?.echoes ?? 0).toBeGreaterThan(0);
			expect(f?.inconsistencies).toBe(0);
			expect(r?.inconsistencies).toBe(0);
			expect(f?.fatal).toBeUndefined();
			expect(r?.fatal).toBeUndefined();

			// quiet: neither direction sends anything more (other tests' writes to these servers
			// move the positions, not the rows of this database)
			await sleep(5000);
			const [f2, r2] = await Promise.all([replicationStatus(fx.ctx, fwdId), replicationStatus(fx.ctx, revId)]);
			expect(f2?.rows).toBe(fromSource.rows);
			expect(r2?.rows).toBe(fromDestination.rows);
			expect(await compareDatabases(sourceCredentials, destinationCredentials, db)).toMatchObject({ identical: true });

			// reverse deactivated: the reverse task stops, forward goes on
			await updateProject(fx.ctx, projectId, (p) => ({ ...p, reverse: { ...p.reverse, active: false } }));
			expect(await Promise.race([reverse, sleep(15_000).then(() => "still running")])).toBe("stopped");
			const src = await connect(sourceCredentials);
			await src.query(`INSERT INTO ${quoteId(db)}.items (id, side, n, note) VALUES (999999, 's', 1, 'after')`);
			await src.end();
			const dst = await connect(destinationCredentials);
			let arrived: RowDataPacket[] = [];
			for (let i = 0; i < 30 && arrived.length === 0; i++) {
				await sleep(500);
				[arrived] = await dst.query<RowDataPacket[]>(`SELECT note FROM ${quoteId(db)}.items WHERE id = 999999`);
			}
			await dst.end();
			expect(arrived).toEqual([{ note: "after" }]);

			// project paused: forward stops too
			await updateProject(fx.ctx, projectId, (p) => ({ ...p, state: "paused" }));
			expect(await Promise.race([forward, sleep(15_000).then(() => "still running")])).toBe("stopped");
		} finally {
			fwdStop.abort();
			revStop.abort();
			await Promise.allSettled([forward, reverse]);
		}
	}, 180_000);

	it("skips a transaction the peer stream marked, large or not, and forwards one another stream marked", async () => {
		const c = await connect(sourceCredentials);
		await c.query(`CREATE DATABASE ${quoteId(db2)}`);
		await c.query(`CREATE TABLE ${quoteId(db2)}.t (id INT PRIMARY KEY, v VARCHAR(40))`);
		const d = await connect(destinationCredentials);
		await d.query(`CREATE DATABASE ${quoteId(db2)}`);
		await d.query(`CREATE TABLE ${quoteId(db2)}.t (id INT PRIMARY KEY, v VARCHAR(40))`);
		await ensureMetaSchema(c);
		const projectId = await twoWayProject(fx.ctx, db2, { t: { columns: ["id", "v"] } }, false);
		const fwdId = replicationId(projectId, "forward");
		const peer = replicationId(projectId, "reverse");
		fx.streams.push(fwdId, peer);
		const t = `${quoteId(db2)}.t`;

		/** Runs one transaction at the source and returns its GTID. */
		const transaction = async (...statements: string[]): Promise<string> => {
			await c.query("START TRANSACTION");
			for (const sql of statements) await c.query(sql);
			await c.query("COMMIT");
			const [[row]] = await c.query<RowDataPacket[]>("SELECT @@last_gtid AS gtid");
			return String(row?.gtid);
		};
		const values = (from: number, n: number, v: string) =>
			Array.from({ length: n }, (_, i) => `(${from + i}, '${v}')`).join(", ");

		let stop = new AbortController();
		let forward = runReplication(fx.ctx, fwdId, stop.signal);
		try {
			await waitForStatus(fx.ctx, fwdId, (s) => s.phase === "exact");
			const skipped = [
				// marked first, as replay does
				await transaction(markSql(peer), `INSERT INTO ${t} VALUES (1, 'peer')`),
				// marked first, then more rows than a part holds: decided before the first part
				await transaction(
					markSql(peer),
					`INSERT INTO ${t} VALUES ${values(10_000, 1500, "peer big")}`,
					`INSERT INTO ${t} VALUES ${values(20_000, 1500, "peer big")}`,
				),
				// marked after its rows, within the first part: still recognised
				await transaction(
					`INSERT INTO ${t} VALUES (4, 'peer late')`,
					...checkpointStatements(peer, { gtid: "0-1-1", file: "binlog.000001", pos: 4 }, null),
				),
			];
			// marked by another stream (a chain A -> B -> C run by another project): forwarded
			const other = await transaction(
				...checkpointStatements("pr-other-stream", { gtid: "0-1-2", file: "binlog.000001", pos: 5 }, null),
				`INSERT INTO ${t} VALUES (2, 'other stream')`,
			);
			const plain = await transaction(`INSERT INTO ${t} VALUES (3, 'plain')`);

			const rowsAt = async () => {
				const [rows] = await d.query<RowDataPacket[]>(`SELECT id, v FROM ${t} ORDER BY id`);
				return rows.map((r) => ({ ...r }));
			};
			let rows = await rowsAt();
			for (let i = 0; i < 40 && rows.length < 2; i++) {
				await sleep(500);
				rows = await rowsAt();
			}
			await sleep(1500);
			expect(await rowsAt()).toEqual([
				{ id: 2, v: "other stream" },
				{ id: 3, v: "plain" },
			]);
			// ferry_meta itself is never replayed: the other stream's mark stays at the source
			const [marks] = await d.query<RowDataPacket[]>(
				`SELECT stream FROM ${quoteId(META_DATABASE)}.${quoteId(CHECKPOINT_TABLE)} WHERE stream IN (?)`,
				[["pr-other-stream", peer]],
			);
			expect(marks).toEqual([]);
			// the checkpoint moved past the skipped transactions: a restart does not read them again
			const status = await waitForStatus(fx.ctx, fwdId, (s) => (s.echoes ?? 0) >= 3);
			expect(status?.echoes).toBe(3);
			const checkpoint = await readCheckpoint(d, fwdId);
			for (const gtid of [...skipped, other, plain]) expect(includesTransaction(checkpoint?.position, gtid)).toBe(true);

			// a new task (after a restart) resumes after them and still forwards new transactions
			stop.abort();
			expect(await forward).toBe("stopped");
			stop = new AbortController();
			forward = runReplication(fx.ctx, fwdId, stop.signal);
			await transaction(`INSERT INTO ${t} VALUES (5, 'after restart')`);
			for (let i = 0; i < 40 && rows.length < 3; i++) {
				await sleep(500);
				rows = await rowsAt();
			}
			expect(rows.map((r) => r.id)).toEqual([2, 3, 5]);
		} finally {
			stop.abort();
			await forward.catch(() => {});
			await Promise.all([c.end(), d.end()]);
		}
	}, 120_000);

	it("in reverse, passes over forward's DROP TABLE and tables no rule replicates, and stops with a ticket on a DROP TABLE it cannot tell from forward's", async () => {
		for (const creds of [sourceCredentials, destinationCredentials]) {
			const c = await connect(creds);
			await c.query(`CREATE DATABASE ${quoteId(db3)}`);
			await c.query(`CREATE TABLE ${quoteId(db3)}.t (id INT PRIMARY KEY, v VARCHAR(40))`);
			await c.query(`CREATE TABLE ${quoteId(db3)}.gone (id INT PRIMARY KEY)`);
			await c.query(`CREATE TABLE ${quoteId(db3)}.kept (id INT PRIMARY KEY)`);
			await c.end();
		}
		const projectId = await twoWayProject(
			fx.ctx,
			db3,
			{ t: { columns: ["id", "v"] }, gone: { columns: ["id"] }, kept: { columns: ["id"] } },
			true,
		);
		const [fwdId, revId] = [replicationId(projectId, "forward"), replicationId(projectId, "reverse")];
		fx.streams.push(fwdId, revId);
		const stop = new AbortController();
		const forward = runReplication(fx.ctx, fwdId, stop.signal);
		let reverse = runReplication(fx.ctx, revId, stop.signal);
		const src = await connect(sourceCredentials);
		const dst = await connect(destinationCredentials);
		const other = `${db3}_other`;
		const arrives = async (id: number) => {
			for (let i = 0; i < 40; i++) {
				const [r] = await src.query<RowDataPacket[]>(`SELECT id FROM ${quoteId(db3)}.t WHERE id = ?`, [id]);
				if (r.length > 0) return true;
				await sleep(500);
			}
			return false;
		};
		try {
			await waitForStatus(fx.ctx, revId, (s) => s.phase === "exact");
			// forward drops a table at the destination (MariaDB logs DROP TABLE without the mark);
			// a table of a database no rule replicates is created at the destination: reverse passes over both
			await src.query(`DROP TABLE ${quoteId(db3)}.gone`);
			await dst.query(`CREATE DATABASE ${quoteId(other)}`);
			await dst.query(`CREATE TABLE ${quoteId(other)}.local_only (id INT PRIMARY KEY)`);
			await dst.query(`INSERT INTO ${quoteId(db3)}.t VALUES (1, 'from the destination')`);
			expect(await arrives(1)).toBe(true);
			const [gone] = await dst.query<RowDataPacket[]>(
				"SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'gone'",
				[db3],
			);
			expect(gone).toEqual([]);
			const [otherAtSource] = await src.query<RowDataPacket[]>("SHOW DATABASES LIKE ?", [other]);
			expect(otherAtSource).toEqual([]);

			// a DROP TABLE at the destination of a table the source still has: a person decides
			await dst.query(`DROP TABLE ${quoteId(db3)}.kept`);
			expect(await Promise.race([reverse, sleep(20_000).then(() => "still running")])).toBe("fatal");
			const fatal = (await replicationStatus(fx.ctx, revId))?.fatal;
			expect(fatal?.message).toMatch(/cannot tell it from forward replay's/);
			expect(fatal?.statement).toMatch(/DROP TABLE/);
			expect(fatal?.gtid).toBeTruthy();

			// the user drops it at the source by hand and skips: the table leaves the project, reverse goes on
			await src.query(`DROP TABLE ${quoteId(db3)}.kept`);
			await updateProject(fx.ctx, projectId, (p) => ({ ...p, reverse: { ...p.reverse, skipGtid: fatal?.gtid } }));
			await fx.ctx.store.modify<ReplicationStatus>({ pk: "REPLICATION", sk: revId }, (s) => ({
				...s,
				fatal: undefined,
			}));
			reverse = runReplication(fx.ctx, revId, stop.signal);
			await dst.query(`INSERT INTO ${quoteId(db3)}.t VALUES (2, 'after the skip')`);
			expect(await arrives(2)).toBe(true);
			expect((await listTables(fx.ctx, projectId)).map((t) => t.mapping.source.table).sort()).toEqual(["t"]);
		} finally {
			stop.abort();
			await Promise.allSettled([forward, reverse]);
			await dst.query(`DROP DATABASE IF EXISTS ${quoteId(other)}`);
			await Promise.all([src.end(), dst.end()]);
		}
	}, 120_000);

	it("in reverse, replays row events older than a column forward already added (and persisted in the mapping)", async () => {
		for (const creds of [sourceCredentials, destinationCredentials]) {
			const c = await connect(creds);
			await c.query(`CREATE DATABASE ${quoteId(db4)}`);
			await c.query(`CREATE TABLE ${quoteId(db4)}.t (id INT PRIMARY KEY, v VARCHAR(40))`);
			await c.query(`INSERT INTO ${quoteId(db4)}.t VALUES (1, 'one'), (2, 'two'), (3, 'three')`);
			await c.end();
		}
		const projectId = await twoWayProject(fx.ctx, db4, { t: { columns: ["id", "v"] } }, true);
		const [fwdId, revId] = [replicationId(projectId, "forward"), replicationId(projectId, "reverse")];
		fx.streams.push(fwdId, revId);
		const stop = new AbortController();
		const forward = runReplication(fx.ctx, fwdId, stop.signal);
		let reverse: Promise<unknown> = Promise.resolve();
		const src = await connect(sourceCredentials);
		const dst = await connect(destinationCredentials);
		const table = `${quoteId(db4)}.t`;
		try {
			await waitForStatus(fx.ctx, fwdId, (s) => s.phase === "exact");
			// reverse lags: the destination's writes wait in its binlog, written before the column existed
			await dst.query(`INSERT INTO ${table} VALUES (10, 'from the destination')`);
			await dst.query(`UPDATE ${table} SET v = 'two, changed at the destination' WHERE id = 2`);
			await dst.query(`DELETE FROM ${table} WHERE id = 3`);
			// the column added at the source: forward adds it at the destination and persists the mapping
			await src.query(`ALTER TABLE ${table} ADD COLUMN extra INT NOT NULL DEFAULT 5`);
			let persisted = false;
			for (let i = 0; i < 40 && !persisted; i++) {
				const items = await listTables(fx.ctx, projectId);
				persisted = items.some((t) => t.mapping.columns.some((c) => c.source === "extra"));
				if (!persisted) await sleep(500);
			}
			expect(persisted).toBe(true);
			// reverse starts from its start position, before those writes, with the mapping that has the column
			reverse = runReplication(fx.ctx, revId, stop.signal);
			await dst.query(`INSERT INTO ${table} (id, v, extra) VALUES (11, 'after the column', 7)`);
			let got: RowDataPacket[] = [];
			for (let i = 0; i < 40; i++) {
				[got] = await src.query<RowDataPacket[]>(`SELECT id, v, extra FROM ${table} ORDER BY id`);
				if (got.some((r) => r.id === 11)) break;
				await sleep(500);
			}
			expect(got.map((r) => ({ ...r }))).toEqual([
				{ id: 1, v: "one", extra: 5 },
				{ id: 2, v: "two, changed at the destination", extra: 5 },
				{ id: 10, v: "from the destination", extra: 5 },
				{ id: 11, v: "after the column", extra: 7 },
			]);
			const status = await replicationStatus(fx.ctx, revId);
			expect(status?.fatal).toBeUndefined();
			expect(status?.inconsistencies ?? 0).toBe(0);
		} finally {
			stop.abort();
			await Promise.allSettled([forward, reverse]);
			await Promise.all([src.end(), dst.end()]);
		}
	}, 120_000);
});
