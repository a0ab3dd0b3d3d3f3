/*
 * Rule matching without zod, so the console's object tree (bundled for the browser) decides
 * about a table exactly as the server does: `*` and `?` wildcards, case-sensitive names, the
 * last matching rule decides everything about a table. rules.ts re-exports these for the server.
 */

export interface TableName {
	database: string;
	table: string;
}

/** What matching reads of a rule (rules.ts `TableRule` has it all). */
export interface RulePattern {
	database: string;
	table: string;
	exclude: boolean;
	renameDatabase?: string;
	renameTable?: string;
}

/** A rule and its place in the list (messages call it `rule #<index + 1>`). */
export interface RuleMatch<R extends RulePattern = RulePattern> {
	rule: R;
	index: number;
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

/** The last rule matching the table, including or excluding it; `used` collects every rule that matched. */
export function lastMatchingRule<R extends RulePattern>(
	rules: readonly R[],
	name: TableName,
	used?: Set<number>,
): RuleMatch<R> | undefined {
	let found: RuleMatch<R> | undefined;
	rules.forEach((rule, index) => {
		if (wildcard(rule.database).test(name.database) && wildcard(rule.table).test(name.table)) {
			used?.add(index);
			found = { rule, index };
		}
	});
	return found;
}

/** The rule that decides about a table: the last one matching it, if it includes the table. */
export function includingRule<R extends RulePattern>(rules: readonly R[], name: TableName): RuleMatch<R> | undefined {
	const found = lastMatchingRule(rules, name);
	return found && !found.rule.exclude ? found : undefined;
}

/** Non-excluding rules whose database pattern matches the database (some of its tables may be migrated). */
export function rulesForDatabase<R extends RulePattern>(rules: readonly R[], database: string): RuleMatch<R>[] {
	return rules.flatMap((rule, index) =>
		!rule.exclude && wildcard(rule.database).test(database) ? [{ rule, index }] : [],
	);
}

/** Where the rule sends a table (its renames; views follow them too). */
export function destinationOf(match: RuleMatch, name: TableName): TableName {
	return {
		database: match.rule.renameDatabase ?? name.database,
		table: match.rule.renameTable ?? name.table,
	};
}
