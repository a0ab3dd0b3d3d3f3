import type { RowDataPacket } from "mysql2";
import type { Connection } from "../db/connect.ts";
import { qualifiedName } from "../db/sql.ts";
import type { ObjectRules, TableMapping, TableName } from "../model/rules.ts";
import { destinationOf, includingRule, selects } from "../model/rules.ts";
import { META_DATABASE } from "../replay/checkpoint.ts";
import { reverseRules, sourceOf } from "../replication/reverse.ts";
import { tableKey } from "../schema/snapshot.ts";
import { prepareTable, VerifyError } from "./normalise.ts";

/**
 * Differences in the tables themselves, which no row comparison shows: a verification run
 * looks at both ends as they are now, not at what the project's mappings last knew of them.
 */

const SYSTEM = ["mysql", "information_schema", "performance_schema", "sys", META_DATABASE];

/** A migrated table's differences in its columns (or a side missing); `comparable` when its rows can be compared. */
export async function tableSchema(
	source: Connection,
	destination: Connection,
	mapping: TableMapping,
	rules: ObjectRules,
): Promise<{ comparable: boolean; schema: string[] }> {
	const missing: string[] = [];
	if (!(await exists(source, mapping.source)))
		missing.push(`${qualifiedName(mapping.source)} is missing at the source`);
	if (!(await exists(destination, mapping.destination))) {
		missing.push(`${qualifiedName(mapping.destination)} is missing at the destination`);
	}
	if (missing.length > 0) return { comparable: false, schema: missing };
	try {
		const { unmatched } = await prepareTable(source, destination, mapping);
		// a column the rule's selection leaves out is expected at the source only
		const rule = includingRule(rules, mapping.source)?.rule;
		const leftOut = (c: string) => rule?.columns !== undefined && !selects(rule, c);
		return {
			comparable: true,
			schema: [
				...unmatched.source
					.filter((c) => !leftOut(c))
					.map((c) => `column ${c} of ${qualifiedName(mapping.source)} is at the source only`),
				...unmatched.destination.map(
					(c) => `column ${c} of ${qualifiedName(mapping.destination)} is at the destination only`,
				),
			],
		};
	} catch (err) {
		if (err instanceof VerifyError) return { comparable: false, schema: [err.message] };
		throw err;
	}
}

/** A table the rules include, at one end or both, that the project does not replicate. */
export interface UnreplicatedTable {
	table: string;
	destination: string;
	schema: string[];
}

/**
 * The tables the rules include that have no mapping (a CREATE TABLE whose ticket was skipped,
 * a table created at one end behind replay's back): at the source by the rules, at the
 * destination by the rules turned round (shared/replication/reverse.ts).
 */
export async function unreplicatedTables(
	source: Connection,
	destination: Connection,
	rules: ObjectRules,
	mappings: readonly TableMapping[],
): Promise<UnreplicatedTable[]> {
	const [atSource, atDestination] = await Promise.all([baseTables(source), baseTables(destination)]);
	const mappedSources = new Set(mappings.map((m) => tableKey(m.source)));
	const mappedDestinations = new Set(mappings.map((m) => tableKey(m.destination)));
	const sources = new Set(atSource.map(tableKey));
	const destinations = new Set(atDestination.map(tableKey));
	const out: UnreplicatedTable[] = [];
	const add = (s: TableName, d: TableName, where: string) =>
		out.push({
			table: qualifiedName(s),
			destination: qualifiedName(d),
			schema: [`${qualifiedName(s)} is a table the rules include, ${where}, but the project does not replicate it`],
		});
	for (const t of atSource) {
		const match = includingRule(rules, t);
		if (!match || mappedSources.has(tableKey(t))) continue;
		const d = destinationOf(match, t);
		add(t, d, destinations.has(tableKey(d)) ? "at both ends" : "at the source only");
	}
	const back = reverseRules(rules);
	for (const d of atDestination) {
		if (mappedDestinations.has(tableKey(d))) continue;
		const s = sourceOf(d, back, rules);
		if (s && !sources.has(tableKey(s))) add(s, d, "at the destination only");
	}
	return out;
}

async function exists(conn: Connection, t: TableName): Promise<boolean> {
	const [rows] = await conn.query<RowDataPacket[]>(
		"SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND TABLE_TYPE = 'BASE TABLE'",
		[t.database, t.table],
	);
	return rows.length > 0;
}

async function baseTables(conn: Connection): Promise<TableName[]> {
	const [rows] = await conn.query<RowDataPacket[]>(
		"SELECT TABLE_SCHEMA AS db, TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN (?)",
		[SYSTEM],
	);
	return rows.map((r) => ({ database: String(r.db), table: String(r.t) }));
}
