import mysql from "mysql2";
import type { TableName } from "../model/rules.ts";

/** Quotes an identifier with backticks, doubling any backtick inside it. */
export function quoteId(name: string): string {
	if (name.includes("\0")) throw new Error(`identifier ${JSON.stringify(name)} contains a NUL byte`);
	return `\`${name.replaceAll("`", "``")}\``;
}

export function quoteTable(t: TableName): string {
	return `${quoteId(t.database)}.${quoteId(t.table)}`;
}

/** Escapes a value the way the driver does, for the few places a statement is built as text. */
export function escapeValue(value: unknown): string {
	return mysql.escape(value as Parameters<typeof mysql.escape>[0]);
}

/** `db.t`, unquoted: how messages and logs name a table (quoteTable is for SQL). */
export function qualifiedName(t: TableName): string {
	return `${t.database}.${t.table}`;
}

/**
 * A statement as it may be logged or stored: account statements carry passwords
 * (`IDENTIFIED BY '...'`, `PASSWORD('...')`, `IDENTIFIED VIA ... USING '...'`), which never
 * leave the database.
 */
export function redactSql(sql: string): string {
	return sql
		.replace(
			/\b(IDENTIFIED\s+(?:WITH\s+\S+\s+)?(?:BY|AS|USING))\s+('(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")/gi,
			"$1 '***'",
		)
		.replace(/\b(PASSWORD\s*\(\s*)('(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")/gi, "$1'***'")
		.replace(/\b(IDENTIFIED\s+VIA\s+\S+\s+USING)\s+(\S+)/gi, "$1 '***'");
}
