import type { Connection } from "../db/connect.ts";
import { filterQuery } from "../db/filter-mode.ts";
import { qualifiedName, quoteTable } from "../db/sql.ts";
import {
	destinationOf,
	lastMatchingRule,
	type MappingProblem,
	type ObjectRules,
	type RuleMatch,
	ruleMapping,
	type TableMapping,
	type TableName,
	type TableRule,
} from "../model/rules.ts";
import { SchemaRuleError } from "./errors.ts";
import { rowFilterRefusal } from "./row-filter.ts";
import { tableKey } from "./snapshot.ts";
import { quotedNames } from "./sqltext.ts";

/**
 * Turns object rules into the list of source tables to migrate and where each one goes.
 *
 * Semantics: a rule's `database` and `table` are patterns with `*` (any run of characters) and
 * `?` (one character), matched case-sensitively like table names on Linux servers. For each
 * table the LAST rule that matches it decides everything about it (include or exclude, renames,
 * columns, filter); rules are not merged, so a narrower rule after a broad one must repeat the
 * broad one's renameDatabase if it wants it. Column names, which MySQL compares without regard
 * to case, are matched case-insensitively.
 */

/** Schemas that belong to the server itself and are never migrated. */
const SYSTEM_SCHEMAS = ["mysql", "information_schema", "performance_schema", "sys"] as const;

/** A source view resolved against the rules: views follow renames but not columns or filters. */
export interface ViewMapping {
	source: TableName;
	destination: TableName;
}

interface SourceObject {
	name: TableName;
	kind: "table" | "view";
}

interface SourceColumn {
	name: string;
	generation: string | null;
	primary: boolean;
}

/**
 * The base tables the rules select, with destination names, columns and row filters, checked
 * against the source. Views are resolved by `resolveViews`; temporary tables never appear
 * because information_schema does not list them (MariaDB 11.2+ lists only the session's own,
 * as TEMPORARY, which the BASE TABLE filter drops).
 */
export async function resolveObjects(conn: Connection, rules: ObjectRules): Promise<TableMapping[]> {
	const objects = await listSourceObjects(conn);
	const used = new Set<number>();
	const chosen: ({ name: TableName } & RuleMatch)[] = [];
	for (const object of objects) {
		const match = lastMatchingRule(rules, object.name, used);
		if (object.kind === "table" && match && !match.rule.exclude) chosen.push({ name: object.name, ...match });
	}
	rules.forEach((rule, index) => {
		if (!used.has(index)) {
			throw new SchemaRuleError(
				describeRule(rule, index),
				"matches no table or view on the source",
				"check the database and table patterns (names are case-sensitive; wildcards are * and ?) or remove the rule",
			);
		}
	});

	const columns = await readColumns(
		conn,
		chosen.map((c) => c.name),
	);
	const mappings = chosen.map((c) => checkedMapping(c.name, c, columns.get(tableKey(c.name)) ?? []));
	assertDistinctDestinations(mappings.map((m) => ({ source: m.source, destination: m.destination })));
	for (const [i, m] of mappings.entries()) {
		const c = chosen[i];
		if (m.where === undefined || !c) continue;
		const names = (columns.get(tableKey(c.name)) ?? []).map((col) => col.name);
		await checkRowFilter(conn, m.source, m.where, describeRule(c.rule, c.index), names);
	}
	return mappings;
}

/**
 * The views the rules select. A view matches rules by its name like a table does (so a rule for
 * a whole database takes its views along) and follows renameDatabase/renameTable; `columns`,
 * `renameColumns` and `where` do not apply to views.
 */
export async function resolveViews(conn: Connection, rules: ObjectRules): Promise<ViewMapping[]> {
	const objects = await listSourceObjects(conn);
	const views: ViewMapping[] = [];
	for (const object of objects) {
		if (object.kind !== "view") continue;
		const match = lastMatchingRule(rules, object.name, new Set());
		if (!match || match.rule.exclude) continue;
		views.push({ source: object.name, destination: destinationOf(match, object.name) });
	}
	assertDistinctDestinations(views);
	return views;
}

/**
 * Checks a row filter: only what `rowFilterRefusal` allows (an expression over the table's own
 * columns), then accepted by the source server itself in `SELECT 1 FROM t WHERE (filter) LIMIT 0`
 * (which reads no rows), run in FILTER_SQL_MODE like every statement that embeds the filter.
 */
export async function checkRowFilter(
	conn: Connection,
	table: TableName,
	where: string,
	rule: string,
	columns: readonly string[],
): Promise<void> {
	const reject = (why: string) =>
		new SchemaRuleError(
			qualifiedName(table),
			`the row filter of ${rule} (${JSON.stringify(where)}) is refused: ${why}`,
			"write one condition over the table's own columns with literals, operators and deterministic functions, e.g. created_at >= '2024-01-01'",
		);
	const refusal = rowFilterRefusal(where, columns);
	if (refusal) throw reject(`at ${JSON.stringify(shorten(refusal.token))}, ${refusal.why}`);
	try {
		await filterQuery(conn, { sql: `SELECT 1 FROM ${quoteTable(table)} WHERE (${where}) LIMIT 0` });
	} catch (err) {
		throw reject(`the source server refused it: ${(err as Error).message}`);
	}
}

function shorten(token: string): string {
	return token.length > 60 ? `${token.slice(0, 57)}...` : token;
}

async function listSourceObjects(conn: Connection): Promise<SourceObject[]> {
	const [rows] = await conn.query(
		`SELECT TABLE_SCHEMA AS db, TABLE_NAME AS name, TABLE_TYPE AS type FROM information_schema.TABLES
		 WHERE TABLE_SCHEMA NOT IN (?) AND TABLE_TYPE IN ('BASE TABLE', 'VIEW')
		 ORDER BY TABLE_SCHEMA, TABLE_NAME`,
		[SYSTEM_SCHEMAS],
	);
	return (rows as { db: string; name: string; type: string }[]).map((r) => ({
		name: { database: r.db, table: r.name },
		kind: r.type === "VIEW" ? "view" : "table",
	}));
}

async function readColumns(conn: Connection, tables: TableName[]): Promise<Map<string, SourceColumn[]>> {
	const byTable = new Map<string, SourceColumn[]>();
	const wanted = new Set(tables.map(tableKey));
	// One query per database: information_schema answers `TABLE_SCHEMA = ?` without opening other databases.
	for (const database of new Set(tables.map((t) => t.database))) {
		const [cols] = await conn.query(
			`SELECT TABLE_NAME AS t, COLUMN_NAME AS name, GENERATION_EXPRESSION AS generation
			 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION`,
			[database],
		);
		const [pk] = await conn.query(
			`SELECT TABLE_NAME AS t, COLUMN_NAME AS name FROM information_schema.STATISTICS
			 WHERE TABLE_SCHEMA = ? AND INDEX_NAME = 'PRIMARY'`,
			[database],
		);
		const primary = new Set((pk as { t: string; name: string }[]).map((r) => `${r.t}\u0000${r.name}`));
		for (const c of cols as {
			t: string;
			name: string;
			generation: string | null;
		}[]) {
			const key = tableKey({ database, table: c.t });
			if (!wanted.has(key)) continue;
			const list = byTable.get(key) ?? [];
			list.push({
				name: c.name,
				generation: c.generation || null,
				primary: primary.has(`${c.t}\u0000${c.name}`),
			});
			byTable.set(key, list);
		}
	}
	return byTable;
}

/** A table mapped through its rule (`ruleMapping`), or the rule's fault as a SchemaRuleError. */
function checkedMapping(name: TableName, match: RuleMatch, columns: SourceColumn[]): TableMapping {
	const mapped = ruleMapping(
		name,
		match,
		columns.map((c) => ({
			name: c.name,
			primary: c.primary,
			reads: c.generation ? [...quotedNames(c.generation)] : [],
		})),
	);
	if ("problem" in mapped) throw mappingError(mapped.problem, qualifiedName(name), `rule #${match.index + 1}`, columns);
	return mapped.mapping;
}

function mappingError(
	problem: MappingProblem,
	object: string,
	label: string,
	columns: SourceColumn[],
): SchemaRuleError {
	switch (problem.kind) {
		case "unknown-column":
			return new SchemaRuleError(
				object,
				`${label} ${problem.role} column "${problem.column}", which the table does not have (it has ${columns.map((c) => c.name).join(", ")})`,
				"correct the column name in the rule",
			);
		case "primary-key-left-out":
			return new SchemaRuleError(
				object,
				`the column selection of ${label} leaves out primary-key column "${problem.column}"`,
				"add it to the rule's columns: without the whole primary key, rows could not be matched during incremental replay and verification",
			);
		case "reads-left-out":
			return new SchemaRuleError(
				object,
				`generated column "${problem.column}" is computed from column "${problem.base}", which the column selection of ${label} leaves out`,
				`add "${problem.base}" to the rule's columns or leave "${problem.column}" out too`,
			);
		case "rename-left-out":
			return new SchemaRuleError(
				object,
				`${label} renames column "${problem.column}" but its column selection leaves it out`,
				"select the column or drop the rename",
			);
		case "destination-clash":
			return new SchemaRuleError(
				object,
				`${label} gives columns "${problem.first.source}" and "${problem.second.source}" the same destination name "${problem.second.destination}"`,
				"rename one of them to a free name",
			);
	}
}

function assertDistinctDestinations(mappings: { source: TableName; destination: TableName }[]): void {
	const taken = new Map<string, TableName>();
	for (const m of mappings) {
		const other = taken.get(tableKey(m.destination));
		if (other) {
			throw new SchemaRuleError(
				qualifiedName(m.destination),
				`both ${qualifiedName(other)} and ${qualifiedName(m.source)} would be migrated to it`,
				"give one of them another name with renameTable or renameDatabase, or exclude one",
			);
		}
		taken.set(tableKey(m.destination), m.source);
	}
}

function describeRule(rule: TableRule, index: number): string {
	return `rule #${index + 1} (database ${JSON.stringify(rule.database)}, table ${JSON.stringify(rule.table)}${rule.exclude ? ", exclude" : ""})`;
}
