import { qualifiedName } from "../db/sql.ts";
import type { ObjectRules, TableMapping, TableName, TableRule } from "../model/rules.ts";
import { destinationOf, includingRule } from "../model/rules.ts";
import { FatalReplicationError } from "../replay/fatal.ts";
import { tableKey } from "../schema/snapshot.ts";

/**
 * Reverse replication (destination -> source) in the terms of forward replication: the same
 * replay and DDL translation run with the project's mappings and rules turned round.
 *
 * - Each forward mapping is inverted (its destination table replicated into its source table;
 *   the mapped columns, renames swapped; no row filter) with a rule per table that says the
 *   same and selects every column: a column added at the destination, which takes the writes,
 *   goes back to the source whatever the forward column selection was.
 * - Each forward rule that can be turned round (no wildcard renamed into one name) also gives a
 *   rule for tables created at the destination later. Such a table is replicated back only when
 *   the forward rules would send its source name to it (`sourceOf`): exclusions, and tables the
 *   forward rules would name differently, are left out exactly as forward leaves them out.
 */

const renamedFrom = (rule: TableRule): Record<string, string> | undefined =>
	rule.renameColumns && Object.keys(rule.renameColumns).length > 0
		? Object.fromEntries(Object.entries(rule.renameColumns).map(([from, to]) => [to, from]))
		: undefined;

const wildcard = (pattern: string) => /[*?]/.test(pattern);

/** A forward rule turned round, for tables the destination creates; undefined when the renames cannot be undone. */
function invertRule(rule: TableRule): TableRule | undefined {
	if (rule.exclude) return undefined;
	if ((rule.renameDatabase && wildcard(rule.database)) || (rule.renameTable && wildcard(rule.table))) return undefined;
	const renameColumns = renamedFrom(rule);
	return {
		database: rule.renameDatabase ?? rule.database,
		table: rule.renameTable ?? rule.table,
		exclude: false,
		...(rule.renameDatabase ? { renameDatabase: rule.database } : {}),
		...(rule.renameTable ? { renameTable: rule.table } : {}),
		...(renameColumns ? { renameColumns } : {}),
	};
}

/** The forward rules turned round (those that can be), for tables the destination creates. */
export function reverseRules(rules: ObjectRules): TableRule[] {
	return rules.flatMap((r) => invertRule(r) ?? []);
}

/** The mappings and rules of reverse replication (see the module comment). */
export function invertMappings(
	forward: readonly TableMapping[],
	rules: ObjectRules,
): { mappings: TableMapping[]; rules: ObjectRules } {
	const seen = new Map<string, TableMapping>();
	const mappings: TableMapping[] = [];
	const inverted = reverseRules(rules);
	for (const m of forward) {
		const other = seen.get(tableKey(m.destination));
		if (other) {
			throw new FatalReplicationError(
				`${qualifiedName(other.source)} and ${qualifiedName(m.source)} are both migrated into ${qualifiedName(m.destination)}: reverse replication cannot tell which of them a change of it belongs to`,
			);
		}
		seen.set(tableKey(m.destination), m);
		mappings.push(reverseOf(m));
		const renamed = m.columns.filter((c) => c.source !== c.destination);
		// the last matching rule decides: the table's own rule comes after the general ones
		inverted.push({
			database: m.destination.database,
			table: m.destination.table,
			exclude: false,
			renameDatabase: m.source.database,
			renameTable: m.source.table,
			...(renamed.length > 0
				? { renameColumns: Object.fromEntries(renamed.map((c) => [c.destination, c.source])) }
				: {}),
		});
	}
	return { mappings, rules: inverted };
}

/** A forward mapping the other way round (no row filter: every row the destination has goes back). */
export function reverseOf(m: TableMapping): TableMapping {
	return {
		source: m.destination,
		destination: m.source,
		columns: m.columns.map((c) => ({ source: c.destination, destination: c.source })),
	};
}

/**
 * A reverse mapping as the forward mapping it stands for, with the row filter of the forward
 * rule that includes its source table (saveMappings keeps an existing item's own).
 */
export function forwardOf(m: TableMapping, forwardRules: ObjectRules): TableMapping {
	const where = includingRule(forwardRules, m.destination)?.rule.where?.trim();
	return {
		source: m.destination,
		destination: m.source,
		columns: m.columns.map((c) => ({ source: c.destination, destination: c.source })),
		...(where ? { where } : {}),
	};
}

/**
 * The source table a destination table not replicated yet goes back to: the name the reverse
 * rules give it, provided the forward rules include that table and send it to this very one.
 */
export function sourceOf(
	destination: TableName,
	reverseRules: ObjectRules,
	forwardRules: ObjectRules,
): TableName | undefined {
	const back = includingRule(reverseRules, destination);
	if (!back) return undefined;
	const source = destinationOf(back, destination);
	const forward = includingRule(forwardRules, source);
	if (!forward) return undefined;
	return tableKey(destinationOf(forward, source)) === tableKey(destination) ? source : undefined;
}
