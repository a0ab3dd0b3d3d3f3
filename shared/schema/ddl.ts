import { escapeValue, quoteId, quoteTable } from "../db/sql.ts";
import type { TableName } from "../model/rules.ts";
import type { DialectTraits } from "./dialect/rules.ts";
import type {
	CheckSchema,
	ColumnDefault,
	ColumnSchema,
	ForeignKeySchema,
	IndexSchema,
	TableSchema,
} from "./snapshot.ts";
import { isCurrentTimestamp } from "./snapshot.ts";

/**
 * DDL text for already-converted schema objects. Every identifier goes through quoteId and every
 * literal through escapeValue (callers run it in a session without NO_BACKSLASH_ESCAPES).
 */

/** A literal default as SQL. */
export function literalSql(d: ColumnDefault): string {
	switch (d.kind) {
		case "string":
			return escapeValue(d.value);
		case "bytes":
			return bytesLiteral(Buffer.from(d.hex, "hex"));
		case "number":
			return d.text;
		case "expression":
			return d.sql;
		default:
			return "NULL";
	}
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Bytes that are valid UTF-8 are written as a string (the session is utf8mb4, so a binary column
 * receives the same bytes), which is also how MariaDB keeps BLOB defaults: as the literal's text.
 * Anything else is written as X'..'.
 */
function bytesLiteral(bytes: Buffer): string {
	try {
		return escapeValue(utf8.decode(bytes));
	} catch {
		return escapeValue(bytes);
	}
}

function defaultClause(d: ColumnDefault): string {
	switch (d.kind) {
		case "none":
			return "";
		case "expression":
			// MySQL wants expression defaults in parentheses, except the CURRENT_TIMESTAMP family.
			return isCurrentTimestamp(d.sql) ? ` DEFAULT ${d.sql}` : ` DEFAULT (${d.sql})`;
		default:
			return ` DEFAULT ${literalSql(d)}`;
	}
}

export function columnDefinition(c: ColumnSchema): string {
	let sql = `${quoteId(c.name)} ${c.columnType}`;
	if (c.charset !== null && c.collation !== null) sql += ` CHARACTER SET ${c.charset} COLLATE ${c.collation}`;
	if (c.generated) {
		sql += ` GENERATED ALWAYS AS (${c.generated.expression}) ${c.generated.kind === "virtual" ? "VIRTUAL" : "STORED"}`;
		// MariaDB's generated columns are always nullable; MySQL's may be declared NOT NULL.
		if (!c.nullable) sql += " NOT NULL";
	} else {
		sql += c.nullable ? " NULL" : " NOT NULL";
		sql += defaultClause(c.default);
		if (c.onUpdate) sql += ` ON UPDATE ${c.onUpdate}`;
		if (c.autoIncrement) sql += " AUTO_INCREMENT";
	}
	if (c.invisible) sql += " INVISIBLE";
	if (c.comment) sql += ` COMMENT ${escapeValue(c.comment)}`;
	if (c.check) sql += ` CHECK (${c.check})`;
	return sql;
}

const INDEX_KEYWORD: Record<IndexSchema["kind"], string> = {
	primary: "PRIMARY KEY",
	unique: "UNIQUE KEY",
	index: "KEY",
	fulltext: "FULLTEXT KEY",
	spatial: "SPATIAL KEY",
};

export function indexDefinition(i: IndexSchema, traits: DialectTraits): string {
	const parts = i.parts
		.map((p) => {
			const target = p.expression !== undefined ? `(${p.expression})` : quoteId(p.column);
			return `${target}${p.length !== null ? `(${p.length})` : ""}${p.descending ? " DESC" : ""}`;
		})
		.join(",");
	let sql = i.kind === "primary" ? `PRIMARY KEY (${parts})` : `${INDEX_KEYWORD[i.kind]} ${quoteId(i.name)} (${parts})`;
	if (i.hash) sql += " USING HASH";
	if (i.comment) sql += ` COMMENT ${escapeValue(i.comment)}`;
	if (i.invisible) sql += ` ${traits.invisibleIndex}`;
	return sql;
}

export function checkDefinition(c: CheckSchema): string {
	return `CONSTRAINT ${quoteId(c.name)} CHECK (${c.clause})`;
}

export function foreignKeyDefinition(fk: ForeignKeySchema): string {
	const list = (cols: string[]) => cols.map(quoteId).join(",");
	let sql = `CONSTRAINT ${quoteId(fk.name)} FOREIGN KEY (${list(fk.columns)}) REFERENCES ${quoteTable(fk.referenced)} (${list(fk.referencedColumns)})`;
	// RESTRICT is what an omitted clause means; naming it would only add noise.
	if (fk.onDelete && fk.onDelete !== "RESTRICT") sql += ` ON DELETE ${fk.onDelete}`;
	if (fk.onUpdate && fk.onUpdate !== "RESTRICT") sql += ` ON UPDATE ${fk.onUpdate}`;
	return sql;
}

export function createTable(name: TableName, definitions: string[], table: TableSchema): string {
	let options = table.engine ? `ENGINE=${table.engine}` : "";
	options += ` DEFAULT CHARSET=${table.charset} COLLATE=${table.collation}`;
	if (table.autoIncrement !== null) options += ` AUTO_INCREMENT=${table.autoIncrement}`;
	for (const o of table.options) options += ` ${o.name.toUpperCase()}=${o.value}`;
	if (table.comment) options += ` COMMENT=${escapeValue(table.comment)}`;
	return `CREATE TABLE ${quoteTable(name)} (\n  ${definitions.join(",\n  ")}\n) ${options.trim()}`;
}
