import type { RowDataPacket } from "mysql2";
import { afterAll, describe, expect, it } from "vitest";
import { compareDatabases } from "../../cli/demo/compare.ts";
import { type Connection, connect } from "../../shared/db/connect.ts";
import { quoteId, quoteTable } from "../../shared/db/sql.ts";
import { destinationCredentials, sourceCredentials, uniqueDatabase } from "../support/databases.ts";
import { useTestStack, waitForProject } from "../support/stack.ts";

/**
 * A chunk statement that writes nothing to its client until it is done (here a range DELETE
 * waiting for a row lock, and a verification checksum waiting for a table lock) runs on at the
 * server when its worker is killed. Pause, release and the next lease holder kill it.
 */
describe("what a chunk runs on the servers stops with the chunk", () => {
	const db = uniqueDatabase("cancel");
	const table = { database: db, table: "t" };
	let admin: Connection;
	let projectId: string;
	const t = useTestStack({
		workers: 1,
		// a killed worker's chunk is taken over within 3 s
		env: { FERRY_CHUNK_LEASE_MS: "3000", FERRY_CHUNK_QUEUED_MS: "3000" },
		seed: async () => {
			for (const creds of [sourceCredentials, destinationCredentials]) {
				const c = await connect(creds);
				await c.query(`CREATE DATABASE ${quoteId(db)}`);
				await c.query(`CREATE TABLE ${quoteTable(table)} (id INT PRIMARY KEY, v VARCHAR(20))`);
				const rows = Array.from({ length: 200 }, (_, i) => [i + 1, `v${i}`]);
				if (creds === sourceCredentials) await c.query(`INSERT INTO ${quoteTable(table)} VALUES ?`, [rows]);
				await c.end();
			}
			admin = await connect(destinationCredentials);
		},
		databases: [db],
	});
	afterAll(() => admin?.end());

	/** Destination threads running a statement on the test table that starts with `verb`. */
	async function threads(verb: string): Promise<number[]> {
		const [rows] = await admin.query<RowDataPacket[]>(
			"SELECT ID AS id FROM information_schema.PROCESSLIST WHERE COMMAND = 'Query' AND INFO LIKE ? AND INFO LIKE ?",
			[`${verb}%`, `%${db}%`],
		);
		return rows.map((r) => Number(r.id));
	}

	async function waitFor<T>(what: string, probe: () => Promise<T | null>, ms: number): Promise<T> {
		const deadline = Date.now() + ms;
		for (;;) {
			const v = await probe();
			if (v !== null) return v;
			if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
			await new Promise((r) => setTimeout(r, 200));
		}
	}

	const gone = (id: number) => async () => ((await threads("")).includes(id) ? null : true);

	it("a worker killed mid-chunk: its statement runs on until the next lease holder kills it; pause kills that one", async () => {
		// an uncommitted row in the chunk's range: the chunk's DELETE waits for it (innodb_lock_wait_timeout, 50 s)
		const blocker = await connect(destinationCredentials);
		await blocker.query("START TRANSACTION");
		await blocker.query(`INSERT INTO ${quoteTable(table)} VALUES (100, 'blocker')`);
		projectId = await t.startProject({
			name: "cancel",
			types: ["full"],
			objects: [{ database: db }],
			options: { parallelism: 1, chunkRows: 1000 },
		});
		const [first] = await waitFor(
			"the chunk's DELETE",
			async () => ((await threads("DELETE")).length ? threads("DELETE") : null),
			30_000,
		);
		const worker = t.stack.workers().find((w) => w.exitCode === null && w.signalCode === null);
		expect(worker?.kill("SIGKILL")).toBe(true);
		// the server does not notice the client is gone; local mode releases the dead worker's chunk
		// at once, and the restarted worker leases it, kills the old statement, and blocks again
		const [second] = await waitFor(
			"the old DELETE killed and a new one running",
			async () => {
				const now = await threads("DELETE");
				return !now.includes(first as number) && now.length ? now : null;
			},
			30_000,
		);
		const paused = Date.now();
		await t.api.post(`/projects/${projectId}/actions/pause`);
		await waitFor("the DELETE gone after pause", gone(second as number), 5_000);
		expect(Date.now() - paused).toBeLessThan(5_000);
		await blocker.query("ROLLBACK");
		await blocker.end();
		// the interrupted attempts did not count against the chunk: resumed, it completes
		await t.api.post(`/projects/${projectId}/actions/resume`);
		const status = await waitForProject(t.api, projectId, 60_000);
		expect(status.state, JSON.stringify(status.ticket)).toBe("completed");
		const report = await compareDatabases(sourceCredentials, destinationCredentials, db);
		expect(report.identical, report.lines.join("\n")).toBe(true);
	}, 120_000);

	it("refuses a throttle under which one chunk's read would outlast the statement bound", async () => {
		const err = await t.api
			.post("/projects", {
				name: "too slow",
				...t.ids,
				types: ["full"],
				objects: [{ database: db }],
				options: { parallelism: 4, chunkRows: 100_000, maxRowsPerSecond: 100, queryTimeoutSeconds: 600 },
			})
			.catch((e: Error) => e);
		expect(String(err)).toMatch(/a chunk of 100000 rows copies in 4000 s .* longer than queryTimeoutSeconds \(600 s\)/);
	});

	it("release kills a verification chunk's statement", async () => {
		const locker = await connect(destinationCredentials);
		await locker.query(`LOCK TABLES ${quoteTable(table)} WRITE`);
		try {
			await t.api.post(`/projects/${projectId}/verification`, {});
			const [checksum] = await waitFor(
				"the verification checksum",
				async () => ((await threads("SELECT COUNT(*)")).length ? threads("SELECT COUNT(*)") : null),
				30_000,
			);
			const released = Date.now();
			await t.api.post(`/projects/${projectId}/actions/release`);
			await waitFor("the checksum gone after release", gone(checksum as number), 5_000);
			expect(Date.now() - released).toBeLessThan(5_000);
			const status = await t.status(projectId);
			expect(status.state).toBe("released");
		} finally {
			await locker.query("UNLOCK TABLES");
			await locker.end();
		}
	}, 60_000);
});
