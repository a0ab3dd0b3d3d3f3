import type { RowDataPacket } from "mysql2";
import { type ChunkSpec, type PlanOptions, planAllChunks } from "../../shared/chunking/plan.ts";
import { type CopyOptions, type CopyResult, copyChunk } from "../../shared/copy/chunk.ts";
import { type Connection, connect } from "../../shared/db/connect.ts";
import { describeColumns } from "../../shared/db/introspect.ts";
import { quoteId, quoteTable } from "../../shared/db/sql.ts";
import type { TableMapping, TableName } from "../../shared/model/rules.ts";
import { destinationCredentials, sourceCredentials } from "../support/databases.ts";
import type { Pair } from "../support/pair.ts";

/** Creates the same table on both sides (`destinationDdl` if the destination differs). */
export async function createBoth(pair: Pair, table: string, ddl: string, destinationDdl = ddl): Promise<void> {
	const t = quoteTable({ database: pair.database, table });
	await pair.source.query(`CREATE TABLE ${t} ${ddl}`);
	await pair.destination.query(`CREATE TABLE ${t} ${destinationDdl}`);
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
