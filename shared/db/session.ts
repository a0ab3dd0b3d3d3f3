import { escapeValue } from "./sql.ts";
import { typeMembers } from "./types.ts";

/**
 * Session sql_mode handling shared by the two paths that write rows at the destination: the
 * copy (shared/copy/chunk.ts) and replay (shared/replay/destination-session.ts). Other sql_mode lists differ
 * in meaning and stay where they are used: the schema apply's DDL session (shared/schema/apply.ts)
 * only drops what changes how DDL text is read; a correction script (shared/verify/correct.ts)
 * sets a fixed mode since it runs where Ferry cannot read the session first; the filter mode is
 * shared/db/filter-mode.ts; capture decodes the source's mode bits (shared/capture/session.ts).
 */

/** `mode` (a session's @@sql_mode) as upper-case names, without those in `remove`. */
export function removeModes(mode: string, remove: readonly string[]): string[] {
	return mode
		.split(",")
		.map((m) => m.trim().toUpperCase())
		.filter((m) => m && !remove.includes(m));
}

/** Modes that would reject, alter or misread a source value, or change the dialect. */
const MODES_NOT_FOR_ROW_WRITES = [
	"NO_ZERO_DATE",
	"NO_ZERO_IN_DATE",
	"NO_BACKSLASH_ESCAPES",
	"STRICT_TRANS_TABLES",
	"STRICT_ALL_TABLES",
	"NO_AUTO_VALUE_ON_ZERO",
	"ALLOW_INVALID_DATES",
	"TRADITIONAL",
	"ORACLE",
	"MSSQL",
	"DB2",
	"POSTGRESQL",
	"MAXDB",
	"PAD_CHAR_TO_FULL_LENGTH",
];

/**
 * The sql_mode rows are written under at the destination, from the session's own `mode`: strict,
 * so a value the destination cannot hold fails instead of being truncated; a 0 in an
 * AUTO_INCREMENT column stays 0; zero and invalid dates allowed, since they come verbatim from the
 * source; backslash escapes on, as the driver's escaping and LOAD DATA's ESCAPED BY assume them;
 * no dialect modes. The session's other modes are kept.
 */
export function rowWriteSqlMode(mode: string): string {
	return [
		...removeModes(mode, MODES_NOT_FOR_ROW_WRITES),
		"STRICT_ALL_TABLES",
		"NO_AUTO_VALUE_ON_ZERO",
		"ALLOW_INVALID_DATES",
	].join(",");
}

/**
 * Whether a column (information_schema DATA_TYPE and COLUMN_TYPE) is an ENUM without '' among its
 * members. Its error value (index 0, '' as read back), which a non-strict session stores for an
 * invalid member, is refused under `rowWriteSqlMode` ("Data truncated"): a statement writing it
 * runs under `laxRowWriteSqlMode`.
 */
export function refusesEnumErrorValue(dataType: string, columnType: string): boolean {
	return dataType === "enum" && !typeMembers(columnType).includes("");
}

/**
 * Whether a value is ENUM's error value: '' (as capture and the copy read it), or the index 0 (a
 * change feed that gave indexes and no member list; the server reads a number as the index).
 */
export function isEnumErrorValue(v: unknown): boolean {
	return v === "" || v === 0;
}

/**
 * `rowWriteSqlMode` without strictness, for a statement writing ENUM's error value (see
 * `refusesEnumErrorValue`): there is no literal strict mode accepts for it, and the source holds
 * it. Only such statements run under it, so every other value still fails instead of being
 * altered.
 */
export function laxRowWriteSqlMode(rowMode: string): string {
	return removeModes(rowMode, ["STRICT_ALL_TABLES", "STRICT_TRANS_TABLES"]).join(",");
}

/**
 * Wraps an INSERT, REPLACE or UPDATE so that it alone runs under `mode`, on the server whose
 * VERSION() is `version`: MariaDB's `SET STATEMENT … FOR`, MySQL's SET_VAR optimizer hint (8.0.3
 * and later; an older server ignores it with a warning, and the statement fails as under strict
 * mode), which must follow the statement's first keyword. The session's own mode stays, even when
 * the statement fails (a session SET around it would outlive a failure in a multi-statement
 * packet).
 */
export function statementSqlMode(version: string, mode: string): (sql: string) => string {
	const value = escapeValue(mode);
	if (/mariadb/i.test(version)) return (sql) => `SET STATEMENT sql_mode = ${value} FOR ${sql}`;
	return (sql) => {
		const m = /^\s*(INSERT|REPLACE|UPDATE)\b/i.exec(sql);
		if (!m) throw new Error(`no per-statement sql_mode for: ${sql.slice(0, 60)}`);
		return `${m[1]} /*+ SET_VAR(sql_mode = ${value}) */${sql.slice(m[0].length)}`;
	};
}
