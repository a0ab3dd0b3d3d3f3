import type { ChildProcess } from "node:child_process";
import type { RowDataPacket } from "mysql2";
import { describe, expect, it } from "vitest";
import { type Connection, connect } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import type { Credentials } from "../../shared/model/datasource.ts";
import type { VerificationResults } from "../../shared/scheduler/verification-results.ts";
import { destinationCredentials, sourceCredentials, uniqueDatabase } from "../support/databases.ts";
import { useTestStack, waitFor, waitForIdentical } from "../support/stack.ts";

/**
 * Foreign-key actions (ON DELETE/UPDATE CASCADE, SET NULL) through real projects: InnoDB runs
 * them below the binlog, so the only way they reach the other side is replay redoing them.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** a <- b (CASCADE delete and update) <- c (CASCADE delete, SET NULL on update); n -> a (SET NULL). */
const SCHEMA = [
	"CREATE TABLE a (id INT PRIMARY KEY, v INT NOT NULL)",
	"CREATE TABLE b (id INT PRIMARY KEY, aid INT, v INT NOT NULL, KEY (aid), CONSTRAINT fk_b FOREIGN KEY (aid) REFERENCES a (id) ON DELETE CASCADE ON UPDATE CASCADE)",
	"CREATE TABLE c (id INT PRIMARY KEY, bid INT, v INT NOT NULL, KEY (bid), CONSTRAINT fk_c FOREIGN KEY (bid) REFERENCES b (id) ON DELETE CASCADE ON UPDATE SET NULL)",
	"CREATE TABLE n (id INT PRIMARY KEY, aid INT, KEY (aid), CONSTRAINT fk_n FOREIGN KEY (aid) REFERENCES a (id) ON DELETE SET NULL ON UPDATE SET NULL)",
];

async function createSchema(creds: Credentials, db: string, rows: number): Promise<void> {
	const c = await connect(creds);
	await c.query(`CREATE DATABASE ${quoteId(db)} CHARACTER SET utf8mb4`);
	await c.query(`USE ${quoteId(db)}`);
	for (const sql of SCHEMA) await c.query(sql);
	const list = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i + 1)).join(", ");
	await c.query(`INSERT INTO a VALUES ${list(rows, (i) => `(${i}, ${i})`)}`);
	await c.query(`INSERT INTO b VALUES ${list(rows * 3, (i) => `(${i}, ${1 + (i % rows)}, ${i})`)}`);
	await c.query(`INSERT INTO c VALUES ${list(rows * 6, (i) => `(${i}, ${1 + (i % (rows * 3))}, ${i})`)}`);
	await c.query(`INSERT INTO n VALUES ${list(rows, (i) => `(${i}, ${i})`)}`);
	await c.end();
}

async function ids(creds: Credentials, db: string, table: string): Promise<number[]> {
	const c = await connect(creds);
	const [r] = await c.query<RowDataPacket[]>(`SELECT id FROM ${quoteId(db)}.${quoteId(table)} ORDER BY id`);
	await c.end();
	return r.map((x) => Number(x.id));
}

/**
 * Random DML over the cascading schema, with foreign key checks on as an application has them:
 * parents deleted (cascading two levels) and re-keyed (cascading and setting NULL), children
 * moved, inserted and deleted. A statement the constraints refuse is simply not made.
 */
async function randomWrites(creds: Credentials, db: string, signal: AbortSignal, seed: number): Promise<number> {
	const conn: Connection = await connect(creds);
	await conn.query(`USE ${quoteId(db)}`);
	let s = seed;
	const rand = (n: number) => {
		s = (s * 1103515245 + 12345) & 0x7fffffff;
		return s % n;
	};
	let next = 100_000 + seed * 10_000;
	let done = 0;
	try {
		while (!signal.aborted) {
			const op = rand(10);
			const a = 1 + rand(60);
			const b = 1 + rand(180);
			const statements =
				op === 0
					? [`DELETE FROM a WHERE id = ${a}`]
					: op === 1
						? [`UPDATE a SET id = ${next++} WHERE id = ${a}`]
						: op === 2
							? [`INSERT INTO a VALUES (${a}, 0)`, `INSERT INTO b VALUES (${next++}, ${a}, 1)`]
							: op === 3
								? [`UPDATE b SET id = ${next++} WHERE id = ${b}`]
								: op === 4
									? [`DELETE FROM b WHERE id = ${b}`]
									: op === 5
										? [`INSERT INTO b VALUES (${b}, ${a}, 2)`, `INSERT INTO c VALUES (${next++}, ${b}, 3)`]
										: op === 6
											? [`UPDATE b SET aid = ${a} WHERE id = ${b}`]
											: op === 7
												? [`INSERT INTO n VALUES (${next++}, ${a})`]
												: [`UPDATE a SET v = v + 1 WHERE id = ${a}`, `UPDATE c SET v = v + 1 WHERE bid = ${b}`];
			await conn.query("START TRANSACTION");
			try {
				for (const sql of statements) await conn.query(sql);
				await conn.query("COMMIT");
				done += 1;
			} catch {
				await conn.query("ROLLBACK");
			}
			await sleep(2);
		}
	} finally {
		await conn.end();
	}
	return done;
}

describe("foreign-key actions through projects (local stack, real MariaDB)", () => {
	const twoWay = uniqueDatabase("fk2way");
	const chaos = uniqueDatabase("fkchaos");
	const t = useTestStack({
		workers: 2,
		env: { FERRY_REPLICATION_HEARTBEAT_TIMEOUT_MS: "3000" },
		seed: async () => {
			await createSchema(sourceCredentials, twoWay, 10);
			await createSchema(sourceCredentials, chaos, 60);
		},
		databases: [twoWay, chaos],
	});

	it("two-way sync: a cascade made at either side reaches the other side's children", async () => {
		const projectId = await t.startProject({
			name: "fk two-way",
			types: ["schema", "full", "incremental"],
			objects: [{ database: twoWay }],
			options: { twoWay: true },
		});
		await waitFor("both streams in exact mode", async () => {
			const s = await t.status(projectId);
			if (s.state !== "running") throw new Error(`project ${s.state}: ${JSON.stringify(s.ticket)}`);
			return s.incremental?.phase === "exact" && s.reverse?.phase === "exact" ? s : undefined;
		});
		const run = async (creds: Credentials, ...statements: string[]) => {
			const c = await connect(creds);
			await c.query(`USE ${quoteId(twoWay)}`);
			for (const sql of statements) await c.query(sql);
			await c.end();
		};
		// forward: a delete through two levels, a key change; reverse: the same at the destination
		await run(sourceCredentials, "DELETE FROM a WHERE id = 1", "UPDATE a SET id = 31 WHERE id = 3");
		await run(destinationCredentials, "DELETE FROM a WHERE id = 2", "UPDATE a SET id = 44 WHERE id = 4");
		const report = await waitForIdentical(sourceCredentials, destinationCredentials, twoWay, 60_000);
		expect(report.identical, report.lines.join("\n")).toBe(true);
		for (const creds of [sourceCredentials, destinationCredentials]) {
			const b = await ids(creds, twoWay, "b");
			// b rows 10, 20, 30 had aid 1 (i % 10 = 0 -> aid 1) and b 1, 11, 21 had aid 2: all gone on both sides
			expect(b).not.toContain(10);
			expect(b).not.toContain(1);
			const c = await connect(creds);
			const [[counts]] = await c.query<RowDataPacket[]>(
				`SELECT (SELECT COUNT(*) FROM ${quoteId(twoWay)}.b WHERE aid IN (1, 2)) AS orphans,
					(SELECT COUNT(*) FROM ${quoteId(twoWay)}.b WHERE aid = 31) AS moved3,
					(SELECT COUNT(*) FROM ${quoteId(twoWay)}.b WHERE aid = 44) AS moved4,
					(SELECT COUNT(*) FROM ${quoteId(twoWay)}.n WHERE aid IS NULL) AS nulled,
					(SELECT COUNT(*) FROM ${quoteId(twoWay)}.c WHERE bid IN (10, 1)) AS grandchildren`,
			);
			await c.end();
			expect(Object.fromEntries(Object.entries(counts ?? {}).map(([k, v]) => [k, Number(v)]))).toEqual({
				orphans: 0,
				moved3: 3,
				moved4: 3,
				nulled: 4,
				grandchildren: 0,
			});
		}
		await t.api.post(`/projects/${projectId}/actions/pause`);
		await t.api.post(`/projects/${projectId}/actions/release`);
	}, 240_000);

	it("random cascading DML under replay with kills of the replication task ends identical, and verification agrees", async () => {
		const load = new AbortController();
		const writers = [1, 2].map((seed) => randomWrites(sourceCredentials, chaos, load.signal, seed));
		const projectId = await t.startProject({
			name: "fk chaos",
			types: ["schema", "full", "incremental", "verification"],
			objects: [{ database: chaos }],
			options: { parallelism: 2, chunkRows: 100 },
		});
		const status = () => t.status(projectId);
		await waitFor("replay running", async () => {
			const s = await status();
			if (s.state !== "running") throw new Error(`project ${s.state}: ${JSON.stringify(s.ticket)}`);
			return s.incremental?.phase === "exact" ? true : undefined;
		});
		let kills = 0;
		for (let i = 0; i < 40 && kills < 3; i++) {
			const alive = t.stack.tasks().filter((p: ChildProcess) => p.exitCode === null && p.signalCode === null);
			if (alive[0]?.kill("SIGKILL")) kills += 1;
			await sleep(2000 + Math.random() * 1500);
		}
		load.abort();
		const written = await Promise.all(writers);
		expect(kills).toBe(3);
		expect(written.reduce((x, y) => x + y, 0)).toBeGreaterThan(200);
		const report = await waitForIdentical(sourceCredentials, destinationCredentials, chaos, 120_000);
		expect(report.identical, report.lines.join("\n")).toBe(true);
		// the cascades did happen at the source: some children of deleted parents are gone
		expect((await ids(sourceCredentials, chaos, "c")).length).toBeLessThan(360);

		const runOver = (run: number) =>
			waitFor(`verification run ${run}`, async () => {
				const r = await t.api.get<VerificationResults>(`/projects/${projectId}/verification`).catch(() => undefined);
				return r && r.run.run === run && r.run.state === "done" ? r : undefined;
			});
		// the project's own run (during the writes, with rechecks behind replay), then one over the quiet end state
		expect((await runOver(1)).run.totals).toMatchObject({ missing: 0, extra: 0, different: 0 });
		const rerun = await t.api.post<{ verification: { run: number } }>(`/projects/${projectId}/verification`, {});
		expect((await runOver(rerun.verification.run)).run.totals).toMatchObject({ missing: 0, extra: 0, different: 0 });
		const final = await status();
		expect(final.incremental?.inconsistencies ?? 0).toBe(0);
	}, 400_000);
});
