import type { RowDataPacket } from "mysql2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RowImage } from "../../shared/capture/change.ts";
import { type ChunkSpec, planAllChunks } from "../../shared/chunking/plan.ts";
import { copyChunk } from "../../shared/copy/chunk.ts";
import { type Connection, connect, createPool, type Pool } from "../../shared/db/connect.ts";
import { quoteId, quoteTable } from "../../shared/db/sql.ts";
import type { Credentials } from "../../shared/model/datasource.ts";
import type { TableMapping } from "../../shared/model/rules.ts";
import { RowFilter } from "../../shared/replay/filter.ts";
import { resolveObjects } from "../../shared/schema/resolve.ts";
import { verifyChunk } from "../../shared/verify/chunk.ts";
import { correctionStatements } from "../../shared/verify/correct.ts";
import { prepareTable } from "../../shared/verify/normalise.ts";
import { destinationCredentials, sourceCredentials, uniqueDatabase } from "../support/databases.ts";

/**
 * Servers whose default sql_mode reads text differently (here every session starts with
 * ANSI_QUOTES, NO_BACKSLASH_ESCAPES and PIPES_AS_CONCAT, as a server configured so would give
 * it): every statement that embeds a row filter (precheck probe, planning, copy, verification,
 * replay's filter) runs in FILTER_SQL_MODE, so `"skip"` is a string everywhere and bound key
 * values with quotes and backslashes are read as the driver escaped them.
 */

const SERVER_MODE = "ANSI_QUOTES,NO_BACKSLASH_ESCAPES,PIPES_AS_CONCAT";
const db = uniqueDatabase("fmode");
const table = { database: db, table: "t" };
const KEYS = ["a", "b'c", "d\\e", "f\\'g", "h", "i''j", "k", "l\\", "m", "n'", "o", "p"];
const FILTER = 'name <> "skip"';

let source: Connection;
let destination: Connection;
let sourcePool: Pool;
let destinationPool: Pool;
let mapping: TableMapping;
/** SERVER_MODE as the server spells it. */
let serverMode: string;

async function modeConnection(creds: Credentials): Promise<Connection> {
	const conn = await connect(creds);
	await conn.query(`SET SESSION sql_mode = '${SERVER_MODE}'`);
	return conn;
}

function modePool(creds: Credentials): Pool {
	const pool = createPool(creds, 2);
	pool.on("connection", (c) => {
		c.query(`SET SESSION sql_mode = '${SERVER_MODE}'`);
	});
	return pool;
}

async function mode(conn: Connection): Promise<string> {
	const [[row]] = await conn.query<RowDataPacket[]>("SELECT @@SESSION.sql_mode AS m");
	return String(row?.m);
}

beforeAll(async () => {
	const setup = await connect(sourceCredentials);
	await setup.query(`CREATE DATABASE ${quoteId(db)}`);
	await setup.query(`CREATE TABLE ${quoteTable(table)} (k varchar(20) PRIMARY KEY, name varchar(20), n int)`);
	await setup.query(`INSERT INTO ${quoteTable(table)} VALUES ?`, [
		KEYS.map((k, i) => [k, i % 3 === 0 ? "skip" : `x${i}`, i]),
	]);
	await setup.end();
	const dst = await connect(destinationCredentials);
	await dst.query(`CREATE DATABASE ${quoteId(db)}`);
	await dst.query(`CREATE TABLE ${quoteTable(table)} (k varchar(20) PRIMARY KEY, name varchar(20), n int)`);
	await dst.end();
	source = await modeConnection(sourceCredentials);
	destination = await modeConnection(destinationCredentials);
	sourcePool = modePool(sourceCredentials);
	destinationPool = modePool(destinationCredentials);
	serverMode = await mode(source);
	mapping = {
		source: table,
		destination: table,
		columns: ["k", "name", "n"].map((c) => ({ source: c, destination: c })),
		where: FILTER,
	};
});

afterAll(async () => {
	await sourcePool?.end();
	await destinationPool?.end();
	for (const c of [source, destination]) {
		await c?.query(`DROP DATABASE IF EXISTS ${quoteId(db)}`).catch(() => {});
		await c?.end();
	}
});

const wanted = KEYS.filter((_, i) => i % 3 !== 0).sort();

describe("statements with a row filter run in FILTER_SQL_MODE whatever the server's default", () => {
	let chunks: ChunkSpec[];

	it("the precheck probe accepts the filter and leaves the session's mode as it was", async () => {
		const [m] = await resolveObjects(source, [{ database: db, table: "t", exclude: false, where: FILTER }]);
		expect(m?.where).toBe(FILTER);
		expect(await mode(source)).toBe(serverMode);
	});

	it("planning walks string keys with quotes and backslashes", async () => {
		chunks = await planAllChunks(sourcePool, mapping, { chunkRows: 2, strategy: "walk" });
		expect(chunks.length).toBeGreaterThan(2);
		const bounds = chunks.flatMap((c) => (c.kind === "range" ? (c.upper ?? []) : []));
		// each boundary is the key two filtered rows on, in the column's order
		expect(bounds.length).toBe(chunks.length - 1);
		expect(bounds.every((b) => wanted.includes(b))).toBe(true);
	});

	it("the copy copies exactly the filtered rows", async () => {
		for (const chunk of chunks) await copyChunk(sourcePool, destinationPool, mapping, chunk);
		const [rows] = await destination.query<RowDataPacket[]>(`SELECT k FROM ${quoteTable(table)} ORDER BY k`);
		expect(rows.map((r) => r.k).sort()).toEqual(wanted);
	});

	it("verification finds the copy equal, and a difference where there is one", async () => {
		for (const chunk of chunks) {
			const v = await verifyChunk(sourcePool, destinationPool, mapping, chunk);
			expect(v.missing + v.extra + v.different).toBe(0);
		}
		const plain = await connect(destinationCredentials);
		await plain.query(`UPDATE ${quoteTable(table)} SET n = n + 100 WHERE k = ?`, ["b'c"]);
		await plain.end();
		const found = [];
		for (const chunk of chunks) found.push(...(await verifyChunk(source, destination, mapping, chunk)).differences);
		expect(found).toEqual([{ kind: "different", key: ["b'c"], columns: ["n"] }]);
		const prepared = await prepareTable(source, destination, mapping);
		const fix = await correctionStatements(
			source,
			destination,
			prepared,
			chunks[0]?.kind === "range" ? chunks[0].key.columns : null,
			found,
		);
		expect(fix).toEqual([`UPDATE ${quoteTable(table)} SET \`n\` = '1' WHERE \`k\` = 'b\\'c'`]);
		expect(await mode(source)).toBe(serverMode);
		expect(await mode(destination)).toBe(serverMode);
	});

	it("replay's filter evaluation on the source", async () => {
		const images: RowImage[] = [
			{ k: "z", name: "skip", n: 1 },
			{ k: "y", name: "it's", n: 2 },
			{ k: "x", name: "back\\slash'", n: 3 },
			{ k: "w", name: null, n: 4 },
		];
		expect(await new RowFilter(sourcePool).evaluate(mapping, images)).toEqual([false, true, true, false]);
		expect(await new RowFilter(source).evaluate(mapping, images)).toEqual([false, true, true, false]);
		expect(await mode(source)).toBe(serverMode);
	});
});
