import type { RowDataPacket } from "mysql2";
import { isTidb } from "../binlog/tso.ts";
import type { Connection } from "../db/connect.ts";
import { FILTER_SQL_MODE } from "../db/filter-mode.ts";
import { laxRowWriteSqlMode, rowWriteSqlMode, statementSqlMode } from "../db/session.ts";
import { CopyError, type SideErrors } from "./errors.ts";

/**
 * The two sessions of a chunk copy: set up before the first row, put back after the last (a
 * connection may be a caller's, used again afterwards).
 */

/**
 * How batches reach the destination:
 * - `insert`: multi-row INSERT statements, values escaped by the driver; works everywhere.
 * - `load-data`: LOAD DATA LOCAL INFILE from an in-memory batch file (see loaddata.ts); less CPU
 *   on both sides, needs `local_infile` on the destination server.
 * - `auto` (default): `load-data` when the destination has `local_infile` on, else `insert`.
 */
export type WriteMethod = "auto" | "insert" | "load-data";

/** The destination session as the copy found it, and what the copy chose from it. */
export interface DestinationSession {
	/** `fk`, `uc` and `mode`: foreign_key_checks, unique_checks and sql_mode before the copy. */
	saved: RowDataPacket;
	method: "insert" | "load-data";
	/** Whether writes run under READ COMMITTED (not with statement-based binary logging). */
	readCommitted: boolean;
	/** The destination's max_allowed_packet. */
	maxPacket: number;
	/** An INSERT as it runs under the lax mode, for rows holding ENUM's error value (batcher.ts `LaxRows`). */
	laxStatement: (sql: string) => string;
}

/**
 * Sets up the destination session. foreign_key_checks=0: chunks of parent and child tables load
 * in any order, so a child row may arrive before its parent (the source already enforced the
 * constraint). unique_checks stays on unless `disableUniqueChecks` (see CopyOptions): with it
 * off, MariaDB >= 10.6 turns the first insert into an empty table into a bulk load under an
 * exclusive table lock, which deadlocks chunks of one table loading in parallel, and a unique
 * index that the destination collation makes stricter than the source's would silently take
 * duplicates. sql_mode: `rowWriteSqlMode`, the one replay writes under too. Writes run under
 * READ COMMITTED: no gap locks, so the range DELETE of one chunk does not block the inserts of
 * its neighbour. `state.touched` turns true before the first change.
 */
export async function prepareDestination(
	dst: Connection,
	options: { method?: WriteMethod; disableUniqueChecks?: boolean },
	what: string,
	onDestination: SideErrors["onDestination"],
	state: { touched: boolean },
): Promise<DestinationSession> {
	const [[dstState]] = await onDestination(
		dst.query<RowDataPacket[]>(
			"SELECT @@session.foreign_key_checks AS fk, @@session.unique_checks AS uc, @@session.sql_mode AS mode, @@max_allowed_packet AS maxPacket, VERSION() AS version",
		),
	);
	if (!dstState) throw new CopyError(`${what}: cannot read the destination session`, "DESTINATION_FAILED");
	const variable = async (name: string): Promise<string | null> => {
		try {
			const [[row]] = await dst.query<RowDataPacket[]>(`SELECT @@${name} AS v`);
			return row?.v == null ? null : String(row.v);
		} catch {
			return null; // The server has no such variable.
		}
	};
	// With statement-based binary logging InnoDB refuses writes under READ COMMITTED.
	const readCommitted = (await variable("binlog_format"))?.toUpperCase() !== "STATEMENT";
	let method: "insert" | "load-data" = options.method === "load-data" ? "load-data" : "insert";
	if ((options.method ?? "auto") === "auto") {
		const localInfile = (await variable("local_infile"))?.toUpperCase();
		method = localInfile === "1" || localInfile === "ON" ? "load-data" : "insert";
	}
	const loadMode = rowWriteSqlMode(String(dstState.mode ?? ""));
	state.touched = true;
	await onDestination(
		dst.query("SET SESSION foreign_key_checks = 0, unique_checks = ?, time_zone = '+00:00', sql_mode = ?", [
			options.disableUniqueChecks ? 0 : 1,
			loadMode,
		]),
	);
	return {
		saved: dstState,
		method,
		readCommitted,
		maxPacket: Number(dstState.maxPacket ?? 4 * 1024 * 1024),
		laxStatement: statementSqlMode(String(dstState.version ?? ""), laxRowWriteSqlMode(loadMode)),
	};
}

export async function restoreDestination(
	dst: Connection,
	session: DestinationSession,
	onDestination: SideErrors["onDestination"],
): Promise<void> {
	await onDestination(
		dst.query("SET SESSION foreign_key_checks = ?, unique_checks = ?, sql_mode = ?", [
			Number(session.saved.fk),
			Number(session.saved.uc),
			String(session.saved.mode ?? ""),
		]),
	);
}

/** The source session's settings before the copy changed them. */
export interface SourceSession {
	mode: string;
	netWriteTimeout: number;
	/** The TiDB TSO the session reads at (tidb_snapshot), when it does. */
	asOfTso?: string;
}

/**
 * Opens the source snapshot: a consistent snapshot, read only; a long net_write_timeout because
 * the stream pauses (backpressure, throttle) while the destination catches up; FILTER_SQL_MODE,
 * the one mode the row filter was checked under (which also leaves CHAR values unpadded).
 */
export async function openSnapshot(
	src: Connection,
	onSource: SideErrors["onSource"],
	asOfTso?: string,
): Promise<SourceSession> {
	const [[srcState]] = await onSource(
		src.query<RowDataPacket[]>("SELECT @@session.sql_mode AS mode, @@session.net_write_timeout AS nwt"),
	);
	const sourceMode = String(srcState?.mode ?? "");
	await onSource(
		src.query("SET SESSION time_zone = '+00:00', net_write_timeout = 3600, sql_mode = ?", [FILTER_SQL_MODE]),
	);
	const asOf = asOfTso && (await onSource(isTidb(src))) ? asOfTso : undefined;
	if (asOf) {
		// TiDB reads the whole session as of the TSO: every chunk of the table sees one snapshot
		await onSource(src.query("SET SESSION tidb_snapshot = ?", [asOf]));
	} else {
		await onSource(src.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"));
		await onSource(src.query("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"));
	}
	return { mode: sourceMode, netWriteTimeout: Number(srcState?.nwt ?? 60), ...(asOf ? { asOfTso: asOf } : {}) };
}

export async function restoreSource(
	src: Connection,
	saved: SourceSession,
	onSource: SideErrors["onSource"],
): Promise<void> {
	if (saved.asOfTso) await onSource(src.query("SET SESSION tidb_snapshot = ''"));
	await onSource(src.query("SET SESSION net_write_timeout = ?, sql_mode = ?", [saved.netWriteTimeout, saved.mode]));
}
