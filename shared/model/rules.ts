import { z } from "zod";
import { destinationOf, type RuleMatch as GenericMatch, type TableName } from "./rule-match.ts";

export {
	destinationOf,
	includingRule,
	lastMatchingRule,
	type RulePattern,
	rulesForDatabase,
	type TableName,
	wildcard,
} from "./rule-match.ts";

/**
 * One object-matching rule, in the spirit of OMS's "matching rules": a database and table
 * pattern (`*` and `?` wildcards), optionally excluding, renaming, filtering rows or choosing
 * columns. Rules apply in order; the last matching rule for a table wins, so a broad include
 * can be followed by narrower exclusions or renames.
 */
export const TableRule = z
	.object({
		database: z.string().min(1).max(64),
		table: z.string().min(1).max(64).default("*"),
		exclude: z.boolean().default(false),
		renameDatabase: z.string().min(1).max(64).optional(),
		renameTable: z.string().min(1).max(64).optional(),
		/** Source column names to copy; absent means all columns. */
		columns: z.array(z.string().min(1).max(64)).min(1).optional(),
		/** Source column name -> destination column name. */
		renameColumns: z.record(z.string().min(1).max(64), z.string().min(1).max(64)).optional(),
		/**
		 * A boolean SQL expression over the source table's columns, e.g. `created_at >= '2024-01-01'`:
		 * literals, operators and deterministic functions only (shared/schema/row-filter.ts).
		 */
		where: z.string().min(1).max(4000).optional(),
	})
	.strict();
export type TableRule = z.infer<typeof TableRule>;

export const ObjectRules = z.array(TableRule).min(1);
export type ObjectRules = z.infer<typeof ObjectRules>;

export interface ColumnMapping {
	source: string;
	destination: string;
}

/** A source table resolved against the rules: where it goes and what of it goes there. */
export interface TableMapping {
	source: TableName;
	destination: TableName;
	/** Every copied column in source ordinal order. */
	columns: ColumnMapping[];
	/** The row filter, if any, exactly as the user wrote it (validated by `checkRowFilter`; run in FILTER_SQL_MODE). */
	where?: string;
}

/*
 * Rule matching, the same for the schema migration (shared/schema/resolve.ts), tables that appear
 * while the migration runs (the DDL translator, the replication stream) and verification: `*` and
 * `?` wildcards, case-sensitive names, the last matching rule decides everything about a table,
 * column names compared case-insensitively.
 */

/** A rule of a project and its place in the list. */
export type RuleMatch = GenericMatch<TableRule>;

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

/** The first column whose destination name (compared case-insensitively) an earlier one has, with that one. */
export function destinationClash(
	columns: readonly ColumnMapping[],
): { first: ColumnMapping; second: ColumnMapping } | undefined {
	const seen = new Map<string, ColumnMapping>();
	for (const c of columns) {
		const first = seen.get(lower(c.destination));
		if (first) return { first, second: c };
		seen.set(lower(c.destination), c);
	}
	return undefined;
}

/** A source table's column as rules-to-mapping needs it. */
export interface SourceColumnInfo {
	name: string;
	primary: boolean;
	/** Columns a generated column is computed from. */
	reads: string[];
}

/** Why a rule cannot map a table's columns: each caller words it (resolve.ts throws, replay refuses). */
export type MappingProblem =
	/** The rule selects or renames a column the table does not have. */
	| { kind: "unknown-column"; column: string; role: "selects" | "renames" }
	| { kind: "primary-key-left-out"; column: string }
	/** A selected generated column is computed from a column the selection leaves out. */
	| { kind: "reads-left-out"; column: string; base: string }
	/** The rule renames a column it does not select (`rule`: as the rule writes it; `column`: as the table does). */
	| { kind: "rename-left-out"; rule: string; column: string }
	| { kind: "destination-clash"; first: ColumnMapping; second: ColumnMapping };

/**
 * A table mapped through its rule: destination name, the selected columns in source order with
 * their destination names, the row filter as written (trimmed; checked by the caller). The
 * rule's column names are checked first, then the primary key, generated columns, renames and
 * destination names.
 */
export function ruleMapping(
	name: TableName,
	match: RuleMatch,
	columns: readonly SourceColumnInfo[],
): { mapping: TableMapping } | { problem: MappingProblem } {
	const rule = match.rule;
	const byLower = new Map(columns.map((c) => [lower(c.name), c]));
	for (const column of rule.columns ?? []) {
		if (!byLower.has(lower(column))) return { problem: { kind: "unknown-column", column, role: "selects" } };
	}
	for (const column of Object.keys(rule.renameColumns ?? {})) {
		if (!byLower.has(lower(column))) return { problem: { kind: "unknown-column", column, role: "renames" } };
	}
	for (const c of columns) {
		if (c.primary && !selects(rule, c.name)) return { problem: { kind: "primary-key-left-out", column: c.name } };
	}
	const selected = columns.filter((c) => selects(rule, c.name));
	for (const c of selected) {
		for (const used of c.reads) {
			const base = byLower.get(lower(used));
			if (base && !selects(rule, base.name)) {
				return { problem: { kind: "reads-left-out", column: c.name, base: base.name } };
			}
		}
	}
	for (const from of Object.keys(rule.renameColumns ?? {})) {
		if (!selects(rule, from)) {
			return { problem: { kind: "rename-left-out", rule: from, column: byLower.get(lower(from))?.name ?? from } };
		}
	}
	const mapped: ColumnMapping[] = selected.map((c) => ({ source: c.name, destination: renamedColumn(rule, c.name) }));
	const clash = destinationClash(mapped);
	if (clash) return { problem: { kind: "destination-clash", ...clash } };
	const where = rule.where?.trim();
	return {
		mapping: {
			source: name,
			destination: destinationOf(match, name),
			columns: mapped,
			...(where ? { where } : {}),
		},
	};
}
