import { qualifiedName, quoteId, quoteTable } from "../db/sql.ts";
import type { TableMapping, TableName } from "../model/rules.ts";
import { SchemaError } from "./errors.ts";
import { type ReportEntry, refuse, reportEntry } from "./report.ts";
import type { ViewMapping } from "./resolve.ts";
import { functionKey } from "./routine-plan.ts";
import type { TableSchema, ViewSchema } from "./snapshot.ts";
import { tableKey } from "./snapshot.ts";
import { nameChains, replaceTokens, type TokenReplacements, tokenize } from "./sqltext.ts";

/**
 * Planning the mapped views, after the tables (and the routines a view may call): each is
 * created with its definition rewritten to the destination's names, or refused when it reads
 * something that is not migrated.
 */

export interface PlannedView {
	view: TableName;
	source: TableName;
	sql: string;
}

/** What view planning reads of the plan made so far: source objects, mappings, refusals. */
export interface ViewScope {
	readonly tables: ReadonlyMap<string, TableSchema>;
	readonly views: ReadonlyMap<string, ViewSchema>;
	readonly mappings: readonly TableMapping[];
	readonly tableMappings: ReadonlyMap<string, TableMapping>;
	readonly viewMappings: ReadonlyMap<string, ViewMapping>;
	/** Source keys of tables and views that are refused; a refused view is added. */
	readonly refused: Set<string>;
	/** Source functions (functionKey) a view may call, and where they go (null: not migrated). */
	readonly functions: ReadonlyMap<string, TableName | null>;
}

const label = (t: TableName) => qualifiedName(t);
const lower = (s: string) => s.toLowerCase();

/** Plans the mapped views, in dependency order, refusing those that read what is not migrated. */
export function planViews(scope: ViewScope, plan: { views: PlannedView[]; report: ReportEntry[] }): void {
	for (const mapping of viewsInDependencyOrder(scope)) {
		const view = scope.views.get(tableKey(mapping.source));
		const report = reportEntry("view", label(mapping.destination), label(mapping.source));
		plan.report.push(report);
		if (!view) {
			throw new SchemaError(
				label(mapping.source),
				"is mapped but missing from the schema snapshot",
				"read the schema of the mapped views again",
			);
		}
		const rewritten = rewriteView(scope, view);
		if ("refusal" in rewritten) {
			refuse(report, rewritten.refusal);
			scope.refused.add(tableKey(mapping.source));
			continue;
		}
		const checkOption = view.checkOption === "NONE" ? "" : ` WITH ${view.checkOption} CHECK OPTION`;
		report.changes.push({
			what: "DEFINER dropped, SQL SECURITY INVOKER",
			why: "the source's definer account need not exist at the destination; the view runs with the rights of whoever queries it",
		});
		report.status = "changed";
		plan.views.push({
			view: mapping.destination,
			source: mapping.source,
			sql: `CREATE OR REPLACE ALGORITHM=${view.algorithm} SQL SECURITY INVOKER VIEW ${quoteTable(mapping.destination)} AS ${rewritten.sql}${checkOption}`,
		});
	}
}

/** Views that read other migrated views come after them. */
function viewsInDependencyOrder(scope: ViewScope): ViewMapping[] {
	const ordered: ViewMapping[] = [];
	const state = new Map<string, "visiting" | "done">();
	const visit = (key: string) => {
		const mapping = scope.viewMappings.get(key);
		if (!mapping || state.get(key)) return;
		state.set(key, "visiting");
		for (const ref of scope.views.get(key)?.references ?? []) visit(tableKey(ref));
		state.set(key, "done");
		ordered.push(mapping);
	};
	for (const key of scope.viewMappings.keys()) visit(key);
	return ordered;
}

/**
 * Renames what the definition reads: `db`.`t` to the destination table or view, and column
 * names qualified by a renamed table (`db`.`t`.`c`, `t`.`c`, `alias`.`c`) to the destination
 * columns. The server stores definitions fully qualified, so these are the only forms.
 */
function rewriteView(scope: ViewScope, view: ViewSchema): { sql: string } | { refusal: string } {
	const tokens = tokenize(view.definition);
	const chains = nameChains(tokens);
	const references = new Map(view.references.map((r) => [tableKey(r), r]));
	const isReference = (parts: string[]) =>
		parts.length >= 2 && references.has(tableKey({ database: parts[0] as string, table: parts[1] as string }));
	for (const ref of view.references) {
		const key = tableKey(ref);
		if (!scope.tableMappings.has(key) && !scope.viewMappings.has(key)) {
			return {
				refusal: `it reads ${label(ref)}, which is not migrated: include it in the object rules`,
			};
		}
		if (scope.refused.has(key)) return { refusal: `it reads ${label(ref)}, which is refused` };
	}
	// Qualifiers (table names and aliases) -> the source table they stand for; null when ambiguous.
	const qualifiers = new Map<string, string | null>();
	const bind = (name: string, key: string) => {
		const known = qualifiers.get(name);
		qualifiers.set(name, known === undefined || known === key ? key : null);
	};
	for (const chain of chains) {
		if (chain.parts.length !== 2 || !isReference(chain.parts)) continue;
		const key = tableKey({
			database: chain.parts[0] as string,
			table: chain.parts[1] as string,
		});
		bind(chain.parts[1] as string, key);
		const alias = aliasAfter(tokens, chain.last);
		if (alias !== undefined) bind(alias, key);
	}
	const replacements: TokenReplacements = new Map();
	for (const chain of chains) {
		const parts = chain.parts;
		let tableSource: string | null | undefined;
		let column: string | undefined;
		let prefix = "";
		// A stored function of the view's own database is printed unqualified: qualify it, since the
		// destination resolves it when the view is created, without a current database.
		const [calledDatabase, calledName] = parts.length === 1 ? [view.name.database, parts[0]] : parts;
		const called =
			parts.length <= 2 && tokens[chain.last + 1]?.text === "("
				? scope.functions.get(functionKey(calledDatabase as string, calledName as string))
				: undefined;
		if (called === null) return { refusal: `it calls function ${calledDatabase}.${calledName}, which is not migrated` };
		if (called) {
			replacements.set(chain.first, { last: chain.last, text: quoteTable(called) });
			continue;
		}
		if (isReference(parts)) {
			tableSource = tableKey({
				database: parts[0] as string,
				table: parts[1] as string,
			});
			prefix = quoteTable(destinationOf(scope, tableSource));
			column = parts[2];
		} else if (parts.length === 2) {
			tableSource = qualifiers.get(parts[0] as string);
			prefix = quoteId(parts[0] as string);
			column = parts[1];
			if (tableSource === undefined) continue;
		} else {
			continue;
		}
		let text = prefix;
		if (column !== undefined) {
			const columns = tableSource === null ? undefined : scope.tableMappings.get(tableSource)?.columns;
			if (tableSource === null && renamesColumns(scope)) {
				return {
					refusal: `Ferry cannot tell which table ${parts[0]}.${column} reads, so it cannot rename its columns`,
				};
			}
			let target = column;
			if (columns) {
				const found = columns.find((c) => lower(c.source) === lower(column));
				if (!found) {
					const source = scope.tables.get(tableSource as string);
					return {
						refusal: `it reads column ${column} of ${source ? label(source.name) : parts[0]}, which the object rules leave out`,
					};
				}
				target = found.destination;
			}
			text += `.${quoteId(target)}`;
		}
		replacements.set(chain.first, { last: chain.last, text });
	}
	return { sql: replaceTokens(tokens, replacements) };
}

function renamesColumns(scope: ViewScope): boolean {
	return scope.mappings.some((m) => m.columns.some((c) => c.source !== c.destination));
}

function destinationOf(scope: ViewScope, sourceKey: string): TableName {
	const mapping = scope.tableMappings.get(sourceKey) ?? scope.viewMappings.get(sourceKey);
	return (mapping as { destination: TableName }).destination;
}

/** The alias after a table reference: `db`.`t` `a` or `db`.`t` AS `a`. */
function aliasAfter(tokens: ReturnType<typeof tokenize>, last: number): string | undefined {
	let i = last + 1;
	const skipSpace = () => {
		while (tokens[i]?.kind === "space") i += 1;
	};
	skipSpace();
	if (tokens[i]?.kind === "word" && tokens[i]?.text.toUpperCase() === "AS") {
		i += 1;
		skipSpace();
	}
	const t = tokens[i];
	return t?.kind === "quoted" && tokens[i + 1]?.text !== "." ? t.name : undefined;
}
