import mysql, { type RowDataPacket } from "mysql2/promise";
import { connectionOptions, explainConnectError } from "../db/connect.ts";
import { laxRowWriteSqlMode, rowWriteSqlMode, statementSqlMode } from "../db/session.ts";
import type { Credentials } from "../model/datasource.ts";

/**
 * Replay's destination sessions (applier.ts explains the settings): time zone UTC, strict
 * sql_mode with zero and invalid dates allowed and backslash escapes (lax for a statement writing
 * ENUM's error value), foreign_key_checks=0, READ COMMITTED, a short lock wait.
 */

/** A connection to the destination (`multipleStatements` for the connections that write groups). */
export async function connectDestination(c: Credentials, multipleStatements: boolean): Promise<mysql.Connection> {
	try {
		return await mysql.createConnection({ ...connectionOptions(c), multipleStatements });
	} catch (err) {
		throw explainConnectError(err, c);
	}
}

/**
 * Reads the server's sql_mode, max_allowed_packet, version and binlog format on `control`: returns
 * the setup of each replay session, how many characters of statements one packet may carry, and
 * how a statement runs under the lax mode (batch.ts `BatchItem.lax`).
 */
export async function replaySessions(
	control: mysql.Connection,
	lockWaitTimeout: number,
): Promise<{
	packetBytes: number;
	setup: (conn: mysql.Connection) => Promise<void>;
	laxStatement: (sql: string) => string;
}> {
	const [[state]] = await control.query<RowDataPacket[]>(
		"SELECT @@session.sql_mode AS mode, @@max_allowed_packet AS maxPacket, VERSION() AS version",
	);
	let binlogFormat = "";
	try {
		const [[row]] = await control.query<RowDataPacket[]>("SELECT @@binlog_format AS f");
		binlogFormat = String(row?.f ?? "").toUpperCase();
	} catch {
		// No such variable: no binary log.
	}
	const mode = rowWriteSqlMode(String(state?.mode ?? ""));
	// A JS character takes up to 3 bytes in UTF-8 (binary travels as hex): a quarter of the
	// server's limit, in characters, always fits.
	const packetBytes = Math.max(64 * 1024, Math.min(Number(state?.maxPacket ?? 4 * 1024 * 1024) / 4, 16 * 1024 * 1024));
	const setup = async (conn: mysql.Connection) => {
		await conn.query(
			"SET SESSION time_zone = '+00:00', sql_mode = ?, foreign_key_checks = 0, unique_checks = 1, innodb_lock_wait_timeout = ?",
			[mode, lockWaitTimeout],
		);
		// With statement-based binary logging InnoDB refuses writes under READ COMMITTED.
		if (binlogFormat !== "STATEMENT") await conn.query("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
	};
	const laxStatement = statementSqlMode(String(state?.version ?? ""), laxRowWriteSqlMode(mode));
	return { packetBytes, setup, laxStatement };
}
