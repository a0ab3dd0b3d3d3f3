import type { RowDataPacket } from "mysql2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planAllChunks } from "../../shared/chunking/plan.ts";
import { copyChunk } from "../../shared/copy/chunk.ts";
import { type Connection, connect, createPool, type Pool } from "../../shared/db/connect.ts";
import { quoteId, quoteTable } from "../../shared/db/sql.ts";
import type { TableMapping } from "../../shared/model/rules.ts";
import { killSession, openChunkConnections } from "../../shared/scheduler/chunks/sessions.ts";
import { verifyChunk } from "../../shared/verify/chunk.ts";
import { destinationCredentials, sourceCredentials, uniqueDatabase } from "../support/databases.ts";

/** A chunk's statements are bounded by the servers and can be killed by id from elsewhere. */

const db = uniqueDatabase("csess");
const table = { database: db, table: "t" };
const mapping: TableMapping = {
	source: table,
	destination: table,
	columns: ["id", "v"].map((c) => ({ source: c, destination: c })),
};
let sourcePool: Pool;
let destinationPool: Pool;
let admin: Connection;

beforeAll(async () => {
	for (const creds of [sourceCredentials, destinationCredentials]) {
		const c = await connect(creds);
		await c.query(`CREATE DATABASE ${quoteId(db)}`);
		await c.query(`CREATE TABLE ${quoteTable(table)} (id INT PRIMARY KEY, v VARCHAR(20))`);
		const rows = Array.from({ length: 100 }, (_, i) => [i + 1, "x"]);
		if (creds === sourceCredentials) await c.query(`INSERT INTO ${quoteTable(table)} VALUES ?`, [rows]);
		await c.end();
	}
	sourcePool = createPool(sourceCredentials, 2);
	destinationPool = createPool(destinationCredentials, 2);
	admin = await connect(destinationCredentials);
});

afterAll(async () => {
	await sourcePool?.end();
	await destinationPool?.end();
	for (const creds of [sourceCredentials, destinationCredentials]) {
		const c = await connect(creds);
		await c.query(`DROP DATABASE IF EXISTS ${quoteId(db)}`);
		await c.end();
	}
	await admin?.end();
});

/** A transaction at the destination holding a row the chunk must delete, until `release`. */
async function blockRow(id: number): Promise<{ release(): Promise<void> }> {
	const blocker = await connect(destinationCredentials);
	await blocker.query("START TRANSACTION");
	await blocker.query(`INSERT INTO ${quoteTable(table)} VALUES (?, 'blocker')`, [id]);
	return {
		async release() {
			await blocker.query("ROLLBACK");
			await blocker.end();
		},
	};
}

async function running(threadId: number): Promise<string | null> {
	const [rows] = await admin.query<RowDataPacket[]>(
		"SELECT INFO AS info FROM information_schema.PROCESSLIST WHERE ID = ? AND COMMAND = 'Query'",
		[threadId],
	);
	return rows[0] ? String(rows[0].info) : null;
}

async function waitFor(check: () => Promise<boolean>, ms: number): Promise<number> {
	const start = Date.now();
	while (!(await check())) {
		if (Date.now() - start > ms) throw new Error(`not within ${ms} ms`);
		await new Promise((r) => setTimeout(r, 100));
	}
	return Date.now() - start;
}

describe("chunk statements", () => {
	it("a copy statement waiting longer than the bound is stopped by the server", async () => {
		const [chunk] = await planAllChunks(sourcePool, mapping, { chunkRows: 1000 });
		const blocker = await blockRow(50);
		const c = await openChunkConnections(sourcePool, destinationPool, 2);
		try {
			const started = Date.now();
			// the range DELETE waits for the blocker's row lock (50 s by default) and is cut at 2 s
			await expect(copyChunk(c.source, c.destination, mapping, chunk as never)).rejects.toThrow(
				/max_statement_time exceeded/,
			);
			expect(Date.now() - started).toBeLessThan(10_000);
		} finally {
			c.close();
			await blocker.release();
		}
	});

	it("a verification statement waiting longer than the bound is stopped by the server", async () => {
		const [chunk] = await planAllChunks(sourcePool, mapping, { chunkRows: 1000 });
		const locker = await connect(destinationCredentials);
		await locker.query(`LOCK TABLES ${quoteTable(table)} WRITE`);
		const c = await openChunkConnections(sourcePool, destinationPool, 2);
		try {
			const started = Date.now();
			await expect(verifyChunk(c.source, c.destination, mapping, chunk as never)).rejects.toThrow(
				/max_statement_time exceeded/,
			);
			expect(Date.now() - started).toBeLessThan(10_000);
		} finally {
			c.close();
			await locker.query("UNLOCK TABLES");
			await locker.end();
		}
	});

	it("a statement that outlives its client is killed by its recorded id, unless the server restarted since", async () => {
		const [chunk] = await planAllChunks(sourcePool, mapping, { chunkRows: 1000 });
		const blocker = await blockRow(60);
		const c = await openChunkConnections(sourcePool, destinationPool, 3600);
		const id = c.sessions.destination.threadId;
		const copy = copyChunk(c.source, c.destination, mapping, chunk as never).catch((e: Error) => e);
		try {
			await waitFor(async () => /^DELETE/.test((await running(id)) ?? ""), 10_000);
			// recorded before a restart: not this server's thread any more, left alone
			expect(await killSession(admin, { ...c.sessions.destination, serverStart: 1 })).toBe(false);
			expect(await running(id)).toMatch(/^DELETE/);
			expect(await killSession(admin, c.sessions.destination)).toBe(true);
			expect(await waitFor(async () => (await running(id)) === null, 5_000)).toBeLessThan(5_000);
			expect(String(await copy)).toMatch(/destination failed/);
			expect(await killSession(admin, c.sessions.destination)).toBe(false);
		} finally {
			c.close();
			await blocker.release();
		}
	});
});
