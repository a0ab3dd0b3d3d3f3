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
