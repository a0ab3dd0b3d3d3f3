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
