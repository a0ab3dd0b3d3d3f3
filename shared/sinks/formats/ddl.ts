import { Cursor, DdlSyntaxError, lex, type Tok } from "../../ddl/parse.ts";
import type { TableName } from "../../model/rules.ts";
import { unquoteStringLiteral } from "../../schema/sqltext.ts";

/*
 * What a DDL statement is, as far as the formats need to know: Canal names its event type after
 * it (CREATE, ALTER, ERASE, CINDEX, ...), Maxwell its message type (table-create, database-drop,
 * ...), OMS Default its ddlType. Each format maps this one reading to its own names. Only the
 * statement's leading words and the names they introduce are read, with DDL replay's lexer
 * (shared/ddl/parse.ts: comments dropped, versioned comments read as the server reads them).
 */

export type DdlKind =
	| "create-table"
	| "alter-table"
	| "drop-table"
	| "truncate-table"
	| "rename-table"
	| "create-index"
	| "drop-index"
	| "create-database"
	| "alter-database"
	| "drop-database"
	| "other";

export interface DdlStatement {
	kind: DdlKind;
	/** The tables it names in order (DROP TABLE a, b; RENAME TABLE: the old names), qualified. */
	tables: TableName[];
	/** RENAME TABLE, ALTER TABLE ... RENAME TO: the new names. */
	renamed: TableName[];
	/** CREATE/ALTER/DROP DATABASE: the database. */
	database?: string;
	/** CREATE/ALTER DATABASE ... CHARACTER SET: the character set it names. */
	charset?: string;
	/** CREATE/DROP TEMPORARY TABLE. */
	temporary: boolean;
	/**
	 * ALTER TABLE: each clause's words, keywords upper-cased, quoted names kept in backquotes so
	 * they never read as keywords ([ADD, INDEX, ...], [ENGINE, =, InnoDB]).
	 */
	clauses: string[][];
}

function statement(kind: DdlKind, parts: Partial<DdlStatement> = {}): DdlStatement {
	return { kind, tables: [], renamed: [], temporary: false, clauses: [], ...parts };
}

function word(t: Tok): string {
	return t.kind === "word" ? t.text.toUpperCase() : t.text;
}

/** CHARACTER SET / CHARSET [=] name, anywhere in the rest of the statement. */
function charset(c: Cursor): string | undefined {
	while (!c.done()) {
		if (c.accept("CHARACTER", "SET") || c.accept("CHARSET")) {
			c.acceptEquals();
			const t = c.next();
			return t.kind === "string" ? unquoteStringLiteral(t.text) : (t.name ?? t.text);
		}
		c.next();
	}
	return undefined;
}

function createStatement(c: Cursor, db: string): DdlStatement {
	c.accept("OR", "REPLACE");
	const temporary = c.accept("TEMPORARY");
	if (c.accept("TABLE")) {
		c.accept("IF", "NOT", "EXISTS");
		return statement("create-table", { tables: [c.tableName(db)], temporary });
	}
	if (c.acceptOneOf("DATABASE", "SCHEMA")) {
		c.accept("IF", "NOT", "EXISTS");
		const database = c.identifier("a database name");
		return statement("create-database", { database, charset: charset(c) });
	}
	while (c.acceptOneOf("ONLINE", "OFFLINE", "UNIQUE", "FULLTEXT", "SPATIAL"));
	if (!c.accept("INDEX")) return statement("other");
	c.skipUntil((t) => t.kind === "word" && t.text.toUpperCase() === "ON");
	c.expect("ON");
	return statement("create-index", { tables: [c.tableName(db)] });
}

function alterStatement(c: Cursor, db: string): DdlStatement {
	c.acceptOneOf("ONLINE", "OFFLINE");
	c.accept("IGNORE");
	if (c.accept("TABLE")) {
		c.accept("IF", "EXISTS");
		const table = c.tableName(db);
		const clauses = c.splitCommas().map((range) => c.sub(range));
		const renamed: TableName[] = [];
		for (const clause of clauses) {
			if (!clause.accept("RENAME") || clause.acceptOneOf("COLUMN", "INDEX", "KEY")) continue;
			clause.acceptOneOf("TO", "AS");
			renamed.push(clause.tableName(db));
		}
		const words = clauses.map((clause) => clause.toks.slice(clause.start, clause.end).map(word));
		return statement("alter-table", { tables: [table], renamed, clauses: words });
	}
	if (c.acceptOneOf("DATABASE", "SCHEMA")) {
		const options = ["CHARACTER", "CHARSET", "DEFAULT", "COLLATE", "UPGRADE", "READ", "ENCRYPTION"];
		const named = c.done() || options.some((o) => c.at(o)) ? undefined : c.identifier("a database name");
		return statement("alter-database", { database: named ?? db, charset: charset(c) });
	}
	return statement("other");
}

function dropStatement(c: Cursor, db: string): DdlStatement {
	const temporary = c.accept("TEMPORARY");
	if (c.accept("TABLE")) {
		c.accept("IF", "EXISTS");
		const tables = [c.tableName(db)];
		while (c.acceptPunct(",")) tables.push(c.tableName(db));
		return statement("drop-table", { tables, temporary });
	}
	if (c.acceptOneOf("DATABASE", "SCHEMA")) {
		c.accept("IF", "EXISTS");
		return statement("drop-database", { database: c.identifier("a database name") });
	}
	c.acceptOneOf("ONLINE", "OFFLINE");
	if (!c.accept("INDEX")) return statement("other");
	c.skipUntil((t) => t.kind === "word" && t.text.toUpperCase() === "ON");
	c.expect("ON");
	return statement("drop-index", { tables: [c.tableName(db)] });
}

function renameStatement(c: Cursor, db: string): DdlStatement {
	const tables: TableName[] = [];
	const renamed: TableName[] = [];
	do {
		tables.push(c.tableName(db));
		c.expect("TO");
		renamed.push(c.tableName(db));
	} while (c.acceptPunct(","));
	return statement("rename-table", { tables, renamed });
}

/** Reads `sql`, run with `defaultDatabase` as the session's database ("" for none). */
export function parseDdl(sql: string, defaultDatabase: string): DdlStatement {
	try {
		const c = new Cursor(lex(sql));
		if (c.accept("CREATE")) return createStatement(c, defaultDatabase);
		if (c.accept("ALTER")) return alterStatement(c, defaultDatabase);
		if (c.accept("DROP")) return dropStatement(c, defaultDatabase);
		if (c.accept("RENAME", "TABLE")) return renameStatement(c, defaultDatabase);
		if (c.accept("TRUNCATE")) {
			c.accept("TABLE");
			return statement("truncate-table", { tables: [c.tableName(defaultDatabase)] });
		}
		return statement("other");
	} catch (error) {
		// a statement this reading cannot follow is one the formats pass on as "other"
		if (error instanceof DdlSyntaxError) return statement("other");
		throw error;
	}
}
