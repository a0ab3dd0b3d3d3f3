import type { RowDataPacket } from "mysql2";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Connection, connect } from "../../shared/db/connect.ts";
import { quoteId, quoteTable } from "../../shared/db/sql.ts";
import type { Project } from "../../shared/model/project.ts";
import type { TableMapping } from "../../shared/model/rules.ts";
import { buildIndexesAhead } from "../../shared/scheduler/chunks/indexes-ahead.ts";
import type { ChunkState } from "../../shared/state/chunks.ts";
import { createDataSourceItem, type DataSourceItem } from "../../shared/state/datasources.ts";
import { chunkSk, chunksPk } from "../../shared/state/keys.ts";
import { updateProject } from "../../shared/state/projects.ts";
import type { TableItem } from "../../shared/state/tables.ts";
import { destinationCredentials, sourceCredentials, uniqueDatabase } from "../support/databases.ts";
import { type FakeContext, fakeContext } from "../support/fakes.ts";
import { seedProject } from "./support.ts";

/**
 * The worker that copied a table's last chunk builds the table's deferred indexes beside the rest
 * of the copy (real source and destination; the state store is the in-memory one).
 */

const db = uniqueDatabase("ahead");
const name = { database: db, table: "orders" };
const mapping: TableMapping = {
	source: name,
	destination: name,
	columns: ["id", "customer", "note"].map((c) => ({ source: c, destination: c })),
};
const CHUNKS = 4;
let source: Connection;
let destination: Connection;
let ctx: FakeContext;
let project: Project;
let table: TableItem;

async function destinationIndexes(): Promise<string[]> {
	const [rows] = await destination.query<RowDataPacket[]>(
		"SELECT DISTINCT INDEX_NAME AS n FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY 1",
		[db, "orders"],
	);
	return rows.map((r) => String(r.n));
}

/** The table's chunks, in the states given (one per chunk). */
async function chunks(states: ChunkState[]): Promise<void> {
	for (const [i, state] of states.entries()) {
		const key = { pk: chunksPk(project.id), sk: chunkSk(0, i) };
		await ctx.store.delete(key).catch(() => {});
		await ctx.store.create(key, {
			tableIndex: 0,
			spec: { kind: "whole", index: i, source: name, destination: name, reason: "a test's chunk" },
			state,
			attempts: 0,
		});
	}
}

const build = (chunk: number) =>
	buildIndexesAhead(ctx, { project, table, chunkSk: chunkSk(0, chunk), source, destination });

beforeAll(async () => {
	source = await connect(sourceCredentials);
	destination = await connect(destinationCredentials);
	for (const c of [source, destination]) await c.query(`CREATE DATABASE ${quoteId(db)}`);
	await source.query(
		`CREATE TABLE ${quoteTable(name)} (id INT PRIMARY KEY, customer INT NOT NULL, note VARCHAR(40), KEY by_customer (customer), FULLTEXT KEY by_note (note))`,
	);
});

beforeEach(async () => {
	ctx = fakeContext();
	const now = new Date().toISOString();
	await createDataSourceItem(ctx, "ds-destination", {
		name: "destination",
		engine: "mariadb",
		host: destinationCredentials.host,
		port: destinationCredentials.port,
		user: destinationCredentials.user,
		tls: false,
		createdAt: now,
		updatedAt: now,
	} as DataSourceItem);
	project = await seedProject(ctx, ["schema", "full"], { parallelism: 2 });
	table = { index: 0, mapping, rowsEstimate: 1000, planned: true, chunks: CHUNKS };
	// the schema step's table: the primary key only, the rest held back for the copy
	await destination.query(`DROP TABLE IF EXISTS ${quoteTable(name)}`);
	await destination.query(
		`CREATE TABLE ${quoteTable(name)} (id INT PRIMARY KEY, customer INT NOT NULL, note VARCHAR(40))`,
	);
});

afterAll(async () => {
	for (const c of [source, destination]) await c?.query(`DROP DATABASE IF EXISTS ${quoteId(db)}`);
	await source?.end();
	await destination?.end();
});

describe("indexes built beside the copy", () => {
	it("are built by the worker holding the table's last chunk once every other chunk is done", async () => {
		await chunks(["done", "done", "done", "leased"]);
		await build(3);
		expect(await destinationIndexes()).toEqual(["by_customer", "by_note", "PRIMARY"]);
	});

	it("wait while another chunk of the table is not done, so two workers never build at once", async () => {
		// the two last chunks finish together: each sees the other one leased, and neither builds
		await chunks(["done", "done", "leased", "leased"]);
		await build(3);
		await build(2);
		expect(await destinationIndexes()).toEqual(["PRIMARY"]);
		// the indexes step builds them then; a chunk retried late, done after the others, does too
		await chunks(["leased", "done", "done", "done"]);
		await build(0);
		expect(await destinationIndexes()).toEqual(["PRIMARY"]);
	});

	it("are left to the indexes step for a table too large to build within a worker's time, when the project keeps its indexes or makes no schema", async () => {
		await chunks(["done", "done", "done", "leased"]);
		table = { ...table, rowsEstimate: 30_000_000 };
		await build(3);
		table = { ...table, rowsEstimate: 1000 };
		project = await updateProject(ctx, project.id, (p) => ({
			...p,
			options: { ...p.options, deferSecondaryIndexes: false },
		}));
		await build(3);
		project = await updateProject(ctx, project.id, (p) => ({
			...p,
			types: ["full"],
			options: { ...p.options, deferSecondaryIndexes: true },
		}));
		await build(3);
		expect(await destinationIndexes()).toEqual(["PRIMARY"]);
	});

	it("leave the chunk's outcome alone when the build fails: the indexes step tries again", async () => {
		await chunks(["done", "done", "done", "leased"]);
		// a destination column the index needs is missing: the ALTER fails
		await destination.query(`ALTER TABLE ${quoteTable(name)} DROP COLUMN customer`);
		await expect(build(3)).resolves.toBeUndefined();
		expect(await destinationIndexes()).toEqual(["PRIMARY"]);
	});
});
