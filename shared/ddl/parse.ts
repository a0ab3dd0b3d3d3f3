import { escapeValue } from "../db/sql.ts";
import type { TableName } from "../model/rules.ts";
import type { ServerFlavor } from "../schema/snapshot.ts";
import { backquote, type LexMode, type TokenKind, tokenize } from "../schema/sqltext.ts";

/**
 * Just enough parsing for DDL replay: the statement as significant tokens (versioned comments
 * expanded the way the source server read them, other comments and whitespace dropped), and a
 * cursor with the few moves a hand-written descent needs. No SQL grammar lives here; the
 * translators in translate.ts and table.ts walk the statement forms they support and pass every
 * other fragment (types, expressions, options) through as text.
 */

export interface Tok {
	kind: TokenKind;
	text: string;
	/** For a quoted identifier: its name. */
	name?: string;
	/** Whitespace or a comment came before the token. */
	space: boolean;
}

/** The statement cannot be read: unbalanced, unterminated or not of a form Ferry knows. */
export class DdlSyntaxError extends Error {
	constructor(message: string) {
		super(message);
		this.name = "DdlSyntaxError";
	}
}

/** What ran the statement at the source, which decides what versioned comments it executed. */
export interface SourceServer {
	flavor?: ServerFlavor;
	/** `10.11.6`, `8.0.36`: versioned comments for newer versions were not executed. */
	version?: string;
}

const VERSIONED = /^\/\*(M?)!(\d{5,6})?([\s\S]*)\*\/$/;

/**
 * Splits the statement into significant tokens. `/*!50100 ...*\/` runs on servers from the
 * version named (on MariaDB too), `/*M!100301 ...*\/` on MariaDB only; with the source unknown
 * both are taken as executed, which is what a current MariaDB does.
 *
 * `mode` is how the source session read quotes and backslashes (ANSI_QUOTES,
 * NO_BACKSLASH_ESCAPES); the tokens come out in the default form whatever it was (names
 * backquoted, strings single-quoted with backslash escapes), which is how replay runs them.
 */
export function lex(sql: string, source: SourceServer = {}, mode: LexMode = {}): Tok[] {
	const out: Tok[] = [];
	let space = false;
	const walk = (text: string, depth: number) => {
		for (const raw of tokenize(text, mode)) {
			const t = defaultForm(raw, mode);
			if (t.unterminated) {
				throw new DdlSyntaxError(
					`${t.kind === "quoted" ? "a quoted name" : t.kind === "comment" ? "a comment" : "a string"} is not closed`,
				);
			}
			if (t.kind === "space") {
				space = true;
				continue;
			}
			if (t.kind === "comment") {
				space = true;
				const m = depth === 0 ? VERSIONED.exec(t.text) : null;
				if (m && executed(m[1] === "M", m[2], source)) {
					walk(m[3] ?? "", depth + 1);
					space = true;
				}
				continue;
			}
			out.push({ kind: t.kind, text: t.text, ...(t.name !== undefined ? { name: t.name } : {}), space });
			space = false;
		}
	};
	walk(sql, 0);
	while (out.at(-1)?.text === ";") out.pop();
	if (!holdsCompoundBody(out) && out.some((t) => t.kind === "punct" && t.text === ";")) {
		throw new DdlSyntaxError("it holds more than one statement");
	}
	return out;
}

/** Objects whose definition may be a compound statement (BEGIN … ; … END), semicolons included. */
const COMPOUND_OBJECTS = new Set(["PROCEDURE", "FUNCTION", "TRIGGER", "EVENT", "PACKAGE"]);

/** CREATE or ALTER of a routine, trigger or event: its semicolons belong to its body. */
function holdsCompoundBody(toks: readonly Tok[]): boolean {
	if (!isKeyword(toks[0], "CREATE", "ALTER")) return false;
	// the object word comes after OR REPLACE, DEFINER = `user`@`host`, SQL SECURITY …, AGGREGATE
	for (const t of toks.slice(1, 16)) {
		if (t.kind === "punct" && t.text === ";") return false;
		if (t.kind === "word" && COMPOUND_OBJECTS.has(t.text.toUpperCase())) return true;
	}
	return false;
}

/** A token as the default sql_mode writes it. */
function defaultForm<T extends { kind: TokenKind; text: string; name?: string }>(t: T, mode: LexMode): T {
	if (t.kind === "quoted" && mode.ansiQuotes && t.text.startsWith('"')) {
		return { ...t, text: backquote(t.name as string) };
	}
	if (t.kind === "string" && mode.noBackslashEscapes && t.text.length >= 2) {
		const q = t.text[0] as string;
		return { ...t, text: escapeValue(t.text.slice(1, -1).replaceAll(q + q, q)) };
	}
	return t;
}

function executed(mariadbOnly: boolean, version: string | undefined, source: SourceServer): boolean {
	if (mariadbOnly && source.flavor !== undefined && source.flavor !== "mariadb") return false;
	if (version === undefined || source.version === undefined) return true;
	const [major = 0, minor = 0, patch = 0] = source.version.split(".").map((n) => Number.parseInt(n, 10) || 0);
	return major * 10000 + minor * 100 + patch >= Number(version);
}

/** A word compared as a keyword: case-insensitively, never a quoted name. */
export function isKeyword(t: Tok | undefined, ...words: string[]): boolean {
	return t?.kind === "word" && words.includes(t.text.toUpperCase());
}

/** Joins tokens back into SQL, one space where the source had any. */
export function joinTokens(toks: readonly Tok[]): string {
	return toks.map((t, i) => (i > 0 && t.space ? ` ${t.text}` : t.text)).join("");
}

export class Cursor {
	i: number;

	constructor(
		readonly toks: readonly Tok[],
		readonly start = 0,
		readonly end = toks.length,
	) {
		this.i = start;
	}

	done(): boolean {
		return this.i >= this.end;
	}

	peek(offset = 0): Tok | undefined {
		const k = this.i + offset;
		return k < this.end ? this.toks[k] : undefined;
	}

	/** The next tokens are these keywords, in order. */
	at(...words: string[]): boolean {
		return words.every((w, k) => isKeyword(this.peek(k), w));
	}

	/** Consumes the keywords if they come next, in order. */
	accept(...words: string[]): boolean {
		if (!this.at(...words)) return false;
		this.i += words.length;
		return true;
	}

	/** Consumes one of the keywords if it comes next and returns it (upper case). */
	acceptOneOf(...words: string[]): string | undefined {
		const t = this.peek();
		if (!isKeyword(t, ...words)) return undefined;
		this.i += 1;
		return (t as Tok).text.toUpperCase();
	}

	expect(...words: string[]): void {
		if (!this.accept(...words)) throw new DdlSyntaxError(`expected ${words.join(" ")} ${this.where()}`);
	}

	isPunct(p: string, offset = 0): boolean {
		const t = this.peek(offset);
		return t?.kind === "punct" && t.text === p;
	}

	acceptPunct(p: string): boolean {
		if (!this.isPunct(p)) return false;
		this.i += 1;
		return true;
	}

	expectPunct(p: string): void {
		if (!this.acceptPunct(p)) throw new DdlSyntaxError(`expected "${p}" ${this.where()}`);
	}

	next(): Tok {
		const t = this.peek();
		if (!t) throw new DdlSyntaxError("the statement ends too early");
		this.i += 1;
		return t;
	}

	/** Where the cursor stands, for messages. */
	where(): string {
		const t = this.peek();
		return t ? `at "${joinTokens(this.toks.slice(this.i, Math.min(this.i + 4, this.end)))}"` : "at the end";
	}

	isIdentifier(offset = 0): boolean {
		const t = this.peek(offset);
		return t?.kind === "quoted" || t?.kind === "word";
	}

	/** A quoted or bare name. */
	identifier(what: string): string {
		const t = this.peek();
		if (t?.kind === "quoted") {
			this.i += 1;
			return t.name as string;
		}
		if (t?.kind === "word") {
			this.i += 1;
			return t.text;
		}
		throw new DdlSyntaxError(`expected ${what} ${this.where()}`);
	}

	/** `t` or `db`.`t`; unqualified names belong to the statement's default database. */
	tableName(defaultDatabase: string): TableName {
		const first = this.identifier("a table name");
		if (this.isPunct(".") && this.isIdentifier(1)) {
			this.i += 1;
			return { database: first, table: this.identifier("a table name") };
		}
		if (defaultDatabase === "") {
			throw new DdlSyntaxError(`table ${first} is not qualified and the statement ran without a default database`);
		}
		return { database: defaultDatabase, table: first };
	}

	/** Consumes a parenthesised group and returns the range inside it. */
	group(): [number, number] {
		this.expectPunct("(");
		const from = this.i;
		let depth = 1;
		while (!this.done()) {
			const t = this.next();
			if (t.kind !== "punct") continue;
			if (t.text === "(") depth += 1;
			if (t.text === ")") {
				depth -= 1;
				if (depth === 0) return [from, this.i - 1];
			}
		}
		throw new DdlSyntaxError('a "(" is not closed');
	}

	/** Consumes tokens, parenthesised groups whole, up to (not including) a top-level token `stop` accepts. */
	skipUntil(stop: (t: Tok) => boolean): [number, number] {
		const from = this.i;
		while (!this.done()) {
			const t = this.peek() as Tok;
			if (stop(t)) break;
			if (t.kind === "punct" && t.text === "(") this.group();
			else if (t.kind === "punct" && t.text === ")") throw new DdlSyntaxError('a ")" closes more than was opened');
			else this.i += 1;
		}
		return [from, this.i];
	}

	/** The tokens of a range as SQL. */
	text(range: [number, number]): string {
		return joinTokens(this.toks.slice(range[0], range[1]));
	}

	/** A cursor over a range of the same tokens. */
	sub(range: [number, number]): Cursor {
		return new Cursor(this.toks, range[0], range[1]);
	}

	/** Splits the rest at top-level commas. */
	splitCommas(): [number, number][] {
		const parts: [number, number][] = [];
		while (!this.done()) {
			parts.push(this.skipUntil((t) => t.kind === "punct" && t.text === ","));
			if (this.acceptPunct(",") && this.done()) throw new DdlSyntaxError("the statement ends with a comma");
		}
		return parts;
	}

	/** Skips `[=]` before an option value. */
	acceptEquals(): void {
		this.acceptPunct("=");
	}
}
