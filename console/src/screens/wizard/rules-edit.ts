import { includingRule, lastMatchingRule } from "../../../../shared/model/rule-match.ts";
import type { TableRule } from "../../../../shared/model/rules.ts";

/*
 * The object tree's ticks as edits of the rule list, which stays what is sent, exported and
 * imported. The last matching rule decides about a table (as on the server), so: a broad
 * include goes first (the table rules after it keep their settings), an exclusion goes last,
 * and a table's own settings live in a rule naming exactly that table.
 */

const exact = (r: TableRule, database: string, table: string) => r.database === database && r.table === table;
const isPattern = (s: string) => s.includes("*") || s.includes("?");

export const isIncluded = (rules: TableRule[], database: string, table: string) =>
	includingRule(rules, { database, table }) !== undefined;

export function toggleTable(rules: TableRule[], database: string, table: string, on: boolean): TableRule[] {
	if (on) {
		const next = rules.filter((r) => !(exact(r, database, table) && r.exclude));
		return isIncluded(next, database, table) ? next : [...next, { database, table, exclude: false }];
	}
	const next = rules.filter((r) => !(exact(r, database, table) && !r.exclude));
	return isIncluded(next, database, table) ? [...next, { database, table, exclude: true }] : next;
}

/** Ticks or unticks every table of a database: one `db.*` rule rather than one rule per table. */
export function toggleDatabase(rules: TableRule[], database: string, tables: string[], on: boolean): TableRule[] {
	if (on) {
		const next = rules.filter((r) => !(r.database === database && r.exclude && !isPattern(r.table)));
		const missing = tables.some((t) => !isIncluded(next, database, t));
		return missing ? [{ database, table: "*", exclude: false }, ...next] : next;
	}
	const next = rules.filter((r) => r.database !== database);
	return tables.some((t) => isIncluded(next, database, t)) ? [...next, { database, table: "*", exclude: true }] : next;
}

/** What a table's own rule may set besides its name. */
export type TableSettings = Pick<TableRule, "renameDatabase" | "renameTable" | "where" | "columns">;

/**
 * Gives an included table its own settings: the exact rule deciding about it is changed in place;
 * otherwise a new exact rule goes last (it must be the last to match), keeping what the broader
 * rule did not let it say apart (its database rename, unless the settings give one).
 */
export function setTableSettings(rules: TableRule[], database: string, table: string, s: TableSettings): TableRule[] {
	const deciding = lastMatchingRule(rules, { database, table });
	const settings = Object.fromEntries(
		Object.entries(s).filter(([, v]) => v !== undefined && v !== ""),
	) as TableSettings;
	const rule: TableRule = { database, table, exclude: false, ...settings };
	if (deciding && exact(deciding.rule, database, table) && !deciding.rule.exclude) {
		return rules.map((r, i) => (i === deciding.index ? rule : r));
	}
	return [...rules, rule];
}

/** The settings the deciding rule gives a table (empty when it decides nothing special). */
export function settingsOf(rules: TableRule[], database: string, table: string): TableSettings {
	const r = includingRule(rules, { database, table })?.rule;
	return r ? { renameDatabase: r.renameDatabase, renameTable: r.renameTable, where: r.where, columns: r.columns } : {};
}

export const moveRule = (rules: TableRule[], from: number, to: number): TableRule[] => {
	if (to < 0 || to >= rules.length) return rules;
	const next = [...rules];
	const [moved] = next.splice(from, 1);
	if (moved) next.splice(to, 0, moved);
	return next;
};

/** An imported settings file as the wizard keeps it, or why it is not one (the API checks it in full on create). */
export function parseSettings(text: string): TableRule[] | string {
	let parsed: unknown;
	try {
		parsed = JSON.parse(text);
	} catch {
		return "the file is not JSON";
	}
	const file = parsed as { format?: unknown; objects?: unknown };
	if (file.format !== "ferry-objects/1")
		return 'not a Ferry object settings file (its "format" is not "ferry-objects/1")';
	if (!Array.isArray(file.objects) || file.objects.length === 0) return 'its "objects" is not a list of rules';
	const rules: TableRule[] = [];
	for (const [i, o] of (file.objects as Partial<TableRule>[]).entries()) {
		if (typeof o?.database !== "string" || o.database === "") return `rule #${i + 1} has no database`;
		rules.push({ ...o, database: o.database, table: o.table ?? "*", exclude: o.exclude ?? false });
	}
	return rules;
}
