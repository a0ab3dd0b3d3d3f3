import { type Connection, connect } from "../../shared/db/connect.ts";
import { describeColumns } from "../../shared/db/introspect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import type { TableMapping, TableName } from "../../shared/model/rules.ts";
import { destinationCredentials, sourceCredentials } from "./databases.ts";

/** A source and a destination database of the same name, and connections to both (each `USE`s it). */
export interface Pair {
	database: string;
	source: Connection;
	destination: Connection;
	/** The table of that name in the pair's database. */
	table(name: string): TableName;
	close(): Promise<void>;
}

/** Creates (or recreates) `database` at the source and the destination instances. */
export async function openPair(database: string): Promise<Pair> {
	const [source, destination] = await Promise.all([connect(sourceCredentials), connect(destinationCredentials)]);
	for (const c of [source, destination]) {
		await c.query(`DROP DATABASE IF EXISTS ${quoteId(database)}`);
		await c.query(`CREATE DATABASE ${quoteId(database)} CHARACTER SET utf8mb4`);
		await c.query(`USE ${quoteId(database)}`);
	}
	return {
		database,
		source,
		destination,
		table: (table) => ({ database, table }),
		async close() {
			// Fresh connections: a failed copy destroys the connections it was given.
			for (const creds of [sourceCredentials, destinationCredentials]) {
				const c = await connect(creds);
				await c.query(`DROP DATABASE IF EXISTS ${quoteId(database)}`);
				await c.end();
			}
			for (const c of [source, destination]) await c.end().catch(() => {});
		},
	};
}

/** Maps every column of a source table to the same name, same database and table. */
export async function identity(conn: Connection, table: TableName): Promise<TableMapping> {
	const columns = await describeColumns(conn, table);
	return {
		source: table,
		destination: table,
		columns: columns.map((c) => ({ source: c.name, destination: c.name })),
	};
}
