/**
 * A small lexer for the SQL fragments the server hands back (generation expressions, CHECK
 * clauses, default expressions, view definitions) and for user row filters. It only has to tell
 * apart what can hide an identifier or a statement boundary: string literals, backquoted
 * identifiers and comments. Identifiers that matter in these fragments are always backquoted by
 * the server (MariaDB and MySQL print column, table and database names quoted), so renaming works
 * on quoted tokens only and never touches text inside a string literal.
 */

export type TokenKind = "string" | "quoted" | "word" | "comment" | "space" | "punct";

export interface Token {
	kind: TokenKind;
	/** The token exactly as written. */
	text: string;
	/** For a quoted identifier: its name, with doubled backticks undone. */
	name?: string;
	/** Set when a string, quoted identifier or comment runs to the end of the text unclosed. */
	unterminated?: boolean;
}

const WORD = /[\p{L}\p{N}_$@]/u;

/** The lexical sql_mode a text was written under (the default: neither). */
export interface LexMode {
	/** ANSI_QUOTES: "x" is a name, not a string. */
	ansiQuotes?: boolean;
	/** NO_BACKSLASH_ESCAPES: a backslash in a string is a character. */
	noBackslashEscapes?: boolean;
}

/** Splits SQL into tokens whose texts concatenate back to the input. */
export function tokenize(sql: string, mode: LexMode = {}): Token[] {
	const tokens: Token[] = [];
	let i = 0;
	while (i < sql.length) {
		const ch = sql[i] as string;
		const next = sql[i + 1];
		if (ch === '"' && mode.ansiQuotes) {
			const end = closingQuote(sql, i, ch, false);
			const text = sql.slice(i, end.index);
			tokens.push({
				kind: "quoted",
				text,
				name: text.slice(1, end.unterminated ? undefined : -1).replaceAll('""', '"'),
				unterminated: end.unterminated || undefined,
			});
			i = end.index;
		} else if (ch === "'" || ch === '"') {
			const end = closingQuote(sql, i, ch, !mode.noBackslashEscapes);
			tokens.push({
				kind: "string",
				text: sql.slice(i, end.index),
				unterminated: end.unterminated || undefined,
			});
			i = end.index;
		} else if (ch === "`") {
			let j = i + 1;
			let name = "";
			let closed = false;
			while (j < sql.length) {
				if (sql[j] === "`") {
					if (sql[j + 1] === "`") {
						name += "`";
						j += 2;
						continue;
					}
					closed = true;
					j += 1;
					break;
				}
				name += sql[j];
				j += 1;
			}
			tokens.push({
				kind: "quoted",
				text: sql.slice(i, j),
				name,
				unterminated: closed ? undefined : true,
			});
			i = j;
		} else if (ch === "#" || (ch === "-" && next === "-" && /[\s]/.test(sql[i + 2] ?? " "))) {
			const end = sql.indexOf("\n", i);
			const j = end === -1 ? sql.length : end;
			tokens.push({ kind: "comment", text: sql.slice(i, j) });
			i = j;
		} else if (ch === "/" && next === "*") {
			const end = sql.indexOf("*/", i + 2);
			const j = end === -1 ? sql.length : end + 2;
			tokens.push({
				kind: "comment",
				text: sql.slice(i, j),
				unterminated: end === -1 || undefined,
			});
			i = j;
		} else if (/\s/.test(ch)) {
			let j = i + 1;
			while (j < sql.length && /\s/.test(sql[j] as string)) j += 1;
			tokens.push({ kind: "space", text: sql.slice(i, j) });
			i = j;
		} else if (WORD.test(ch)) {
			let j = i + 1;
			while (j < sql.length && WORD.test(sql[j] as string)) j += 1;
			tokens.push({ kind: "word", text: sql.slice(i, j) });
			i = j;
		} else {
			tokens.push({ kind: "punct", text: ch });
			i += 1;
		}
	}
	return tokens;
}

/** Token runs to replace: the run starting at the key ends at `last` and becomes `text`. */
export type TokenReplacements = Map<number, { last: number; text: string }>;

/** The text of `tokens` with the runs in `replacements` replaced, every other token as written. */
export function replaceTokens(tokens: Token[], replacements: TokenReplacements): string {
	let out = "";
	for (let i = 0; i < tokens.length; i += 1) {
		const r = replacements.get(i);
		if (r) {
			out += r.text;
			i = r.last;
		} else {
			out += (tokens[i] as Token).text;
		}
	}
	return out;
}

/**
 * Strings allow a doubled quote, and a backslash escape unless NO_BACKSLASH_ESCAPES. Row filters
 * are read in the default reading (backslash escapes, "..." a string), that of FILTER_SQL_MODE
 * (shared/db/filter-mode.ts), which every statement embedding a row filter runs under.
 */
function closingQuote(
	sql: string,
	start: number,
	quote: string,
	backslashEscapes: boolean,
): { index: number; unterminated: boolean } {
	let j = start + 1;
	while (j < sql.length) {
		const c = sql[j];
		if (c === "\\" && backslashEscapes) {
			j += 2;
		} else if (c === quote) {
			if (sql[j + 1] === quote) {
				j += 2;
			} else {
				return { index: j + 1, unterminated: false };
			}
		} else {
			j += 1;
		}
	}
	return { index: sql.length, unterminated: true };
}

/** The names of every backquoted identifier in the text. */
export function quotedNames(sql: string): Set<string> {
	const names = new Set<string>();
	for (const t of tokenize(sql)) if (t.kind === "quoted" && t.name !== undefined) names.add(t.name);
	return names;
}

/** Rewrites backquoted identifiers: `rename` returns the new name, or undefined to keep it. */
export function renameQuoted(sql: string, rename: (name: string) => string | undefined): string {
	return tokenize(sql)
		.map((t) => {
			if (t.kind !== "quoted" || t.name === undefined) return t.text;
			const to = rename(t.name);
			return to === undefined ? t.text : backquote(to);
		})
		.join("");
}

export function backquote(name: string): string {
	return `\`${name.replaceAll("`", "``")}\``;
}

/**
 * Undoes the quoting of a string literal, in single or double quotes (the quote character is the
 * literal's first): quotes doubled, and backslash escapes for NUL, newline, return, tab, ^Z,
 * backspace and any other character as itself. Reads what MariaDB prints in information_schema
 * (COLUMN_DEFAULT) and the literals of DDL statements (comments, table options).
 */
export function unquoteStringLiteral(literal: string): string {
	const q = literal[0] as string;
	const body = literal.slice(1, -1);
	let out = "";
	for (let i = 0; i < body.length; i += 1) {
		const c = body[i] as string;
		if (c === "\\" && i + 1 < body.length) {
			const e = body[i + 1] as string;
			out += ESCAPES[e] ?? e;
			i += 1;
		} else if (c === q && body[i + 1] === q) {
			out += q;
			i += 1;
		} else {
			out += c;
		}
	}
	return out;
}

const ESCAPES: Record<string, string> = {
	"0": "\0",
	n: "\n",
	r: "\r",
	t: "\t",
	Z: "\x1a",
	b: "\b",
};

/** A run of dot-separated quoted names, e.g. `db`.`t`.`c`, as token positions. */
export interface NameChain {
	parts: string[];
	/** Index of the first and last token of the chain. */
	first: number;
	last: number;
}

/** Finds every dot-qualified or single quoted name, left to right. */
export function nameChains(tokens: Token[]): NameChain[] {
	const chains: NameChain[] = [];
	let i = 0;
	while (i < tokens.length) {
		const t = tokens[i] as Token;
		if (t.kind !== "quoted" || t.name === undefined) {
			i += 1;
			continue;
		}
		const chain: NameChain = { parts: [t.name], first: i, last: i };
		while (tokens[chain.last + 1]?.text === "." && tokens[chain.last + 2]?.kind === "quoted") {
			chain.parts.push(tokens[chain.last + 2]?.name as string);
			chain.last += 2;
		}
		chains.push(chain);
		i = chain.last + 1;
	}
	return chains;
}
