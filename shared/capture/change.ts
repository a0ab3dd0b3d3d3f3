import type { SourcePosition } from "../binlog/position.ts";
import type { TableName } from "../model/rules.ts";
import type { QuerySession } from "./session.ts";

/**
 * The change stream between capture and replay: what a binlog transaction becomes once read.
 * Values use the same representation the full copy writes (so a row captured and a row copied
 * are byte-identical at the destination):
 * - integers that fit a JS number as numbers; BIGINT beyond 2^53 and BIGINT UNSIGNED as decimal strings
 * - DECIMAL as its exact decimal string; FLOAT and DOUBLE as JS numbers (exact for the stored binary value)
 * - DATE 'YYYY-MM-DD', DATETIME/TIMESTAMP 'YYYY-MM-DD HH:MM:SS[.ffffff]' with the column's own
 *   fraction digits, TIMESTAMP in UTC; TIME '[-]HHH:MM:SS[.ffffff]'; YEAR as a number; zero dates
 *   as '0000-00-00' / '0000-00-00 00:00:00'
 * - CHAR/VARCHAR/TEXT/ENUM/SET/JSON as JS strings (SET as 'a,b'); BINARY/VARBINARY/BLOB, BIT and
 *   GEOMETRY as Buffers; NULL as null
 */
export type Value = string | number | Buffer | null;
export type RowImage = Record<string, Value>;

export interface RowChange {
	kind: "insert" | "update" | "delete";
	table: TableName;
	/** The row before the change (update, delete): the full row image. */
	before?: RowImage;
	/** The row after the change (insert, update). */
	after?: RowImage;
	/**
	 * The source session ran it with foreign_key_checks=0 (the row event's NO_FOREIGN_KEY_CHECKS
	 * flag): InnoDB took no ON DELETE / ON UPDATE action for it, so replay takes none either.
	 */
	noForeignKeyChecks?: true;
}

export interface DdlChange {
	kind: "ddl";
	/** The default database the statement ran in (it may name others explicitly). */
	database: string;
	sql: string;
	/** The source session's sql_mode, time zone and timestamp defaults the statement ran under (capture/session.ts). */
	session?: QuerySession;
	/** The statement carries the peer stream's mark (EchoMarks): its replay ran it; run nothing. */
	echo?: true;
}

export type Change = RowChange | DdlChange;

/**
 * How capture recognises what another replication stream's replay wrote (two-way sync, loop
 * prevention): that replay writes a row of `table` whose `column` is `stream` first in each of
 * its transactions, and starts each DDL statement it runs with `statementPrefix`
 * (shared/replay/checkpoint.ts `echoMarks`).
 */
export interface EchoMarks {
	table: TableName;
	column: string;
	stream: string;
	statementPrefix: string;
}

/**
 * Why capture skipped a transaction as an echo: its rows were written by the marked replay
 * ("data"), or it wrote nothing capture reads but a replay's checkpoint row ("checkpoint": the
 * peer's, or any other Ferry stream's; nobody writes a checkpoint for it, so opposite streams
 * never answer each other's checkpoint writes).
 */
export type Echo = "data" | "checkpoint";

/**
 * A slice of one source transaction. A large transaction arrives as several parts so neither
 * capture nor replay holds it whole in memory; replay applies them in one destination
 * transaction and commits on the `final` part, whose `position` is where to resume after it.
 */
export interface TransactionPart {
	/** The transaction's GTID ('1-1-1234' on MariaDB, 'uuid:n' on MySQL), if any. */
	gtid?: string;
	/** Where the transaction's first event starts in the binlog: its place, known from the first part on. */
	start: { file: string; pos: number };
	changes: Change[];
	final: boolean;
	/** Set on the final part: the position right after the transaction's commit. */
	position?: SourcePosition;
	/** Source commit time, epoch milliseconds (for latency). */
	commitTime: number;
	/** Size of the transaction's events in the binlog so far (for throughput). */
	bytes: number;
	/**
	 * Set on the final part of a transaction capture skipped whole because the peer stream's
	 * replay wrote it (BinlogReaderOptions.skipEchoes); `changes` is then empty.
	 */
	echo?: Echo;
}
