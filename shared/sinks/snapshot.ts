import type { Connection as CoreConnection, RowDataPacket, TypeCastField } from "mysql2";
import { hasReached, type SourcePosition } from "../binlog/position.ts";
import { serverFlavor } from "../binlog/server.ts";
import type { RowImage } from "../capture/change.ts";
import { castValue } from "../copy/row-stream.ts";
import type { Connection } from "../db/connect.ts";
import { FILTER_SQL_MODE } from "../db/filter-mode.ts";
import { quoteId, quoteTable } from "../db/sql.ts";
import type { TableMapping } from "../model/rules.ts";

/*
 * The full phase of a synchronization project: every row of every table as a snapshot ("read")
 * message, consistent with the binlog position where streaming starts.
 *
 * Each session reads its tables inside one consistent snapshot and knows that snapshot's binlog
 * position. A table's rows go out in one broker transaction, committed with the table's entry in
 * `SnapshotProgress.tables` (the position its rows are as of). A session killed half-way through a
 * table loses that table's uncommitted messages (Kafka aborts them); the next session reads it
 * again in its own snapshot, at a later position. Streaming starts at the earliest position of
 * any table and sends a change only when its transaction is not already in its table's rows
 * (`inSnapshot`), so every row reaches consumers exactly once: its snapshot image, then each
 * later change.
 *
 * The cost of one transaction per table: a table must be read within the Kafka transaction timeout
 * (5 minutes, open.ts), which bounds the size of one table a synchronization project can snapshot
 * (docs/decisions/2026-12-06-sync-snapshot-and-exactly-once.md).
 */

export interface SnapshotProgress {
	/** "database.table" (source names) -> the position the table's snapshot rows are as of. */
	tables: Record<string, SourcePosition>;
	/** Every table the rules chose was read. */
	complete: boolean;
	/** Snapshot rows sent so far: the next row's index (its deduplication key). */
	rows: number;
}

export function tableId(t: { database: string; table: string }): string {
	return `${t.database}.${t.table}`;
}

/**
 * Whether a source transaction's changes to a table are already in the table's snapshot rows:
 * the transaction started before the snapshot's position (the binlog is written at commit, so it
 * also committed before). Tables without a snapshot (created later, or none taken) have none.
 */
export function inSnapshot(
	progress: SnapshotProgress | undefined,
	table: { database: string; table: string },
	start: { file: string; pos: number },
): boolean {
	const at = progress?.tables[tableId(table)];
	if (!at) return false;
	return !hasReached({ gtid: "", ...start }, { gtid: "", file: at.file, pos: at.pos });
}

/** Whether streaming has passed every table's snapshot: `inSnapshot` can be false for all from here. */
export function pastSnapshot(progress: SnapshotProgress, position: SourcePosition): boolean {
	return Object.values(progress.tables).every((at) =>
		hasReached({ gtid: "", file: position.file, pos: position.pos }, { gtid: "", file: at.file, pos: at.pos }),
	);
}

/**
 * Opens a consistent snapshot on `conn` and returns its binlog position. MariaDB tells the
 * snapshot's own position (binlog_snapshot_file/position) without any lock; MySQL has no such
 * status, so a global read lock is held for the instant of opening the snapshot and reading the
 * position (as mydumper does), which needs the RELOAD privilege.
 */
export async function openConsistentSnapshot(conn: Connection): Promise<SourcePosition> {
	await conn.query("SET SESSION time_zone = '+00:00', net_write_timeout = 3600, sql_mode = ?", [FILTER_SQL_MODE]);
	await conn.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
	const { flavor } = await serverFlavor(conn);
	if (flavor === "mariadb") {
		await conn.query("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
		const [rows] = await conn.query<RowDataPacket[]>("SHOW STATUS LIKE 'binlog_snapshot_%'");
		const status = new Map(rows.map((r) => [String(r.Variable_name).toLowerCase(), String(r.Value)])); // MariaDB says Binlog_snapshot_file
		const file = status.get("binlog_snapshot_file") ?? "";
		const pos = Number(status.get("binlog_snapshot_position") ?? 0);
		if (!file) throw new Error("the source has no binary log (binlog_snapshot_file is empty): enable log_bin");
		const [g] = await conn.query<RowDataPacket[]>("SELECT BINLOG_GTID_POS(?, ?) AS gtid", [file, pos]);
		return { gtid: g[0]?.gtid == null ? "" : String(g[0].gtid), file, pos };
	}
	await conn.query("FLUSH TABLES WITH READ LOCK");
	try {
		await conn.query("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
		const [rows] = await conn.query<RowDataPacket[]>("SHOW MASTER STATUS");
		const r = rows[0];
		if (!r) throw new Error("the source has no binary log (SHOW MASTER STATUS is empty): enable log_bin");
		return {
			gtid: String(r.Executed_Gtid_Set ?? "").replace(/\s+/g, ""),
			file: String(r.File),
			pos: Number(r.Position),
		};
	} finally {
		await conn.query("UNLOCK TABLES");
	}
}

/**
 * Values as capture delivers them (shared/capture/change.ts `Value`), so a snapshot row and a
 * change of the same row encode alike. The copy's cast (copy/row-stream.ts) reads the server's
 * exact text; integers become numbers where exact (else stay decimal strings), FLOAT and DOUBLE
 * numbers (FLOAT read as a double, see `readTable`); DECIMAL, temporal values (TIMESTAMP in the
 * session's UTC) and JSON stay text, GEOMETRY and binary Buffers.
 */
function captureValue(field: TypeCastField, next: () => unknown): unknown {
	const value = castValue(field, next);
	if (typeof value !== "string") return value;
	switch (field.type) {
		case "LONGLONG": {
			const n = Number(value);
			return Number.isSafeInteger(n) ? n : value;
		}
		case "FLOAT":
		case "DOUBLE":
			return Number(value);
	}
	return value;
}

/**
 * Reads a table's rows (the mapping's source columns, through its row filter) in batches of
 * `batchRows`, awaiting `onBatch` before reading on: the stream is paused meanwhile, so memory
 * holds one batch at most.
 */
export async function readTable(
	conn: Connection,
	mapping: TableMapping,
	/** Source names of the FLOAT columns. */
	floats: ReadonlySet<string>,
	batchRows: number,
	onBatch: (rows: RowImage[]) => Promise<void>,
	signal: AbortSignal,
): Promise<void> {
	// FLOAT as `col * 1e0`, the double holding the stored single exactly (its own text is rounded to 6 digits)
	const columns = mapping.columns
		.map((c) => (floats.has(c.source) ? `${quoteId(c.source)} * 1e0 AS ${quoteId(c.source)}` : quoteId(c.source)))
		.join(", ");
	const where = mapping.where?.trim() ? ` WHERE (\n${mapping.where}\n)` : "";
	const sql = `SELECT ${columns} FROM ${quoteTable(mapping.source)}${where}`;
	const core = (conn as unknown as { connection: CoreConnection }).connection;
	const stream = core.query({ sql, typeCast: captureValue, rowsAsArray: false }).stream({ highWaterMark: batchRows });
	let batch: RowImage[] = [];
	try {
		for await (const row of stream) {
			if (signal.aborted) throw new Error("the snapshot was stopped");
			batch.push(row as RowImage);
			if (batch.length >= batchRows) {
				await onBatch(batch);
				batch = [];
			}
		}
		if (batch.length > 0) await onBatch(batch);
	} finally {
		stream.destroy();
	}
}
