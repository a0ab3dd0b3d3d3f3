import type { Connection } from "../db/connect.ts";
import { filterQuery } from "../db/filter-mode.ts";
import { qualifiedName, quoteTable } from "../db/sql.ts";
import type { ColumnMapping, ObjectRules, TableMapping, TableName, TableRule } from "../model/rules.ts";
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
	const chosen: { name: TableName; rule: TableRule; index: number }[] = [];
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
	const mappings = chosen.map((c) => mapTable(c.name, c.rule, c.index, columns.get(tableKey(c.name)) ?? []));
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
		views.push({
			source: object.name,
			destination: {
				database: match.rule.renameDatabase ?? object.name.database,
				table: match.rule.renameTable ?? object.name.table,
			},
		});
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

function mapTable(name: TableName, rule: TableRule, index: number, columns: SourceColumn[]): TableMapping {
	const object = qualifiedName(name);
	const label = `rule #${index + 1}`;
	const byLowerName = new Map(columns.map((c) => [c.name.toLowerCase(), c]));
	const find = (wanted: string, role: string): SourceColumn => {
		const column = byLowerName.get(wanted.toLowerCase());
		if (!column) {
			throw new SchemaRuleError(
				object,
				`${label} ${role} column "${wanted}", which the table does not have (it has ${columns.map((c) => c.name).join(", ")})`,
				"correct the column name in the rule",
			);
		}
		return column;
	};

	const selected = new Set((rule.columns ?? columns.map((c) => c.name)).map((c) => find(c, "selects").name));
	for (const c of columns) {
		if (c.primary && !selected.has(c.name)) {
			throw new SchemaRuleError(
				object,
				`the column selection of ${label} leaves out primary-key column "${c.name}"`,
				"add it to the rule's columns: without the whole primary key, rows could not be matched during incremental replay and verification",
			);
		}
	}
	for (const c of columns) {
		if (!selected.has(c.name) || !c.generation) continue;
		for (const used of quotedNames(c.generation)) {
			const base = byLowerName.get(used.toLowerCase());
			if (base && !selected.has(base.name)) {
				throw new SchemaRuleError(
					object,
					`generated column "${c.name}" is computed from column "${base.name}", which the column selection of ${label} leaves out`,
					`add "${base.name}" to the rule's columns or leave "${c.name}" out too`,
				);
			}
		}
	}

	const renames = new Map<string, string>();
	for (const [from, to] of Object.entries(rule.renameColumns ?? {})) {
		const column = find(from, "renames");
		if (!selected.has(column.name)) {
			throw new SchemaRuleError(
				object,
				`${label} renames column "${column.name}" but its column selection leaves it out`,
				"select the column or drop the rename",
			);
		}
		renames.set(column.name, to);
	}
	const mapped: ColumnMapping[] = columns
		.filter((c) => selected.has(c.name))
		.map((c) => ({
			source: c.name,
			destination: renames.get(c.name) ?? c.name,
		}));
	const seen = new Map<string, string>();
	for (const m of mapped) {
		const clash = seen.get(m.destination.toLowerCase());
		if (clash !== undefined) {
			throw new SchemaRuleError(
				object,
				`${label} gives columns "${clash}" and "${m.source}" the same destination name "${m.destination}"`,
				"rename one of them to a free name",
			);
		}
		seen.set(m.destination.toLowerCase(), m.source);
	}

	const where = rule.where?.trim();
	return {
		source: name,
		destination: {
			database: rule.renameDatabase ?? name.database,
			table: rule.renameTable ?? name.table,
		},
		columns: mapped,
		...(where ? { where } : {}),
	};
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

function lastMatchingRule(
	rules: ObjectRules,
	name: TableName,
	used: Set<number>,
): { rule: TableRule; index: number } | undefined {
	let found: { rule: TableRule; index: number } | undefined;
	rules.forEach((rule, index) => {
		if (wildcard(rule.database).test(name.database) && wildcard(rule.table).test(name.table)) {
			used.add(index);
			found = { rule, index };
		}
	});
	return found;
}

const patterns = new Map<string, RegExp>();
/** A rule pattern (`*` any run of characters, `?` one character) as an anchored RegExp. */
export function wildcard(pattern: string): RegExp {
	let re = patterns.get(pattern);
	if (!re) {
		const body = [...pattern]
			.map((ch) => (ch === "*" ? ".*" : ch === "?" ? "." : ch.replace(/[\\^$.|+()[\]{}]/g, "\\$&")))
			.join("");
		re = new RegExp(`^${body}$`, "su");
		patterns.set(pattern, re);
	}
	return re;
}

function describeRule(rule: TableRule, index: number): string {
	return `rule #${index + 1} (database ${JSON.stringify(rule.database)}, table ${JSON.stringify(rule.table)}${rule.exclude ? ", exclude" : ""})`;
}
