import type { FieldPacket, QueryOptions, QueryResult } from "mysql2";
import type { Connection, Pool } from "./connect.ts";

/**
 * The session sql_mode of every statement that embeds a user's row filter (the precheck probe,
 * chunk planning, the copy's read, replay's filter evaluation, verification's source side), and
 * the one the filter check (shared/schema/row-filter.ts) reads filters under. The server's own
 * default would do otherwise: under NO_BACKSLASH_ESCAPES `'x\'` ends at the backslash, under
 * ANSI_QUOTES "x" is a column, under PIPES_AS_CONCAT `||` concatenates, and a filter checked
 * under one reading could mean something else in the statement that runs it (see
 * docs/decisions/2026-12-06-row-filters.md).
 *
 * Only IGNORE_SPACE, which the driver asks for on every connection anyway (a built-in function
 * name followed by a space is still the built-in). Everything that changes how text is read or
 * what an expression yields is off; modes about writes do not matter, these statements only
 * read. The driver's escaping of bound values (backslashes) needs NO_BACKSLASH_ESCAPES off too.
 */
export const FILTER_SQL_MODE = "IGNORE_SPACE";

function isPool(q: Pool | Connection): q is Pool {
	return typeof (q as Pool).getConnection === "function" && typeof (q as Connection).beginTransaction !== "function";
}

/**
 * Runs `work` on one connection of `q` whose session is in FILTER_SQL_MODE: a pool lends one, a
 * connection is used as it is. The connection's own sql_mode is put back afterwards; a
 * connection already in FILTER_SQL_MODE is left alone (so calls can nest). Never share one
 * connection between concurrent callers of this: the first to finish would put the mode back
 * under the others.
 */
export async function inFilterMode<T>(q: Pool | Connection, work: (conn: Connection) => Promise<T>): Promise<T> {
	const pooled = isPool(q) ? await q.getConnection() : null;
	const conn = (pooled ?? q) as Connection;
	try {
		const [rows] = await conn.query("SELECT @@SESSION.sql_mode AS mode");
		const mode = String((rows as { mode?: string }[])[0]?.mode ?? "");
		if (mode === FILTER_SQL_MODE) return await work(conn);
		await conn.query("SET SESSION sql_mode = ?", [FILTER_SQL_MODE]);
		const restore = () => conn.query("SET SESSION sql_mode = ?", [mode]);
		let out: T;
		try {
			out = await work(conn);
		} catch (err) {
			await restore().catch(() => {}); // the work's error is the one to report
			throw err;
		}
		await restore();
		return out;
	} finally {
		pooled?.release();
	}
}

/** One statement that embeds a row filter, run in FILTER_SQL_MODE (see `inFilterMode`). */
export function filterQuery<T extends QueryResult>(
	q: Pool | Connection,
	options: QueryOptions,
): Promise<[T, FieldPacket[]]> {
	return inFilterMode(q, (conn) => conn.query<T>(options));
}
