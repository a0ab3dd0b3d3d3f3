import { type Connection, connect } from "../../shared/db/connect.ts";
import { describeColumns } from "../../shared/db/introspect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import type { TableMapping } from "../../shared/model/rules.ts";
import { applyCorrections, correctionStatements } from "../../shared/verify/correct.ts";
import { type TableVerification, verifyTable } from "../../shared/verify/verify-table.ts";
import { destinationCredentials, sourceCredentials, uniqueDatabase } from "../support/databases.ts";

export interface Pair {
	database: string;
	source: Connection;
	destination: Connection;
	close(): Promise<void>;
}

export async function openPair(prefix: string): Promise<Pair> {
	const database = uniqueDatabase(prefix);
	const [source, destination] = await Promise.all([connect(sourceCredentials), connect(destinationCredentials)]);
	for (const c of [source, destination]) {
		await c.query(`CREATE DATABASE ${quoteId(database)} CHARACTER SET utf8mb4`);
		await c.query(`USE ${quoteId(database)}`);
	}
	return {
		database,
		source,
		destination,
		async close() {
			for (const c of [source, destination]) {
				await c.query(`DROP DATABASE IF EXISTS ${quoteId(database)}`).catch(() => {});
				await c.end().catch(() => {});
			}
		},
	};
}

/** Same table name on both sides, every source column mapped to the same name. */
export async function identity(pair: Pair, table: string): Promise<TableMapping> {
	const t = { database: pair.database, table };
	const columns = await describeColumns(pair.source, t);
	return { source: t, destination: t, columns: columns.map((c) => ({ source: c.name, destination: c.name })) };
}

/** Verifies, corrects with the generated SQL, and re-verifies; returns the first verification. */
export async function verifyCorrect(
	pair: Pair,
	mapping: TableMapping,
	options: { chunkRows?: number } = {},
): Promise<{ first: TableVerification; statements: string[]; after: TableVerification }> {
	const first = await verifyTable(pair.source, pair.destination, mapping, { chunkRows: options.chunkRows ?? 2 });
	const statements = await correctionStatements(
		pair.source,
		pair.destination,
		first.prepared,
		first.key,
		first.differences,
	);
	await applyCorrections(pair.destination, statements);
	const after = await verifyTable(pair.source, pair.destination, mapping, { chunkRows: options.chunkRows ?? 2 });
	return { first, statements, after };
}

export function counts(v: TableVerification) {
	return { missing: v.missing, extra: v.extra, different: v.different };
}
