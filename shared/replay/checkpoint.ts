import type { RowDataPacket } from "mysql2";
import { z } from "zod";
import type { SourcePosition } from "../binlog/position.ts";
import type { EchoMarks } from "../capture/change.ts";
import type { Queryable } from "../db/connect.ts";
import { escapeValue, quoteId } from "../db/sql.ts";
import { currentFormat, formatOf, upgradeRecord } from "../state/format.ts";

/**
 * Ferry's helper schema at the destination. Every destination transaction that replay commits
 * also writes its stream's row of `checkpoints`, in the same transaction, so the destination
 * itself records which source transactions it holds: after any crash, replay resumes capture at
 * the checkpoint and nothing is lost or applied twice.
 *
 * The write doubles as the mark of Ferry's own transactions in the destination's binlog (a row
 * event on `ferry_meta.checkpoints`, and FERRY_MARKER in the annotated statement): two-way sync
 * uses it to recognise, and not send back, what replay wrote (`echoMarks`). It is the first write
 * of each replayed transaction, so capture on the other side knows before the transaction's first
 * row (see docs/decisions/2026-11-24-two-way-loop-prevention.md). Both names live here only.
 */
export const META_DATABASE = "ferry_meta";
export const CHECKPOINT_TABLE = "checkpoints";
/**
 * A stream fed from Kafka keeps the rest of its position beside its checkpoint row, in the same
 * transaction: the TiDB commit TSO and where to read each partition again. A table of its own, so
 * destinations an older Ferry set up need no ALTER.
 */
export const FEED_POSITION_TABLE = "feed_positions";
/** Starts every checkpoint statement (visible in MariaDB's annotate-rows events and in processlists). */
export const FERRY_MARKER = "/* ferry:replay */";

/**
 * Starts every DDL statement replay runs for `stream`: a DDL statement is a binlog group of its
 * own, without the checkpoint row, so its text carries the mark. (MariaDB logs DROP TABLE as a
 * statement it regenerates, without the comment.)
 */
export function ddlMarker(stream: string): string {
	if (!/^[A-Za-z0-9_.:#-]{1,191}$/.test(stream)) throw new Error(`'${stream}' is not a valid replication stream name`);
	return `/* ferry:replay stream=${stream} */`;
}

/** What capture needs to recognise (and skip) the transactions the replay of `stream` wrote. */
export function echoMarks(stream: string, database: string = META_DATABASE): EchoMarks {
	checkDatabaseName(database);
	return {
		table: { database, table: CHECKPOINT_TABLE },
		column: "stream",
		stream,
		statementPrefix: ddlMarker(stream),
	};
}

export interface Checkpoint {
	stream: string;
	/** Where capture resumes: the position right after the last applied source transaction. */
	position: SourcePosition;
	/** When the destination committed it (UTC, 'YYYY-MM-DD HH:MM:SS.ffffff'). */
	appliedAt: string | null;
	/** When the source committed it (UTC), for latency. */
	sourceCommitTime: string | null;
}

/** A feed cursor as stored: offsets and watermarks as decimal strings. */
const FeedCursor = z.object({
	offsets: z.record(z.string(), z.string().regex(/^\d+$/)),
	watermarks: z.record(z.string(), z.string().regex(/^\d+$/)).optional(),
});

function checkDatabaseName(database: string): void {
	if (!database || database.length > 64) throw new Error(`'${database}' is not a valid helper database name`);
}

export function checkpointTable(database: string = META_DATABASE): string {
	checkDatabaseName(database);
	return `${quoteId(database)}.${quoteId(CHECKPOINT_TABLE)}`;
}

function feedPositionTable(database: string): string {
	checkDatabaseName(database);
	return `${quoteId(database)}.${quoteId(FEED_POSITION_TABLE)}`;
}

/**
 * Creates the helper database and the checkpoint table if they do not exist; with `stream`, the
 * statements carry its DDL mark (they reach the binlog of a server another stream may read).
 */
export async function ensureMetaSchema(
	conn: Queryable,
	database: string = META_DATABASE,
	stream?: string,
): Promise<void> {
	checkDatabaseName(database);
	const mark = stream === undefined ? "" : `${ddlMarker(stream)} `;
	await conn.query(
		`${mark}CREATE DATABASE IF NOT EXISTS ${quoteId(database)} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
	);
	await conn.query(
		`${mark}CREATE TABLE IF NOT EXISTS ${checkpointTable(database)} (
			stream VARCHAR(191) NOT NULL PRIMARY KEY,
			gtid TEXT,
			file VARCHAR(255),
			pos BIGINT,
			applied_at DATETIME(6),
			source_commit_time DATETIME(6),
			format SMALLINT
		) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
	);
	await addFormatColumn(conn, database, mark);
	await conn.query(
		`${mark}CREATE TABLE IF NOT EXISTS ${feedPositionTable(database)} (
			stream VARCHAR(191) NOT NULL PRIMARY KEY,
			tso VARCHAR(20),
			cursor_json MEDIUMTEXT
		) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
	);
}

/**
 * A checkpoint table an older Ferry created has no `format` column (its rows are format 1):
 * added once, at the end, so the columns capture and the writers name keep their places.
 */
async function addFormatColumn(conn: Queryable, database: string, mark: string): Promise<void> {
	const [rows] = await conn.query<RowDataPacket[]>(
		"SELECT 1 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = 'format'",
		[database, CHECKPOINT_TABLE],
	);
	if (rows.length > 0) return;
	try {
		await conn.query(`${mark}ALTER TABLE ${checkpointTable(database)} ADD COLUMN format SMALLINT`);
	} catch (err) {
		// ER_DUP_FIELDNAME: another stream's task added it first
		if ((err as { errno?: number }).errno !== 1060) throw err;
	}
}

/** The stream's checkpoint, or null if it has none (or the helper schema does not exist yet). */
export async function readCheckpoint(
	conn: Queryable,
	stream: string,
	database: string = META_DATABASE,
): Promise<Checkpoint | null> {
	let rows: RowDataPacket[];
	try {
		[rows] = await conn.query<RowDataPacket[]>(
			// every column: a table an older Ferry created may lack `format` (its rows are format 1)
			`SELECT *, DATE_FORMAT(applied_at, '%Y-%m-%d %H:%i:%s.%f') AS appliedAt,
				DATE_FORMAT(source_commit_time, '%Y-%m-%d %H:%i:%s.%f') AS sourceCommitTime
			FROM ${checkpointTable(database)} WHERE stream = ?`,
			[stream],
		);
	} catch (err) {
		const errno = (err as { errno?: number }).errno;
		// ER_NO_SUCH_TABLE, ER_BAD_DB_ERROR: nothing was ever applied.
		if (errno === 1146 || errno === 1049) return null;
		throw err;
	}
	const stored = rows[0];
	// no file: only a transaction's opening mark (markSql) was ever committed, no position
	if (!stored || stored.file == null) return null;
	const what = `the checkpoint row of stream ${stream} in ${database}.${CHECKPOINT_TABLE}`;
	const row = upgradeRecord("checkpoint", formatOf(stored.format, what), { ...stored }, what);
	return {
		stream,
		position: {
			gtid: row.gtid == null ? "" : String(row.gtid),
			file: row.file == null ? "" : String(row.file),
			pos: row.pos == null ? 0 : Number(row.pos),
			...(await readFeedPosition(conn, stream, database)),
		},
		appliedAt: row.appliedAt == null ? null : String(row.appliedAt),
		sourceCommitTime: row.sourceCommitTime == null ? null : String(row.sourceCommitTime),
	};
}

/** The TSO and feed cursor kept beside the checkpoint row (a stream fed from Kafka), if any. */
async function readFeedPosition(
	conn: Queryable,
	stream: string,
	database: string,
): Promise<Pick<SourcePosition, "tso" | "feed">> {
	let rows: RowDataPacket[];
	try {
		[rows] = await conn.query<RowDataPacket[]>(
			`SELECT tso, cursor_json AS cursorJson FROM ${feedPositionTable(database)} WHERE stream = ?`,
			[stream],
		);
	} catch (err) {
		// a helper schema an older Ferry created, before its ensureMetaSchema ran: no feed position
		if ((err as { errno?: number }).errno === 1146) return {};
		throw err;
	}
	const row = rows[0];
	if (!row) return {};
	return {
		...(row.tso == null ? {} : { tso: String(row.tso) }),
		...(row.cursorJson == null ? {} : { feed: FeedCursor.parse(JSON.parse(String(row.cursorJson))) }),
	};
}

/** Epoch milliseconds as a DATETIME(6) literal in UTC. */
export function utcDatetime(epochMs: number): string {
	const d = new Date(epochMs);
	if (Number.isNaN(d.getTime())) return "NULL";
	const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
	return `'${iso.slice(0, 10)} ${iso.slice(11, 23)}000'`;
}

/**
 * The statements that record `position` as the stream's checkpoint, as SQL text (they travel in
 * the same multi-statement packet as the transaction's rows): its row of `checkpoints`, then, for
 * a stream fed from Kafka, its row of `feed_positions`. `applied_at` is the destination's own
 * clock at the time of the write.
 */
export function checkpointStatements(
	stream: string,
	position: SourcePosition,
	commitTime: number | null,
	database: string = META_DATABASE,
): string[] {
	const statements = [checkpointRowSql(stream, position, commitTime, database)];
	if (position.tso !== undefined || position.feed !== undefined) {
		if (position.tso !== undefined && !/^\d{1,20}$/.test(position.tso)) {
			throw new Error(`'${position.tso}' is not a TSO (a decimal 64-bit timestamp)`);
		}
		const values = [
			escapeValue(stream),
			position.tso === undefined ? "NULL" : escapeValue(position.tso),
			position.feed === undefined ? "NULL" : escapeValue(JSON.stringify(position.feed)),
		];
		statements.push(
			`${FERRY_MARKER} INSERT INTO ${feedPositionTable(database)} (stream, tso, cursor_json) ` +
				`VALUES (${values.join(", ")}) ON DUPLICATE KEY UPDATE tso = VALUES(tso), cursor_json = VALUES(cursor_json)`,
		);
	}
	return statements;
}

function checkpointRowSql(
	stream: string,
	position: SourcePosition,
	commitTime: number | null,
	database: string,
): string {
	const values = [
		escapeValue(stream),
		escapeValue(position.gtid),
		escapeValue(position.file),
		String(Math.trunc(position.pos)),
		"UTC_TIMESTAMP(6)",
		commitTime == null ? "NULL" : utcDatetime(commitTime),
		String(currentFormat("checkpoint")),
	];
	// the whole row is written, so its format is this writer's
	return (
		`${FERRY_MARKER} INSERT INTO ${checkpointTable(database)} ` +
		"(stream, gtid, file, pos, applied_at, source_commit_time, format) " +
		`VALUES (${values.join(", ")}) ON DUPLICATE KEY UPDATE gtid = VALUES(gtid), file = VALUES(file), ` +
		"pos = VALUES(pos), applied_at = VALUES(applied_at), source_commit_time = VALUES(source_commit_time), " +
		"format = VALUES(format)"
	);
}

/**
 * The first statement of a destination transaction whose final position is not known yet (a
 * large transaction written part by part): it marks the transaction as the stream's by changing
 * the stream's checkpoint row (applied_at only; the checkpoint written at the commit sets the
 * position and time). The position it leaves is the last one, should the transaction commit
 * without a checkpoint (rows a DDL statement commits early).
 */
export function markSql(stream: string, database: string = META_DATABASE): string {
	return (
		`${FERRY_MARKER} INSERT INTO ${checkpointTable(database)} (stream, applied_at) ` +
		`VALUES (${escapeValue(stream)}, NULL) ` +
		// a change whatever the row holds: an unchanged row would leave no row event to recognise
		"ON DUPLICATE KEY UPDATE applied_at = IF(applied_at IS NULL, '1970-01-01 00:00:01', NULL)"
	);
}
