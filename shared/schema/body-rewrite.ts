import { qualifiedName, quoteTable } from "../db/sql.ts";
import type { TableName } from "../model/rules.ts";
import { tableKey } from "./snapshot.ts";
import { replaceTokens, type Token, type TokenReplacements, tokenize } from "./sqltext.ts";

/**
 * Applies the project's renames to the body of a stored routine, event or trigger. Bodies are
 * kept as their authors wrote them (unlike view definitions, which the server stores fully
 * qualified), so only what is unambiguous is rewritten: a name qualified by its database
 * (`shop.orders`, `shop`.`orders`.`id`, `shop.add_order(...)`) whose object is migrated under
 * another database or name. Unqualified names resolve against the routine's own database, which
 * moves with it. What cannot be rewritten safely is reported for review instead: a renamed
 * database named inside a string or comment (dynamic SQL), an unqualified name of a renamed
 * table, a qualified name of an object that is not migrated, a table whose columns the rules
 * rename or leave out.
 */

export interface BodyRenames {
	/** Migrated objects (tables, views, routines) by tableKey of their source database and name. */
	objects: Map<string, TableName>;
	/** Source tables (tableKey) whose rules rename or leave out columns. */
	reshaped?: ReadonlySet<string>;
}

export interface RewrittenBody {
	sql: string;
	/** What was rewritten, e.g. "shop.orders -> shop2.orders". */
	rewritten: string[];
	/** What a person should review. */
	warnings: string[];
}

interface Identifier {
	name: string;
	index: number;
}

const hasMode = (sqlMode: string, mode: string) => sqlMode.toUpperCase().split(",").includes(mode);

/** A token that names something: a backquoted name, a bare word (not a number, not a variable), or a "name" under ANSI_QUOTES. */
function identifier(token: Token | undefined, ansiQuotes: boolean): string | undefined {
	if (!token) return undefined;
	if (token.kind === "quoted") return token.name;
	if (token.kind === "word") return /^\d+$/.test(token.text) || token.text.includes("@") ? undefined : token.text;
	if (ansiQuotes && token.kind === "string" && token.text.startsWith('"') && token.text.endsWith('"')) {
		return token.text.slice(1, -1).replaceAll('""', '"');
	}
	return undefined;
}

/** Dot-separated runs of identifiers (`a`, `a.b`, `a`.`b`.`c`), left to right. */
function chains(tokens: Token[], ansiQuotes: boolean): Identifier[][] {
	const out: Identifier[][] = [];
	for (let i = 0; i < tokens.length; i += 1) {
		const first = identifier(tokens[i], ansiQuotes);
		if (first === undefined) continue;
		const chain: Identifier[] = [{ name: first, index: i }];
		for (;;) {
			const last = (chain.at(-1) as Identifier).index;
			const next = tokens[last + 1]?.text === "." ? identifier(tokens[last + 2], ansiQuotes) : undefined;
			if (next === undefined) break;
			chain.push({ name: next, index: last + 2 });
		}
		out.push(chain);
		i = (chain.at(-1) as Identifier).index;
	}
	return out;
}

function lookup(renames: BodyRenames, database: string, name: string): TableName | undefined {
	return (
		renames.objects.get(tableKey({ database, table: name })) ??
		renames.objects.get(tableKey({ database, table: name.toLowerCase() }))
	);
}

/**
 * Rewrites `sql` (a body, or any statement text around one) written under `sqlMode` in the source
 * database `home`.
 */
export function rewriteBody(sql: string, sqlMode: string, home: string, renames: BodyRenames): RewrittenBody {
	const ansiQuotes = hasMode(sqlMode, "ANSI_QUOTES") || hasMode(sqlMode, "ANSI") || hasMode(sqlMode, "ORACLE");
	const tokens = tokenize(sql);
	const rewritten = new Set<string>();
	const warnings = new Set<string>();
	const movedDatabases = new Map<string, string>();
	for (const [key, destination] of renames.objects) {
		const database = key.slice(0, key.indexOf("\u0000"));
		if (database !== destination.database) movedDatabases.set(database, destination.database);
	}
	const reshaped = (source: TableName) => {
		if (renames.reshaped?.has(tableKey(source))) {
			warnings.add(
				`it uses ${qualifiedName(source)}, whose columns the rules rename or leave out: check the columns it reads and writes`,
			);
		}
	};
	const replacements: TokenReplacements = new Map();
	for (const chain of chains(tokens, ansiQuotes)) {
		const [a, b] = chain;
		if (a && b) {
			const source = { database: a.name, table: b.name };
			const destination = lookup(renames, a.name, b.name);
			if (destination) {
				reshaped(source);
				if (tableKey(destination) !== tableKey(source)) {
					replacements.set(a.index, { last: b.index, text: quoteTable(destination) });
					rewritten.add(`${qualifiedName(source)} -> ${qualifiedName(destination)}`);
				}
				continue;
			}
			if (movedDatabases.has(a.name)) {
				warnings.add(
					`it names ${qualifiedName(source)}, which is not migrated, so Ferry leaves that name as it is although ${a.name} moves to ${movedDatabases.get(a.name)}: check it`,
				);
				continue;
			}
		}
		if (!a) continue;
		// an unqualified name (or the qualifier of a column) in the routine's own database
		const local = lookup(renames, home, a.name);
		if (!local) continue;
		reshaped({ database: home, table: a.name });
		if (local.table !== a.name && local.table.toLowerCase() !== a.name.toLowerCase()) {
			warnings.add(
				`it names ${a.name}, which is migrated as ${local.table}: Ferry does not rewrite unqualified names (they may be variables or columns), so rename it in the body`,
			);
		}
	}
	for (const t of tokens) {
		if (t.kind !== "string" && t.kind !== "comment") continue;
		for (const [database, destination] of movedDatabases) {
			if (t.text.includes(database)) {
				warnings.add(
					`a string or comment in it mentions ${database}, which moves to ${destination}: Ferry does not rewrite text inside strings (dynamic SQL, for one), so check it`,
				);
			}
		}
	}
	// Under NO_BACKSLASH_ESCAPES a backslash ends no string early, which Ferry's reader cannot tell apart.
	if (replacements.size > 0 && hasMode(sqlMode, "NO_BACKSLASH_ESCAPES") && sql.includes("\\")) {
		for (const r of rewritten) {
			warnings.add(
				`it names ${r.split(" -> ")[0]}, which is migrated as ${r.split(" -> ")[1]}: Ferry does not rewrite bodies with backslashes under NO_BACKSLASH_ESCAPES, so rename it in the body`,
			);
		}
		return { sql, rewritten: [], warnings: [...warnings] };
	}
	return { sql: replaceTokens(tokens, replacements), rewritten: [...rewritten], warnings: [...warnings] };
}
