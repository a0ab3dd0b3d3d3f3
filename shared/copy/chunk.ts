import type { PoolConnection } from "mysql2/promise";
import type { ChunkSpec } from "../chunking/plan.ts";
import type { Connection, Pool } from "../db/connect.ts";
import { type ColumnInfo, describeColumns } from "../db/introspect.ts";
import { qualifiedName, quoteId, quoteTable } from "../db/sql.ts";
import type { TableMapping } from "../model/rules.ts";
import { type Batch, insertBatcher, loadBatcher } from "./batcher.ts";
import { lockChunk, releaseChunkLock } from "./chunk-lock.ts";
import {
	openSnapshot,
	prepareDestination,
	restoreDestination,
	restoreSource,
	type WriteMethod,
} from "./chunk-session.ts";
import { chunkStatements } from "./chunk-statements.ts";
import { CopyError, type SideErrors, sideErrors } from "./errors.ts";
import { loadDataSql } from "./loaddata.ts";
import { streamRows } from "./row-stream.ts";
import { Throttle } from "./throttle.ts";

export interface CopyProgress {
	/** Rows written so far (committed or not). */
	rows: number;
	/** Bytes of the batches written so far (statement text or batch file; binary as hex). */
	bytes: number;
	/** Rows whose destination transaction has committed. */
	committedRows: number;
}

export interface CopyOptions {
	method?: WriteMethod;
	/** Target size of one batch (default 4 MiB for LOAD DATA, 1 MiB for INSERT; at most a quarter of the destination's max_allowed_packet). */
	batchBytes?: number;
	/**
	 * Commit the destination transaction once it holds about this many bytes (default: after
	 * every batch, which keeps each transaction's binlog cache and undo small). The first
	 * transaction also holds the DELETE of the chunk's range, so a re-run always starts clean.
	 */
	commitBytes?: number;
	maxRowsPerSecond?: number;
	maxBytesPerSecond?: number;
	/** A throttle shared with other chunks (used instead of the two limits above). */
	throttle?: Throttle;
	/**
	 * Read the source as of this TiDB TSO (a TiDB project fed by TiCDC: every chunk reads the
	 * snapshot replay starts after); ignored by any other server.
	 */
	asOfTso?: string;
	/** Stops the copy at the next batch; the open destination transaction is rolled back. */
	signal?: AbortSignal;
	/** Called after each batch is written; an exception thrown here aborts the copy and is rethrown. */
	onBatch?: (progress: CopyProgress) => void | Promise<void>;
	/**
	 * Sets unique_checks=0 on the destination. On MySQL it lets unique secondary indexes use the
	 * change buffer. On MariaDB >= 10.6 it makes an insert into an empty table a bulk load under
	 * an exclusive table lock, which deadlocks parallel chunks of the same table and, measured on
	 * MariaDB 10.11 with a 1M-row table copied as one chunk, doubled the server's CPU. Either way
	 * secondary unique keys are then not checked: only when the destination keys are no stricter
	 * than the source's (same collations).
	 */
	disableUniqueChecks?: boolean;
	/**
	 * How long to wait (seconds, default 10) for the chunk's named lock on the destination,
	 * held by another attempt at the same chunk still running (a redelivered queue message,
	 * a worker thought dead). See `chunkLockName`.
	 */
	lockWaitSeconds?: number;
	/** Source and destination columns, if already described (saves two queries). */
	sourceColumns?: ColumnInfo[];
	destinationColumns?: ColumnInfo[];
}

export interface CopyResult {
	rows: number;
	bytes: number;
	method: "insert" | "load-data";
}

/**
 * A LOAD DATA batch of 4 MiB (sent in pieces, so not bound by max_allowed_packet) commits a
 * quarter as often as 1 MiB: 4 x 1M rows copied in 26.2 s instead of 27.3 s, and 8 MiB gained
 * nothing more (decisions/2026-12-06-speed.md, section 7). An INSERT's rows are JavaScript values,
 * several times their size in memory: 1 MiB.
 */
const DEFAULT_BATCH_BYTES = { insert: 1024 * 1024, "load-data": 4 * 1024 * 1024 };

function isPool(x: Pool | Connection): x is Pool {
	return typeof (x as Pool).getConnection === "function";
}

interface Held {
	conn: Connection;
	pooled: PoolConnection | null;
}

async function hold(x: Pool | Connection): Promise<Held> {
	if (isPool(x)) {
		const pooled = await x.getConnection();
		return { conn: pooled, pooled };
	}
	return { conn: x, pooled: null };
}

/**
 * Copies one chunk: streams its rows from a consistent snapshot of the source in key order and
 * writes them to the destination in batches of about `batchBytes`, one batch in flight while the
 * next is read. Idempotent: the first destination transaction deletes the chunk's key range (or,
 * for a whole-table chunk, every row) before inserting, so re-running a chunk that died half way
 * neither loses nor doubles rows. A chunk counts as done only when this promise resolves, i.e.
 * after its last transaction committed.
 *
 * A pool is borrowed from (one connection each side, released afterwards; destroyed on failure);
 * a connection passed in is used as is, its session settings restored afterwards, and destroyed
 * if the copy fails (it may still be reading an abandoned result or hold an open transaction).
 */
export async function copyChunk(
	source: Pool | Connection,
	destination: Pool | Connection,
	mapping: TableMapping,
	chunk: ChunkSpec,
	options: CopyOptions = {},
): Promise<CopyResult> {
	const what = `chunk ${chunk.index} of ${qualifiedName(mapping.source)} -> ${qualifiedName(mapping.destination)}`;
	if (
		chunk.source.database !== mapping.source.database ||
		chunk.source.table !== mapping.source.table ||
		chunk.destination.database !== mapping.destination.database ||
		chunk.destination.table !== mapping.destination.table
	) {
		throw new CopyError(`${what}: the chunk was planned for another table`, "BAD_CHUNK");
	}
	options.signal?.throwIfAborted();
	const src = await hold(source);
	let dst: Held;
	try {
		dst = await hold(destination);
	} catch (err) {
		src.pooled?.release();
		throw err;
	}
	let healthy = false;
	const state = { touched: false };
	try {
		const result = await run(src.conn, dst.conn, mapping, chunk, options, what, state);
		healthy = true;
		return result;
	} finally {
		// After a failure past the first session change, a connection may hold changed settings,
		// an open transaction or a half-read result: it is closed rather than reused.
		for (const h of [src, dst]) {
			if (healthy || !state.touched) h.pooled?.release();
			else h.conn.destroy();
		}
	}
}

/**
 * The copy of one chunk, phase by phase: describe both tables, work out the statements, set up
 * the destination session and open the source snapshot, take the chunk's lock, empty the chunk's
 * range in the first transaction, stream the rows over in batches, then commit, release and put
 * both sessions back.
 */
async function run(
	src: Connection,
	dst: Connection,
	mapping: TableMapping,
	chunk: ChunkSpec,
	options: CopyOptions,
	what: string,
	state: { touched: boolean },
): Promise<CopyResult> {
	const sides = sideErrors(what);
	const { onSource, onDestination } = sides;

	// What to read and where to write it.
	const [sourceColumns, destinationColumns] = await Promise.all([
		options.sourceColumns ? Promise.resolve(options.sourceColumns) : onSource(describeColumns(src, mapping.source)),
		options.destinationColumns
			? Promise.resolve(options.destinationColumns)
			: onDestination(describeColumns(dst, mapping.destination)),
	]);
	const statements = chunkStatements(mapping, chunk, sourceColumns, destinationColumns, what);

	// Both sessions.
	const destination = await prepareDestination(dst, options, what, onDestination, state);
	// A statement's characters may take up to 3 bytes each in UTF-8, hence the quarter.
	const batchLimit = Math.max(
		1,
		Math.min(options.batchBytes ?? DEFAULT_BATCH_BYTES[destination.method], Math.floor(destination.maxPacket / 4)),
	);
	const { inserted, plain, binary, laxEnum } = statements;
	const insertSql = `INSERT INTO ${quoteTable(mapping.destination)} (${inserted.map(quoteId).join(", ")}) VALUES ?`;
	const lax = laxEnum.some(Boolean) ? { columns: laxEnum, sql: destination.laxStatement(insertSql) } : undefined;
	const batcher =
		destination.method === "insert"
			? insertBatcher(insertSql, lax)
			: loadBatcher(
					loadDataSql(mapping.destination, inserted, binary, destinationColumns.find((c) => c.autoIncrement)?.name),
					batchLimit,
					plain,
					binary,
					lax,
				);
	const source = await openSnapshot(src, onSource, options.asOfTso);
	const writer = batchWriter(dst, destination.readCommitted, options, what, onDestination);

	const lock = await lockChunk(dst, chunk, options.lockWaitSeconds ?? 10, what, sides.fail);

	// The first transaction empties the chunk's range: rows of an earlier, interrupted attempt
	// go, and the delete only becomes visible together with the rows that replace them.
	await onDestination(writer.begin());
	await onDestination(dst.query(statements.delete.sql, statements.delete.values));

	await streamRows(src, statements.select, destination.method, batcher, batchLimit, writer.write, sides.fail);

	await writer.finish();
	await releaseChunkLock(dst, lock, onDestination);
	await onSource(src.query("COMMIT"));
	await restoreDestination(dst, destination, onDestination);
	await restoreSource(src, source, onSource);
	return { rows: writer.progress.rows, bytes: writer.progress.bytes, method: destination.method };
}

/**
 * The destination side of the row stream: each batch, throttled, goes into the open transaction
 * (one is begun when none is), which commits once it holds `commitBytes`; `onBatch` hears of
 * every batch. An abort stops it before the next batch.
 */
function batchWriter(
	dst: Connection,
	readCommitted: boolean,
	options: CopyOptions,
	what: string,
	onDestination: SideErrors["onDestination"],
) {
	const commitLimit = Math.max(1, options.commitBytes ?? 1);
	const throttle = options.throttle ?? Throttle.of(options);
	const progress: CopyProgress = { rows: 0, bytes: 0, committedRows: 0 };
	let transactionOpen = false;
	let transactionBytes = 0;

	const begin = async () => {
		if (readCommitted) await dst.query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED");
		await dst.query("START TRANSACTION");
		transactionOpen = true;
		transactionBytes = 0;
	};
	const commit = async () => {
		await dst.query("COMMIT");
		transactionOpen = false;
		progress.committedRows = progress.rows;
	};
	const write = async (batch: Batch) => {
		if (options.signal?.aborted) {
			throw new CopyError(`${what}: aborted`, "ABORTED", {
				cause: options.signal.reason,
			});
		}
		if (throttle) await throttle.take(batch.rows, batch.bytes, options.signal);
		if (!transactionOpen) await onDestination(begin());
		await onDestination(batch.send(dst));
		progress.rows += batch.rows;
		progress.bytes += batch.bytes;
		transactionBytes += batch.bytes;
		if (transactionBytes >= commitLimit) await onDestination(commit());
		await options.onBatch?.({ ...progress });
	};
	const finish = async () => {
		if (transactionOpen) await onDestination(commit());
	};
	return { progress, begin, write, finish };
}
