import type { RowDataPacket } from "mysql2";
import { type CopyOptions, type CopyResult, copyChunk } from "../../shared/copy/chunk.ts";
import { type ChunkSpec, type PlanOptions, planAllChunks } from "../../shared/copy/plan.ts";
import { type Connection, connect } from "../../shared/db/connect.ts";
import { describeColumns } from "../../shared/db/introspect.ts";
import { quoteId, quoteTable } from "../../shared/db/sql.ts";
import type { TableMapping, TableName } from "../../shared/model/rules.ts";
import { destinationCredentials, sourceCredentials } from "../support/databases.ts";

/** A source and a destination database of the same name, and connections to both. */
export interface Pair {
	database: string;
	source: Connection;
	destination: Connection;
	close(): Promise<void>;
}

export async function openPair(database: string): Promise<Pair> {
	const source = await connect(sourceCredentials);
	const destination = await connect(destinationCredentials);
	for (const c of [source, destination]) {
		await c.query(`DROP DATABASE IF EXISTS ${quoteId(database)}`);
		await c.query(`CREATE DATABASE ${quoteId(database)} CHARACTER SET utf8mb4`);
	}
	return {
		database,
		source,
		destination,
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

/** Creates the same table on both sides (`destinationDdl` if the destination differs). */
export async function createBoth(pair: Pair, table: string, ddl: string, destinationDdl = ddl): Promise<void> {
	const t = quoteTable({ database: pair.database, table });
	await pair.source.query(`CREATE TABLE ${t} ${ddl}`);
	await pair.destination.query(`CREATE TABLE ${t} ${destinationDdl}`);
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

export async function copyAll(
	pair: Pair,
	mapping: TableMapping,
	plan: PlanOptions,
	options: CopyOptions = {},
): Promise<{ chunks: ChunkSpec[]; results: CopyResult[] }> {
	const chunks = await planAllChunks(pair.source, mapping, plan);
	const results: CopyResult[] = [];
	for (const chunk of chunks) results.push(await copyChunk(pair.source, pair.destination, mapping, chunk, options));
	return { chunks, results };
}

/**
 * Every row of a table as text that shows the stored value exactly: HEX of the bytes for string,
 * binary, BIT, spatial and JSON columns; the server's text for numbers and temporal values, with
 * FLOAT widened to DOUBLE first (its own text is rounded to 6 digits). Ordered by `order`.
 */
export async function dump(conn: Connection, table: TableName, order: string): Promise<unknown[][]> {
	const columns = await describeColumns(conn, table);
	const numeric =
		/^(tinyint|smallint|mediumint|int|integer|bigint|decimal|numeric|double|real|year|date|datetime|timestamp|time)$/;
	const exprs = columns.map((c) => {
		const q = quoteId(c.name);
		if (c.dataType === "float") return `CAST(${q} * 1e0 AS CHAR)`;
		if (numeric.test(c.dataType)) return `CAST(${q} AS CHAR)`;
		return `HEX(${q})`;
	});
	const [rows] = await conn.query<RowDataPacket[]>({
		sql: `SELECT ${exprs.join(", ")} FROM ${quoteTable(table)} ORDER BY ${order}`,
		rowsAsArray: true,
	});
	return rows as unknown as unknown[][];
}

export async function count(conn: Connection, table: TableName, where = ""): Promise<number> {
	const [[row]] = await conn.query<RowDataPacket[]>(
		`SELECT COUNT(*) AS n FROM ${quoteTable(table)}${where ? ` WHERE ${where}` : ""}`,
	);
	return Number(row?.n);
}

export { connect, destinationCredentials, sourceCredentials };
