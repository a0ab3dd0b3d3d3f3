import { createSampleDatabase } from "../../cli/demo/sample.ts";
import { type Connection, connect } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import { localInstance } from "../../shared/local/instances.ts";
import type { Credentials } from "../../shared/model/datasource.ts";

/** The private MariaDB instances started by scripts/services/mariadb.sh (scratch ones are for tests that restart a server). */
export const sourceCredentials: Credentials = localInstance("source");
export const destinationCredentials: Credentials = localInstance("destination");
export const scratchCredentials: Credentials = localInstance("scratch");
export const scratch2Credentials: Credentials = localInstance("scratch2");

let counter = 0;
/** A database name unique to this test run, so tests never see each other's tables. */
export function uniqueDatabase(prefix: string): string {
	counter += 1;
	return `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter}`;
}

/** Creates (or recreates) a database on the server and returns an open connection to it. */
export async function freshDatabase(creds: Credentials, database: string): Promise<Connection> {
	const conn = await connect(creds);
	await conn.query(`DROP DATABASE IF EXISTS ${quoteId(database)}`);
	await conn.query(`CREATE DATABASE ${quoteId(database)} CHARACTER SET utf8mb4`);
	await conn.query(`USE ${quoteId(database)}`);
	return conn;
}

/** Drops a test's database on every server it used. */
export async function dropDatabase(database: string, ...servers: Credentials[]): Promise<void> {
	for (const creds of servers) {
		const c = await connect(creds);
		await c.query(`DROP DATABASE IF EXISTS ${quoteId(database)}`);
		await c.end();
	}
}

/** Creates a database and runs statements in it (on a connection of their own). */
export function createDatabase(creds: Credentials, database: string, ...statements: string[]): Promise<void> {
	return execute(creds, `CREATE DATABASE ${quoteId(database)}`, `USE ${quoteId(database)}`, ...statements);
}

/** Runs statements, in order, on a connection of their own. */
export async function execute(creds: Credentials, ...statements: string[]): Promise<void> {
	const conn = await connect(creds);
	try {
		for (const sql of statements) await conn.query(sql);
	} finally {
		await conn.end();
	}
}

/** Creates each database as the demo's sample shop at `scale` (see createSampleDatabase). */
export async function sampleDatabases(creds: Credentials, scale: number, ...databases: string[]): Promise<void> {
	const conn = await connect(creds);
	for (const database of databases) await createSampleDatabase(conn, database, scale);
	await conn.end();
}

/**
 * Table `t` of `database` with rows 1 to 3 at the source, and at the destination a `t` already
 * holding row `inTheWay`: the precheck of a full copy refuses to write into it.
 */
export async function occupiedTable(database: string, inTheWay: number): Promise<void> {
	const table = "CREATE TABLE t (id INT PRIMARY KEY, v TEXT)";
	await createDatabase(sourceCredentials, database, table, "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')");
	await createDatabase(destinationCredentials, database, table, `INSERT INTO t VALUES (${inTheWay}, 'in the way')`);
}
