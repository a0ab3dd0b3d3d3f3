import type { DdlChange } from "../capture/change.ts";
import { qualifiedName } from "../db/sql.ts";
import { rulesForDatabase, type TableMapping, type TableName } from "../model/rules.ts";
import { alterTable } from "./alter.ts";
import { alterDatabase, createDatabase, dropDatabase } from "./database.ts";
import { Cursor, DdlSyntaxError, isKeyword, lex } from "./parse.ts";
import { MappingSet, mayConcernRules } from "./rules.ts";
import { type DdlContext, type DdlEffect, Ignored, Refusal, Work } from "./state.ts";
import type { DdlForm } from "./support.ts";
import { createIndex, createTable, dropIndex, dropTable, noteOf, renameTable, truncateTable } from "./table.ts";
import { createView, dropView } from "./view.ts";

/**
 * DDL during incremental replay: a statement from the source's binlog becomes the statements
 * to run at the destination (converted to its dialect, names mapped by the project's rules) and
 * the changes replay must make to its table mappings; or it is ignored, with the reason; or it
 * is refused, naming the statement and why, so the project stops with a ticket that the user
 * can skip once the destination is put right by hand.
 *
 * Only the statement (read in its source session's lexical sql_mode), and the mappings are
 * consulted: nothing is read from either server. Replay may meet the last statement again after
 * a crash: tables and databases are created and dropped IF [NOT] EXISTS; ALTER and RENAME TABLE
 * are marked (`guards`) for replay's journal, which runs them once (replay/ddl-execute.ts). On MariaDB,
 * clauses also carry IF [NOT] EXISTS where that is right: the server checks it against the table
 * as it was before the statement, so a clause whose name an earlier clause dropped, renamed or
 * added goes without (it would be skipped), and so does an unnamed key.
 */

export type { ColumnChange, DdlContext, DdlEffect } from "./state.ts";
export type { DdlForm, DdlSupport, DdlSupportEntry } from "./support.ts";
export { SUPPORTED_DDL } from "./support.ts";

export type DdlDecision =
	| {
			action: "apply";
			/** To run at the destination in order; names fully qualified and quoted. */
			statements: string[];
			/** To apply to the mappings once the statements ran (see applyDdlEffects). */
			effects: DdlEffect[];
			/** What was converted on the way and why (dialect changes), for the log. */
			changes: string[];
			/** What the user should know: parts not carried over, values that may differ. */
			warnings: string[];
			/** The statement forms found, keys of SUPPORTED_DDL. */
			forms: DdlForm[];
			/** Run the statements with this default database (a view definition may name tables without it). */
			useDatabase?: string;
			/** Per statement: the destination tables whose definitions tell whether it ran already (ALTER, RENAME TABLE). */
			guards?: (TableName[] | undefined)[];
	  }
	| { action: "ignore"; reason: string; forms: DdlForm[] }
	| {
			action: "refuse";
			/** Names the statement's object and says why and what to do. */
			reason: string;
			/** The statement as the source ran it. */
			statement: string;
			forms: DdlForm[];
	  };

export function translateDdl(change: DdlChange, ctx: DdlContext): DdlDecision {
	const w = new Work(change, ctx);
	const statement = change.sql.trim();
	try {
		const mode = change.session?.sqlMode ?? [];
		if (mode.includes("ORACLE")) {
			return {
				action: "refuse",
				reason:
					"the statement ran under sql_mode=ORACLE, whose syntax Ferry does not read: apply what the destination needs by hand and skip the statement",
				statement,
				forms: ["other statements"],
			};
		}
		const toks = lex(change.sql, ctx.source, {
			ansiQuotes: mode.includes("ANSI_QUOTES"),
			noBackslashEscapes: mode.includes("NO_BACKSLASH_ESCAPES"),
		});
		if (toks.length === 0) return { action: "ignore", reason: "the statement is empty (comments only)", forms: [] };
		const c = new Cursor(toks);
		dispatch(w, c);
		if (!c.done()) throw new DdlSyntaxError(`unexpected text ${c.where()}`);
		if (w.statements.length === 0 && w.effects.length === 0) {
			return { action: "ignore", reason: "the statement changes nothing at the destination", forms: w.forms };
		}
		return {
			action: "apply",
			statements: w.statements,
			effects: w.effects,
			changes: w.changes,
			warnings: w.warnings,
			forms: w.forms,
			...(w.useDatabase !== undefined ? { useDatabase: w.useDatabase } : {}),
			...(w.guards.size > 0 ? { guards: w.statements.map((_, i) => w.guards.get(i)) } : {}),
		};
	} catch (err) {
		if (err instanceof Refusal) return { action: "refuse", reason: err.detail, statement, forms: w.forms };
		if (err instanceof Ignored) return { action: "ignore", reason: err.detail, forms: w.forms };
		if (err instanceof DdlSyntaxError) {
			const forms: DdlForm[] = w.forms.length > 0 ? w.forms : ["other statements"];
			if (!mayConcernRules(ctx.rules, change.database, change.sql)) {
				return {
					action: "ignore",
					reason: `Ferry cannot read the statement (${err.message}), but it names no database the rules migrate`,
					forms,
				};
			}
			return {
				action: "refuse",
				reason: `Ferry cannot read the statement (${err.message}): apply what the destination needs by hand and skip the statement`,
				statement,
				forms,
			};
		}
		throw err;
	}
}

/** The mappings after a decision's effects. */
export function applyDdlEffects(mappings: readonly TableMapping[], effects: readonly DdlEffect[]): TableMapping[] {
	const set = new MappingSet(mappings);
	for (const e of effects) {
		if (e.kind === "table-created" || e.kind === "columns-changed") set.set(e.mapping);
		else if (e.kind === "table-dropped") set.delete(e.source);
		else {
			set.delete(e.from);
			set.set(e.mapping);
		}
	}
	return set.all();
}

// ---------------------------------------------------------------- dispatch

function rest(c: Cursor): void {
	c.i = c.end;
}

function byForm(
	w: Work,
	c: Cursor,
	form: DdlForm,
	support: "ignore" | "refuse",
	subject: string,
	named?: string,
): never {
	const database = named ?? statementDatabase(c) ?? w.db;
	rest(c);
	if (support === "ignore") return w.ignore(form, `${subject}: ${noteOf(form)}`);
	// a trigger, routine or sequence of a database the rules leave out is none of this project's business
	if (database && rulesForDatabase(w.ctx.rules, database).length === 0) {
		return w.ignore(form, `${subject}: the database ${database} is not migrated`);
	}
	return w.refuse(form, `${subject}: ${noteOf(form)}`);
}

/** The database a statement names explicitly (`db`.`object` among its first tokens), if any. */
function statementDatabase(c: Cursor): string | undefined {
	for (let i = 0; i < 8; i++) {
		const [a, dot, b] = [c.peek(i), c.peek(i + 1), c.peek(i + 2)];
		if (!a || !dot || !b) return undefined;
		if (dot.text === "." && !dot.space && !b.space && a.text !== ".") return a.name ?? a.text;
	}
	return undefined;
}

function dispatch(w: Work, c: Cursor): void {
	const verb = c.acceptOneOf(
		"CREATE",
		"ALTER",
		"DROP",
		"RENAME",
		"TRUNCATE",
		"ANALYZE",
		"OPTIMIZE",
		"CHECK",
		"REPAIR",
		"CHECKSUM",
		"FLUSH",
		"GRANT",
		"REVOKE",
		"SET",
		"INSTALL",
		"UNINSTALL",
	);
	switch (verb) {
		case "CREATE":
			create(w, c);
			return;
		case "ALTER":
			alter(w, c);
			return;
		case "DROP":
			drop(w, c);
			return;
		case "RENAME":
			if (c.acceptOneOf("TABLE", "TABLES")) {
				renameTable(w, c);
				return;
			}
			if (c.at("USER")) {
				byForm(w, c, "CREATE / ALTER / DROP / RENAME USER and ROLE", "ignore", "RENAME USER");
				return;
			}
			break;
		case "TRUNCATE":
			truncateTable(w, c);
			return;
		case "ANALYZE":
		case "OPTIMIZE":
		case "CHECK":
		case "REPAIR":
		case "CHECKSUM":
			byForm(w, c, "ANALYZE / OPTIMIZE / CHECK / REPAIR TABLE", "ignore", `${verb} TABLE`);
			return;
		case "FLUSH":
			byForm(w, c, "FLUSH", "ignore", "FLUSH");
			return;
		case "GRANT":
		case "REVOKE":
			byForm(w, c, "GRANT / REVOKE", "ignore", verb);
			return;
		case "SET":
			if (c.at("PASSWORD") || c.at("DEFAULT", "ROLE") || c.at("ROLE")) {
				byForm(w, c, "CREATE / ALTER / DROP / RENAME USER and ROLE", "ignore", `SET ${c.peek()?.text.toUpperCase()}`);
				return;
			}
			break;
		case "INSTALL":
		case "UNINSTALL":
			byForm(w, c, "INSTALL / UNINSTALL PLUGIN", "ignore", `${verb} PLUGIN`);
			return;
	}
	byForm(w, c, "other statements", "refuse", describeStart(c));
}

function describeStart(c: Cursor): string {
	const words = c.toks.slice(0, 3).filter((t) => t.kind === "word");
	return words.map((t) => t.text.toUpperCase()).join(" ") || "the statement";
}

/** DEFINER = user, SQL SECURITY x, ALGORITHM = x and the like before the object keyword. */
function skipObjectModifiers(c: Cursor): { algorithm?: string } {
	const found: { algorithm?: string } = {};
	for (;;) {
		if (c.accept("DEFINER")) {
			c.acceptEquals();
			const t = c.next();
			if (isKeyword(t, "CURRENT_USER", "CURRENT_ROLE")) {
				if (c.isPunct("(")) c.group();
			} else if (c.peek()?.text === "@") {
				c.next();
				c.next();
			} else if (c.peek()?.kind === "word" && c.peek()?.text.startsWith("@")) {
				c.next();
			}
		} else if (c.accept("SQL", "SECURITY")) {
			c.next();
		} else if (c.accept("ALGORITHM")) {
			c.acceptEquals();
			found.algorithm = c.next().text.toUpperCase();
		} else if (!c.acceptOneOf("ONLINE", "OFFLINE", "AGGREGATE", "NONEDITIONABLE", "EDITIONABLE")) {
			return found;
		}
	}
}

function create(w: Work, c: Cursor): void {
	const orReplace = c.accept("OR", "REPLACE");
	const modifiers = skipObjectModifiers(c);
	const temporary = c.accept("TEMPORARY");
	if (c.accept("TABLE")) {
		createTable(w, c, { orReplace, temporary });
		return;
	}
	const kindWord = c.acceptOneOf("UNIQUE", "FULLTEXT", "SPATIAL");
	if (c.at("INDEX")) {
		createIndex(w, c, kindWord, orReplace);
		return;
	}
	if (c.acceptOneOf("DATABASE", "SCHEMA")) {
		createDatabase(w, c);
		return;
	}
	if (c.accept("VIEW")) {
		createView(w, c, modifiers.algorithm, "CREATE VIEW");
		return;
	}
	otherObject(w, c, "CREATE");
}

function alter(w: Work, c: Cursor): void {
	c.acceptOneOf("ONLINE", "OFFLINE");
	const ignoreDuplicates = c.accept("IGNORE");
	if (c.accept("TABLE")) {
		alterTable(w, c, ignoreDuplicates);
		return;
	}
	if (c.acceptOneOf("DATABASE", "SCHEMA")) {
		alterDatabase(w, c);
		return;
	}
	const modifiers = skipObjectModifiers(c);
	if (c.accept("VIEW")) {
		createView(w, c, modifiers.algorithm, "ALTER VIEW");
		return;
	}
	otherObject(w, c, "ALTER");
}

function drop(w: Work, c: Cursor): void {
	const temporary = c.accept("TEMPORARY");
	if (c.acceptOneOf("TABLE", "TABLES")) {
		dropTable(w, c, temporary);
		return;
	}
	c.acceptOneOf("ONLINE", "OFFLINE");
	if (c.accept("INDEX")) {
		dropIndex(w, c);
		return;
	}
	if (c.acceptOneOf("DATABASE", "SCHEMA")) {
		dropDatabase(w, c);
		return;
	}
	if (c.accept("VIEW")) {
		dropView(w, c);
		return;
	}
	otherObject(w, c, "DROP");
}

/** Triggers, routines, events, sequences, accounts, servers, tablespaces. */
function otherObject(w: Work, c: Cursor, verb: string): never {
	const object = c.peek()?.text.toUpperCase() ?? "";
	if (object === "TRIGGER") {
		c.next();
		c.accept("IF", "NOT", "EXISTS") || c.accept("IF", "EXISTS");
		let name: TableName | undefined;
		if (c.isIdentifier()) {
			const first = c.identifier("a trigger name");
			name = c.acceptPunct(".")
				? { database: first, table: c.identifier("a trigger name") }
				: { database: w.db, table: first };
		}
		if (name && /^pt_osc_/.test(name.table)) {
			rest(c);
			w.ignore(
				"CREATE / DROP TRIGGER",
				`${verb} TRIGGER ${qualifiedName(name)}: a trigger of pt-online-schema-change, whose effects arrive as row events`,
			);
		}
		return byForm(
			w,
			c,
			"CREATE / DROP TRIGGER",
			"refuse",
			`${verb} TRIGGER${name ? ` ${qualifiedName(name)}` : ""}`,
			name?.database,
		);
	}
	if (object === "PROCEDURE" || object === "FUNCTION" || object === "PACKAGE") {
		return byForm(w, c, "CREATE / ALTER / DROP PROCEDURE and FUNCTION", "refuse", `${verb} ${object}`);
	}
	if (object === "EVENT") return byForm(w, c, "CREATE / ALTER / DROP EVENT", "refuse", `${verb} EVENT`);
	if (object === "SEQUENCE") return byForm(w, c, "CREATE / ALTER / DROP SEQUENCE", "refuse", `${verb} SEQUENCE`);
	if (object === "USER" || object === "ROLE") {
		return byForm(w, c, "CREATE / ALTER / DROP / RENAME USER and ROLE", "ignore", `${verb} ${object}`);
	}
	if (object === "SERVER" || object === "TABLESPACE" || object === "LOGFILE") {
		return byForm(w, c, "CREATE / ALTER / DROP SERVER, TABLESPACE, LOGFILE GROUP", "ignore", `${verb} ${object}`);
	}
	return byForm(w, c, "other statements", "refuse", `${verb} ${object}`.trim());
}
