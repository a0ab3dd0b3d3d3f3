import { qualifiedName } from "../db/sql.ts";
import {
	lower,
	type MappingProblem,
	type ObjectRules,
	type RuleMatch,
	ruleMapping,
	rulesForDatabase,
	type SourceColumnInfo,
	type TableMapping,
	type TableName,
} from "../model/rules.ts";
import { rowFilterRefusal } from "../schema/row-filter.ts";
import { tableKey } from "../schema/snapshot.ts";
import { tokenize } from "../schema/sqltext.ts";

/**
 * The object rules as DDL replay needs them: rule matching (shared/model/rules.ts) applied to
 * tables that appear while the migration runs. Where resolve.ts throws, these return a reason.
 */

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

export function describeRule(match: RuleMatch): string {
	return `rule #${match.index + 1}`;
}

/**
 * Maps a table's columns through its rule (`ruleMapping`, as resolve.ts does for the initial
 * schema) and checks its row filter, returning why not instead of throwing.
 */
export function mapTable(
	name: TableName,
	match: RuleMatch,
	columns: SourceColumnInfo[],
): { mapping: TableMapping } | { refusal: string } {
	const label = describeRule(match);
	const mapped = ruleMapping(name, match, columns);
	if ("problem" in mapped) return { refusal: refusalOf(mapped.problem, label, name, columns) };
	const where = mapped.mapping.where;
	const filter =
		where !== undefined
			? rowFilterRefusal(
					where,
					columns.map((c) => c.name),
				)
			: null;
	if (filter) {
		return {
			refusal: `the row filter of ${label} (${JSON.stringify(where)}) is refused for ${qualifiedName(name)} at ${JSON.stringify(filter.token)}: ${filter.why}`,
		};
	}
	return mapped;
}

function refusalOf(problem: MappingProblem, label: string, name: TableName, columns: SourceColumnInfo[]): string {
	switch (problem.kind) {
		case "unknown-column":
			return `${label} names column "${problem.column}", which ${qualifiedName(name)} does not have (it has ${columns.map((c) => c.name).join(", ")}): correct the rule`;
		case "primary-key-left-out":
			return `the column selection of ${label} leaves out primary-key column "${problem.column}": add it to the rule's columns`;
		case "reads-left-out":
			return `generated column "${problem.column}" is computed from column "${problem.base}", which the column selection of ${label} leaves out`;
		case "rename-left-out":
			return `${label} renames column "${problem.rule}" but its column selection leaves it out`;
		case "destination-clash":
			return `${label} gives two columns the same destination name "${problem.second.destination}"`;
	}
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
