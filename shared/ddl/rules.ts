import { describeTable } from "../db/sql.ts";
import type { ColumnMapping, ObjectRules, TableMapping, TableName, TableRule } from "../model/rules.ts";
import { wildcard } from "../schema/resolve.ts";
import { rowFilterRefusal } from "../schema/row-filter.ts";
import { tableKey } from "../schema/snapshot.ts";
import { tokenize } from "../schema/sqltext.ts";

/**
 * The object rules as DDL replay needs them: the same matching as schema migration
 * (shared/schema/resolve.ts: `*` and `?` wildcards, case-sensitive names, the last matching rule
 * decides everything about a table, column names compared case-insensitively), applied to
 * tables that appear while the migration runs. Where resolve.ts throws, these return a reason.
 */

export interface RuleMatch {
	rule: TableRule;
	index: number;
}

/** The rule that decides about a table: the last one matching it, if it includes the table. */
export function includingRule(rules: ObjectRules, name: TableName): RuleMatch | undefined {
	let found: RuleMatch | undefined;
	rules.forEach((rule, index) => {
		if (wildcard(rule.database).test(name.database) && wildcard(rule.table).test(name.table)) found = { rule, index };
	});
	return found && !found.rule.exclude ? found : undefined;
}

/** Non-excluding rules whose database pattern matches the database (some of its tables may be migrated). */
export function rulesForDatabase(rules: ObjectRules, database: string): RuleMatch[] {
	return rules.flatMap((rule, index) =>
		!rule.exclude && wildcard(rule.database).test(database) ? [{ rule, index }] : [],
	);
}

/**
 * Whether a statement Ferry cannot parse may concern a database the rules migrate: it ran without
 * a default database or in one of them, or one of its words (quoted or not) names one. A statement about another
 * schema must not stop replay because Ferry cannot read it.
 */
export function mayConcernRules(rules: ObjectRules, defaultDatabase: string, sql: string): boolean {
	// without a default database an unqualified name could be anywhere
	if (!defaultDatabase || rulesForDatabase(rules, defaultDatabase).length > 0) return true;
	for (const m of sql.matchAll(/`((?:[^`]|``)+)`|"((?:[^"]|"")+)"|'((?:[^'\\]|\\.|'')*)'|([\p{L}\p{N}_$]+)/gu)) {
		const word = m[1]?.replaceAll("``", "`") ?? m[2]?.replaceAll('""', '"') ?? m[4];
		if (word && rulesForDatabase(rules, word).length > 0) return true;
	}
	return false;
}

export function destinationOf(match: RuleMatch, name: TableName): TableName {
	return {
		database: match.rule.renameDatabase ?? name.database,
		table: match.rule.renameTable ?? name.table,
	};
}

export function describeRule(match: RuleMatch): string {
	return `rule #${match.index + 1}`;
}

export const lower = (s: string) => s.toLowerCase();

/** The rule selects this source column (all columns when it has no selection). */
export function selects(rule: TableRule, column: string): boolean {
	return rule.columns === undefined || rule.columns.some((c) => lower(c) === lower(column));
}

/** The destination name the rule gives a source column. */
export function renamedColumn(rule: TableRule, column: string): string {
	for (const [from, to] of Object.entries(rule.renameColumns ?? {})) if (lower(from) === lower(column)) return to;
	return column;
}

/** The rule names the column in its selection or its renames. */
export function namesColumn(rule: TableRule, column: string): boolean {
	return (
		(rule.columns ?? []).some((c) => lower(c) === lower(column)) ||
		Object.keys(rule.renameColumns ?? {}).some((c) => lower(c) === lower(column))
	);
}

export interface SourceColumnInfo {
	name: string;
	primary: boolean;
	/** Columns a generated column is computed from. */
	reads: string[];
}

/**
 * Maps a table's columns through its rule the way resolve.ts does for the initial schema,
 * returning why not instead of throwing.
 */
export function mapTable(
	name: TableName,
	match: RuleMatch,
	columns: SourceColumnInfo[],
): { mapping: TableMapping } | { refusal: string } {
	const rule = match.rule;
	const label = describeRule(match);
	const byLower = new Map(columns.map((c) => [lower(c.name), c]));
	const listed = [...(rule.columns ?? []), ...Object.keys(rule.renameColumns ?? {})];
	for (const wanted of listed) {
		if (!byLower.has(lower(wanted))) {
			return {
				refusal: `${label} names column "${wanted}", which ${describeTable(name)} does not have (it has ${columns.map((c) => c.name).join(", ")}): correct the rule`,
			};
		}
	}
	const selected = columns.filter((c) => selects(rule, c.name));
	for (const c of columns) {
		if (c.primary && !selects(rule, c.name)) {
			return {
				refusal: `the column selection of ${label} leaves out primary-key column "${c.name}": add it to the rule's columns`,
			};
		}
	}
	for (const c of selected) {
		for (const used of c.reads) {
			const base = byLower.get(lower(used));
			if (base && !selects(rule, base.name)) {
				return {
					refusal: `generated column "${c.name}" is computed from column "${base.name}", which the column selection of ${label} leaves out`,
				};
			}
		}
	}
	for (const c of Object.keys(rule.renameColumns ?? {})) {
		if (!selects(rule, c)) return { refusal: `${label} renames column "${c}" but its column selection leaves it out` };
	}
	const mapped: ColumnMapping[] = selected.map((c) => ({ source: c.name, destination: renamedColumn(rule, c.name) }));
	const clash = firstClash(mapped);
	if (clash) return { refusal: `${label} gives two columns the same destination name "${clash}"` };
	const where = rule.where?.trim();
	const filter = where
		? rowFilterRefusal(
				where,
				columns.map((c) => c.name),
			)
		: null;
	if (filter) {
		return {
			refusal: `the row filter of ${label} (${JSON.stringify(where)}) is refused for ${describeTable(name)} at ${JSON.stringify(filter.token)}: ${filter.why}`,
		};
	}
	return {
		mapping: {
			source: name,
			destination: destinationOf(match, name),
			columns: mapped,
			...(where ? { where } : {}),
		},
	};
}

export function firstClash(columns: ColumnMapping[]): string | undefined {
	const seen = new Set<string>();
	for (const c of columns) {
		if (seen.has(lower(c.destination))) return c.destination;
		seen.add(lower(c.destination));
	}
	return undefined;
}

/** The column names a row filter reads (quoted names and bare words that are not function calls). */
export function filterReads(where: string, column: string): boolean {
	const tokens = tokenize(where).filter((t) => t.kind !== "space" && t.kind !== "comment");
	return tokens.some((t, i) => {
		if (t.kind === "quoted") return lower(t.name ?? "") === lower(column);
		if (t.kind !== "word" || tokens[i + 1]?.text === "(") return false;
		return lower(t.text) === lower(column);
	});
}

/** The mappings by source table, as a working copy a statement can change step by step. */
export class MappingSet {
	private readonly bySource = new Map<string, TableMapping>();

	constructor(mappings: readonly TableMapping[]) {
		for (const m of mappings) this.bySource.set(tableKey(m.source), m);
	}

	get(source: TableName): TableMapping | undefined {
		return this.bySource.get(tableKey(source));
	}

	set(m: TableMapping): void {
		this.bySource.set(tableKey(m.source), m);
	}

	delete(source: TableName): void {
		this.bySource.delete(tableKey(source));
	}

	all(): TableMapping[] {
		return [...this.bySource.values()];
	}

	/** The source table, other than `except`, already migrated to this destination table. */
	destinationTakenBy(destination: TableName, except?: TableName): TableName | undefined {
		for (const m of this.bySource.values()) {
			if (except && tableKey(m.source) === tableKey(except)) continue;
			if (tableKey(m.destination) === tableKey(destination)) return m.source;
		}
		return undefined;
	}
}
