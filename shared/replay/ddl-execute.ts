import { createHash } from "node:crypto";
import type { RowDataPacket } from "mysql2";
import type { DdlChange, TransactionPart } from "../capture/change.ts";
import type { QuerySession } from "../capture/session.ts";
import type { Connection } from "../db/connect.ts";
import { quoteId, quoteTable, redactSql } from "../db/sql.ts";
import type { Engine } from "../model/datasource.ts";
import type { TableName } from "../model/rules.ts";
import { logger } from "../observability.ts";
import { ddlMarker, META_DATABASE } from "./checkpoint.ts";

/**
 * Runs a translated DDL statement at the destination the way the source ran it, and exactly once.
 *
 * - Session: the source statement's sql_mode, time zone, explicit_defaults_for_timestamp and
 *   time (capture/session.ts), so a TIMESTAMP literal, a bare TIMESTAMP column, `||` in a
 *   generated column or a zero date in a default mean there what they meant at the source, and
 *   CURRENT_TIMESTAMP fills existing rows with the source's values. The lexical
 *   modes (ANSI_QUOTES, NO_BACKSLASH_ESCAPES) are left out: the translator writes names and
 *   strings in the default form. The replay session's own settings come back afterwards.
 * - Exactly once: replay writes its checkpoint after the DDL, so a crash in between runs the
 *   statement again. ALTER TABLE and RENAME TABLE are not repeatable in general (`CHANGE a b,
 *   ADD a` fails the second time, IF [NOT] EXISTS would skip clauses, a swap of two tables
 *   swaps them back), so `ferry_meta.ddl_journal` holds, per stream, the statement under way:
 *   its identity and step, written before it runs with a hash of its tables' definitions, and
 *   the next step once it ran. When the same statement comes again, a step marked done is
 *   passed over, and so is the step under way if its tables no longer have the definitions
 *   hashed (DDL is atomic on MariaDB 10.6+ and MySQL 8: it ran whole). Other statements are
 *   repeatable (IF [NOT] EXISTS on whole tables and databases), and their "already done" errors
 *   are taken as done.
 */

export interface DdlRun {
	statements: string[];
	/** Per statement, the destination tables whose definitions tell whether it already ran. */
	guards?: (TableName[] | undefined)[];
	/** The default database for the statements (view definitions). */
	useDatabase?: string;
}

export interface DdlRunContext {
	/** The replication stream: the statements carry its mark, the journal row is its own. */
	stream: string;
	/** The statement's identity in the source's binlog (ddlIdentity). */
	ddlId: string;
	session: QuerySession | undefined;
	destinationEngine: Engine;
	/** Helper database at the destination (default ferry_meta). */
	metaDatabase?: string;
}

/**
 * Errors a repeatable statement meets when it already ran (table exists, duplicate column or key,
 * can't drop what is gone, unknown table or column after a rename, multiple primary keys).
 */
const ALREADY_DONE = new Set([1050, 1060, 1091, 1051, 1061, 1826, 1054, 1146, 1068]);

export const DDL_JOURNAL_TABLE = "ddl_journal";

/** The identity of a DDL statement in the source's binlog: its transaction and its text. */
export function ddlIdentity(change: DdlChange, part: TransactionPart): string {
	const where = `${part.gtid ?? ""}|${part.position?.file ?? ""}|${part.position?.pos ?? ""}`;
	return createHash("sha256").update(`${where}\n${change.sql}`).digest("hex");
}

/** Journal tables a connection has made sure of (one CREATE TABLE IF NOT EXISTS per connection, not per statement). */
const journaled = new WeakMap<Connection, Set<string>>();

export async function executeDdl(conn: Connection, run: DdlRun, ctx: DdlRunContext): Promise<void> {
	const mark = ddlMarker(ctx.stream);
	const journal = `${quoteId(ctx.metaDatabase ?? META_DATABASE)}.${quoteId(DDL_JOURNAL_TABLE)}`;
	if (run.guards?.some((g) => g !== undefined) && !journaled.get(conn)?.has(journal)) {
		await conn.query(
			`${mark} CREATE TABLE IF NOT EXISTS ${journal} (stream VARCHAR(191) NOT NULL PRIMARY KEY, ddl CHAR(64) NOT NULL, step INT NOT NULL, before_state CHAR(64) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
		);
		journaled.set(conn, new Set([...(journaled.get(conn) ?? []), journal]));
	}
	const restore = await enterSourceSession(conn, ctx.session, ctx.destinationEngine);
	try {
		if (run.useDatabase) await conn.query(`USE ${quoteId(run.useDatabase)}`);
		for (const [step, sql] of run.statements.entries()) {
			const guard = run.guards?.[step];
			if (guard) {
				const state = await definitionHash(conn, guard);
				const [rows] = await conn.query<RowDataPacket[]>(
					`SELECT ddl, step, before_state FROM ${journal} WHERE stream = ?`,
					[ctx.stream],
				);
				const row = rows[0];
				if (row && row.ddl === ctx.ddlId && (row.step > step || (row.step === step && row.before_state !== state))) {
					logger.warn("DDL already applied at the destination (a crash came before its checkpoint); going on", {
						sql: redactSql(sql),
					});
					continue;
				}
				await conn.query(`REPLACE INTO ${journal} (stream, ddl, step, before_state) VALUES (?, ?, ?, ?)`, [
					ctx.stream,
					ctx.ddlId,
					step,
					state,
				]);
				await conn.query(`${mark} ${sql}`);
				// done: a crash from here on passes over it whatever the tables look like
				await conn.query(`UPDATE ${journal} SET step = ? WHERE stream = ?`, [step + 1, ctx.stream]);
				continue;
			}
			try {
				await conn.query(`${mark} ${sql}`);
			} catch (err) {
				if (!ALREADY_DONE.has((err as { errno?: number }).errno ?? 0)) throw err;
				logger.warn("DDL already applied at the destination; going on", {
					sql: redactSql(sql),
					error: (err as Error).message,
				});
			}
		}
	} finally {
		await restore();
	}
}

/** The tables' SHOW CREATE TABLE (or their absence), hashed together. */
async function definitionHash(conn: Connection, tables: TableName[]): Promise<string> {
	const hash = createHash("sha256");
	for (const table of tables) {
		try {
			const [rows] = await conn.query<RowDataPacket[]>(`SHOW CREATE TABLE ${quoteTable(table)}`);
			hash.update(String(rows[0]?.["Create Table"] ?? rows[0]?.["Create View"] ?? ""));
		} catch (err) {
			if ((err as { errno?: number }).errno !== 1146) throw err;
			hash.update(`absent ${table.database}.${table.table}`);
		}
		hash.update("\n");
	}
	return hash.digest("hex");
}

/** Modes that stand for a set of others (their members are in the mask already) or change the parser. */
const NOT_SET = new Set([
	"ANSI",
	"TRADITIONAL",
	"POSTGRESQL",
	"ORACLE",
	"MSSQL",
	"DB2",
	"MAXDB",
	"MYSQL323",
	"MYSQL40",
	// the translator writes names backquoted and strings with backslash escapes
	"ANSI_QUOTES",
	"NO_BACKSLASH_ESCAPES",
]);
/** Modes MySQL 8 does not know (MariaDB's own, or removed in 8.0: they only shaped SHOW CREATE output). */
const MARIADB_ONLY = new Set([
	"IGNORE_BAD_TABLE_OPTIONS",
	"NO_KEY_OPTIONS",
	"NO_TABLE_OPTIONS",
	"NO_FIELD_OPTIONS",
	"EMPTY_STRING_IS_NULL",
	"SIMULTANEOUS_ASSIGNMENT",
	"TIME_ROUND_FRACTIONAL",
	"NO_AUTO_CREATE_USER",
]);
const MYSQL_ONLY = new Set(["TIME_TRUNCATE_FRACTIONAL"]);

/** The sql_mode to run a translated statement under at a destination of `engine`. */
export function replaySqlMode(session: QuerySession, engine: Engine): string | undefined {
	if (!session.sqlMode) return undefined;
	const foreign = engine === "mariadb" ? MYSQL_ONLY : MARIADB_ONLY;
	return session.sqlMode.filter((m) => !NOT_SET.has(m) && !foreign.has(m)).join(",");
}

/**
 * Puts the connection in the source statement's session; returns what puts the replay
 * session's settings back.
 */
async function enterSourceSession(
	conn: Connection,
	session: QuerySession | undefined,
	engine: Engine,
): Promise<() => Promise<void>> {
	if (!session) return async () => {};
	const [[before]] = await conn.query<RowDataPacket[]>("SELECT @@session.sql_mode AS mode, @@session.time_zone AS tz");
	let edftBefore: boolean | undefined;
	const restore = async () => {
		await conn.query("SET SESSION sql_mode = ?, time_zone = ?, timestamp = DEFAULT", [before?.mode, before?.tz]);
		if (edftBefore !== undefined)
			await conn.query(`SET SESSION explicit_defaults_for_timestamp = ${edftBefore ? 1 : 0}`);
	};
	const mode = replaySqlMode(session, engine);
	if (mode !== undefined) await conn.query("SET SESSION sql_mode = ?", [mode]);
	// CURRENT_TIMESTAMP filling a new column's existing rows gives the source's values
	if (session.timestamp !== undefined) await conn.query(`SET SESSION timestamp = ${session.timestamp.toFixed(6)}`);
	if (session.timeZone !== undefined) {
		try {
			await conn.query("SET SESSION time_zone = ?", [session.timeZone]);
		} catch (err) {
			await restore();
			throw new Error(
				`the source ran the statement with time_zone '${session.timeZone}', which the destination does not know (${(err as Error).message}): load the destination's time zone tables (mariadb-tzinfo-to-sql) and resume`,
			);
		}
	}
	const edft = session.explicitDefaultsForTimestamp;
	if (edft !== undefined) {
		// a destination without the variable (TiDB) has the explicit behaviour: only OFF needs it
		const current = await conn.query<RowDataPacket[]>("SELECT @@session.explicit_defaults_for_timestamp AS edft").then(
			([[row]]) => Boolean(Number(row?.edft)),
			() => true,
		);
		if (current !== edft) {
			try {
				await conn.query(`SET SESSION explicit_defaults_for_timestamp = ${edft ? 1 : 0}`);
				edftBefore = current;
			} catch (err) {
				await restore();
				throw new Error(
					`the source ran the statement with explicit_defaults_for_timestamp=${edft ? "ON" : "OFF"}, which the destination cannot take per session (${(err as Error).message}): set it globally at the destination and resume`,
				);
			}
		}
	}
	return restore;
}
