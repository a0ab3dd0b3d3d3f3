import type { QueryOptions, RowDataPacket } from "mysql2";
import type { Queryable } from "../db/connect.ts";
import { inFilterMode } from "../db/filter-mode.ts";
import { qualifiedName } from "../db/sql.ts";
import type { SideSql } from "./normalise.ts";

/** ER_WARN_ALLOWED_PACKET_OVERFLOWED: a string function's result passed max_allowed_packet. */
const PACKET_OVERFLOW = 1301;

/**
 * Runs one of verification's hashing statements over `sql`'s table (in the row filter's
 * sql_mode, db/filter-mode.ts) and fails when the server cut a value short on the way. A string
 * function whose result would pass the session's max_allowed_packet returns NULL with warning
 * 1301; a value's item would then hash as NULL, and two different large values would compare
 * equal. The warnings are read on the same connection right after the statement.
 */
export async function hashQuery<T extends RowDataPacket[]>(
	conn: Queryable,
	sql: SideSql,
	options: QueryOptions,
): Promise<T> {
	return inFilterMode(conn, async (c) => {
		const [rows] = await c.query<T>(options);
		const [warnings] = await c.query<RowDataPacket[]>("SHOW WARNINGS");
		if (warnings.some((w) => Number(w.Code) === PACKET_OVERFLOW)) {
			const [[setting]] = await c.query<RowDataPacket[]>("SELECT @@max_allowed_packet AS bytes");
			throw new Error(
				`${qualifiedName(sql.table)}: a row's values, joined for hashing, are longer than the ${sql.side}'s max_allowed_packet (${setting?.bytes} bytes), so verification cannot compare that row: raise max_allowed_packet on both servers (SET GLOBAL max_allowed_packet, at most 1 GiB) above the largest row and verify again`,
			);
		}
		return rows;
	});
}
