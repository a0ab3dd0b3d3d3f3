import { createHash } from "node:crypto";
import type { Connection as CoreConnection, ResultSetHeader, RowDataPacket, TypeCastField } from "mysql2";
import type { PoolConnection } from "mysql2/promise";
import type { Connection, Pool } from "../db/connect.ts";
import { FILTER_SQL_MODE } from "../db/filter-mode.ts";
import { type ColumnInfo, describeColumns } from "../db/introspect.ts";
import { rowWriteSqlMode } from "../db/session.ts";
import { describeTable, quoteId, quoteTable } from "../db/sql.ts";
import { APPROXIMATE_TYPES, DECIMAL_TYPES, INTEGER_TYPES, TEMPORAL_TYPES } from "../db/types.ts";
import type { TableMapping } from "../model/rules.ts";
import { CopyError, serverError } from "./errors.ts";
import type { KeyColumn } from "./keys.ts";
import { isBinaryType, loadDataSql, sendBatch, TsvBuilder } from "./loaddata.ts";
import type { ChunkSpec } from "./plan.ts";
import { keyOrder, rangeCondition, whereClause } from "./range.ts";
import { Throttle } from "./throttle.ts";

export interface CopyProgress {
	/** Rows written so far (committed or not). */
	rows: number;
	/** Bytes of the batches written so far (statement text or batch file; binary as hex). */
	bytes: number;
	/** Rows whose destination transaction has committed. */
	committedRows: number;
}

/**
 * How batches reach the destination:
 * - `insert`: multi-row INSERT statements, values escaped by the driver; works everywhere.
 * - `load-data`: LOAD DATA LOCAL INFILE from an in-memory batch file (see loaddata.ts); less CPU
 *   on both sides, needs `local_infile` on the destination server.
 * - `auto` (default): `load-data` when the destination has `local_infile` on, else `insert`.
 */
export type WriteMethod = "auto" | "insert" | "load-data";

export interface CopyOptions {
	method?: WriteMethod;
	/** Target size of one batch (default 1 MiB; at most a quarter of the destination's max_allowed_packet). */
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

const DEFAULT_BATCH_BYTES = 1024 * 1024;

/**
 * For the `insert` method, reads each value as the server's own text or bytes, so nothing is
 * rounded on the way: BIGINT, DECIMAL, FLOAT/DOUBLE (FLOAT is selected as `col * 1e0`, see
 * `selectList`) and temporal values (zero dates, TIME '-838:59:59') as text; JSON as UTF-8 text,
 * not parsed; GEOMETRY and VECTOR as their internal bytes; everything else through the driver,
 * which gives Buffers for binary-charset columns (BINARY, VARBINARY, BLOB, BIT) and strings for
 * text, and numbers only for integer types of at most 32 bits (exact).
 * The `load-data` method needs no cast at all: it takes every value as the raw bytes sent.
 */
function castValue(field: TypeCastField, next: () => unknown): unknown {
	switch (field.type) {
		case "LONGLONG":
		case "DECIMAL":
		case "NEWDECIMAL":
		case "FLOAT":
		case "DOUBLE":
		case "DATE":
		case "NEWDATE":
		case "DATETIME":
		case "DATETIME2":
		case "TIMESTAMP":
		case "TIMESTAMP2":
		case "TIME":
		case "TIME2":
			return field.string("latin1");
		case "JSON":
			return field.string("utf8");
		case "GEOMETRY":
		case "VECTOR":
			return field.buffer();
	}
	if (field.extendedFormat === "json") return field.string("utf8");
	return next();
}

/** The size of a row in an INSERT statement (characters; binary counts twice, as hex). */
function rowBytes(row: unknown[]): number {
	let n = 4;
	for (let i = 0; i < row.length; i++) {
		const v = row[i];
		if (typeof v === "string") n += v.length + 4;
		else if (v === null) n += 6;
		else if (typeof v === "number") n += 12;
		else if (Buffer.isBuffer(v)) n += 2 * v.length + 5;
		else n += 24;
	}
	return n;
}

/** Types whose text form never holds a byte that LOAD DATA would need escaped. */
const PLAIN_TYPES = new Set([...INTEGER_TYPES, ...DECIMAL_TYPES, ...APPROXIMATE_TYPES, ...TEMPORAL_TYPES]);

/** A batch being filled: rows for an INSERT, or a batch file for LOAD DATA. */
interface Batcher {
	add(row: unknown[]): void;
	readonly rows: number;
	readonly bytes: number;
	/** Empties the batcher, returning a function that writes what it held. */
	take(): {
		rows: number;
		bytes: number;
		send: (dst: Connection) => Promise<void>;
	};
}

function insertBatcher(sql: string): Batcher {
	let rows: unknown[][] = [];
	let bytes = 0;
	return {
		add(row) {
			rows.push(row);
			bytes += rowBytes(row);
		},
		get rows() {
			return rows.length;
		},
		get bytes() {
			return bytes;
		},
		take() {
			const batch = rows;
			const size = bytes;
			rows = [];
			bytes = 0;
			return {
				rows: batch.length,
				bytes: size,
				send: async (dst) => {
					const [res] = await dst.query<ResultSetHeader>(sql, [batch]);
					if (res.affectedRows !== batch.length) {
						throw new Error(`the destination took ${res.affectedRows} of ${batch.length} rows (${res.info ?? ""})`);
					}
				},
			};
		},
	};
}

function loadBatcher(sql: string, capacity: number, plain: boolean[], binary: boolean[]): Batcher {
	const tsv = new TsvBuilder(capacity, plain, binary);
	return {
		add: (row) => tsv.add(row),
		get rows() {
			return tsv.rows;
		},
		get bytes() {
			return tsv.bytes;
		},
		take() {
			const { data, rows } = tsv.take();
			return {
				rows,
				bytes: data.length,
				send: (dst) => sendBatch(dst, sql, data, rows),
			};
		},
	};
}

/**
 * The destination's named lock for a chunk: the destination table and the chunk's bounds,
 * hashed to fit the 64 characters servers allow.
 */
export function chunkLockName(chunk: ChunkSpec): string {
	const what = JSON.stringify([
		chunk.destination.database,
		chunk.destination.table,
		chunk.kind,
		chunk.kind === "range" ? [chunk.lower, chunk.upper] : null,
	]);
	return `ferry-copy-${createHash("sha256").update(what).digest("hex").slice(0, 40)}`;
}

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

function core(c: Connection): CoreConnection {
	return (c as unknown as { connection: CoreConnection }).connection;
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
	const what = `chunk ${chunk.index} of ${describeTable(mapping.source)} -> ${describeTable(mapping.destination)}`;
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

async function run(
	src: Connection,
	dst: Connection,
	mapping: TableMapping,
	chunk: ChunkSpec,
	options: CopyOptions,
	what: string,
	state: { touched: boolean },
): Promise<CopyResult> {
	const fail = (side: "source" | "destination", err: unknown): CopyError => {
		if (err instanceof CopyError) return err;
		if ((err as { name?: string }).name === "AbortError") {
			return new CopyError(`${what}: aborted`, "ABORTED", { cause: err });
		}
		const e = serverError(err);
		return new CopyError(
			`${what}: ${side} failed: ${e.message}${e.code ? ` (${e.code})` : ""}`,
			side === "source" ? "SOURCE_FAILED" : "DESTINATION_FAILED",
			{ cause: e },
		);
	};
	const onSource = async <T>(p: Promise<T>): Promise<T> => {
		try {
			return await p;
		} catch (err) {
			throw fail("source", err);
		}
	};
	const onDestination = async <T>(p: Promise<T>): Promise<T> => {
		try {
			return await p;
		} catch (err) {
			throw fail("destination", err);
		}
	};

	// --- What to read and where to write it.
	const [sourceColumns, destinationColumns] = await Promise.all([
		options.sourceColumns ? Promise.resolve(options.sourceColumns) : onSource(describeColumns(src, mapping.source)),
		options.destinationColumns
			? Promise.resolve(options.destinationColumns)
			: onDestination(describeColumns(dst, mapping.destination)),
	]);
	if (sourceColumns.length === 0) {
		throw new CopyError(
			`${what}: source table ${describeTable(mapping.source)} does not exist`,
			"SOURCE_TABLE_MISSING",
		);
	}
	if (destinationColumns.length === 0) {
		throw new CopyError(
			`destination table ${describeTable(mapping.destination)} does not exist (copying ${describeTable(mapping.source)}): create it first, e.g. with schema migration`,
			"DESTINATION_TABLE_MISSING",
		);
	}
	const sourceByName = new Map(sourceColumns.map((c) => [c.name.toLowerCase(), c]));
	const destinationByName = new Map(destinationColumns.map((c) => [c.name.toLowerCase(), c]));
	const selected: string[] = [];
	const inserted: string[] = [];
	const plain: boolean[] = [];
	const binary: boolean[] = [];
	for (const m of mapping.columns) {
		const s = sourceByName.get(m.source.toLowerCase());
		if (!s) {
			throw new CopyError(`${what}: source column ${m.source} does not exist`, "SOURCE_COLUMN_MISSING");
		}
		const d = destinationByName.get(m.destination.toLowerCase());
		if (!d) {
			throw new CopyError(
				`destination table ${describeTable(mapping.destination)} has no column ${m.destination} (copied from ${m.source})`,
				"DESTINATION_COLUMN_MISSING",
			);
		}
		// A generated column is computed by the destination itself and cannot be written.
		if (d.generated) continue;
		// MariaDB prints FLOAT with 6 significant digits; as a double its value is exact, and the
		// destination rounds that double back to the very same float.
		selected.push(s.dataType === "float" ? `${quoteId(s.name)} * 1e0` : quoteId(s.name));
		inserted.push(d.name);
		plain.push(PLAIN_TYPES.has(s.dataType));
		binary.push(isBinaryType(s.dataType));
	}
	if (selected.length === 0) {
		throw new CopyError(`${what}: no column to copy`, "BAD_CHUNK");
	}

	const toKey = (name: (c: { source: string; destination: string }) => string): KeyColumn[] =>
		chunk.kind === "range"
			? chunk.key.columns.map((c) => ({
					name: name(c),
					kind: c.kind,
					...(c.cast ? { cast: c.cast } : {}),
				}))
			: [];
	// The destination finds a chunk's rows by comparing keys under its own collation; under a
	// different one than the source's (which cut the ranges), a re-run would delete rows of a
	// neighbouring chunk or leave some of its own behind.
	if (chunk.kind === "range") {
		for (const c of chunk.key.columns) {
			if (c.kind !== "string") continue;
			const s = sourceByName.get(c.source.toLowerCase());
			const d = destinationByName.get(c.destination.toLowerCase());
			if (s?.collation?.toLowerCase() !== d?.collation?.toLowerCase()) {
				throw new CopyError(
					`${what}: key column ${c.destination} of destination table ${describeTable(mapping.destination)} has collation ${d?.collation ?? "none"}, but the source's is ${s?.collation ?? "none"}: chunk ranges would not match; give the destination key the source's collation`,
					"KEY_COLLATION_MISMATCH",
				);
			}
		}
	}
	const sourceKey = toKey((c) => c.source);
	const destinationKey = toKey((c) => c.destination);
	const range = chunk.kind === "range" ? rangeCondition(sourceKey, chunk.lower, chunk.upper) : null;
	const sourceWhere = whereClause(mapping.where, range);
	const selectSql =
		`SELECT ${selected.join(", ")} FROM ${quoteTable(mapping.source)}${sourceWhere.sql}` +
		(chunk.kind === "range" ? ` ORDER BY ${keyOrder(sourceKey)}` : "");
	const destinationRange = chunk.kind === "range" ? rangeCondition(destinationKey, chunk.lower, chunk.upper) : null;
	const deleteSql = `DELETE FROM ${quoteTable(mapping.destination)}${destinationRange ? ` WHERE ${destinationRange.sql}` : ""}`;

	// --- Destination session. foreign_key_checks=0: chunks of parent and child tables load in any
	// order, so a child row may arrive before its parent (the source already enforced the
	// constraint). unique_checks stays on unless `disableUniqueChecks` (see CopyOptions): with it off,
	// MariaDB >= 10.6 turns the first insert into an empty table into a bulk load under an
	// exclusive table lock, which deadlocks chunks of one table loading in parallel, and a unique
	// index that the destination collation makes stricter than the source's would silently take
	// duplicates. sql_mode: `rowWriteSqlMode`, the one replay writes under too. Writes run under READ COMMITTED: no gap locks, so the range DELETE of one
	// chunk does not block the inserts of its neighbour.
	const [[dstState]] = await onDestination(
		dst.query<RowDataPacket[]>(
			"SELECT @@session.foreign_key_checks AS fk, @@session.unique_checks AS uc, @@session.sql_mode AS mode, @@max_allowed_packet AS maxPacket",
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
	const maxPacket = Number(dstState.maxPacket ?? 4 * 1024 * 1024);
	// A statement's characters may take up to 3 bytes each in UTF-8, hence the quarter.
	const batchLimit = Math.max(1, Math.min(options.batchBytes ?? DEFAULT_BATCH_BYTES, Math.floor(maxPacket / 4)));
	const commitLimit = Math.max(1, options.commitBytes ?? 1);
	const batcher =
		method === "insert"
			? insertBatcher(`INSERT INTO ${quoteTable(mapping.destination)} (${inserted.map(quoteId).join(", ")}) VALUES ?`)
			: loadBatcher(
					loadDataSql(mapping.destination, inserted, binary, destinationColumns.find((c) => c.autoIncrement)?.name),
					batchLimit,
					plain,
					binary,
				);

	// --- Source session: a consistent snapshot, read only; a long net_write_timeout because the
	// stream pauses (backpressure, throttle) while the destination catches up; FILTER_SQL_MODE,
	// the one mode the row filter was checked under (which also leaves CHAR values unpadded).
	const [[srcState]] = await onSource(
		src.query<RowDataPacket[]>("SELECT @@session.sql_mode AS mode, @@session.net_write_timeout AS nwt"),
	);
	const sourceMode = String(srcState?.mode ?? "");
	await onSource(
		src.query("SET SESSION time_zone = '+00:00', net_write_timeout = 3600, sql_mode = ?", [FILTER_SQL_MODE]),
	);
	await onSource(src.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"));
	await onSource(src.query("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"));

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
	type Batch = ReturnType<Batcher["take"]>;
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

	// One attempt at a time per chunk. Batches commit as they go (a transaction per chunk was
	// measured 25% slower: its binlog spills and is written at commit while others wait), so two
	// attempts running at once could interleave: B deletes what A committed, B dies, A finishes
	// and the range misses rows. A named lock held by the destination session that writes rules
	// that out, and goes with the session when its worker dies.
	const lockName = chunkLockName(chunk);
	let lock: number | null;
	try {
		const [[row]] = await dst.query<RowDataPacket[]>("SELECT GET_LOCK(?, ?) AS ok", [
			lockName,
			options.lockWaitSeconds ?? 10,
		]);
		lock = Number(row?.ok);
	} catch (err) {
		// A server without named locks (ER_SP_DOES_NOT_EXIST, ER_NOT_SUPPORTED_YET) goes without.
		const errno = serverError(err).errno;
		if (errno !== 1305 && errno !== 1235) throw fail("destination", err);
		lock = null;
	}
	if (lock === 0) {
		throw new CopyError(
			`${what}: another attempt at this chunk is still running (destination lock ${lockName} is held)`,
			"CHUNK_BUSY",
		);
	}

	// The first transaction empties the chunk's range: rows of an earlier, interrupted attempt
	// go, and the delete only becomes visible together with the rows that replace them.
	await onDestination(begin());
	await onDestination(dst.query(deleteSql, destinationRange?.values ?? []));

	// --- Stream the rows. The 'result' handler runs synchronously per row (no promise per row);
	// when a batch is full and the previous one is still being written, the source connection is
	// paused (mysql2 then stops reading the socket, and TCP pushes back on the server) until the
	// write finishes. At most two batches are held: one being written, one full.
	await new Promise<void>((resolve, reject) => {
		const stream = core(src);
		let writing = false;
		let waiting: Batch | null = null;
		let failed = false;
		let ended = false;

		// Errors of onBatch are passed on as they are; an abort while throttled becomes ABORTED.
		const fault = (err: unknown) => {
			if (failed) return;
			failed = true;
			const aborted = (err as { name?: string })?.name === "AbortError";
			reject(aborted ? fail("destination", err) : err);
		};
		const launch = (batch: Batch) => {
			writing = true;
			write(batch).then(() => {
				writing = false;
				if (failed) return;
				if (waiting) {
					const next = waiting;
					waiting = null;
					launch(next);
					stream.resume();
				} else if (ended) {
					finish();
				}
			}, fault);
		};
		const finish = () => {
			if (batcher.rows > 0) launch(batcher.take());
			else resolve();
		};

		const query = stream.query({
			sql: selectSql,
			values: sourceWhere.values,
			rowsAsArray: true,
			typeCast: method === "insert" ? castValue : false,
		});
		query.on("result", (row: unknown) => {
			if (failed) return;
			batcher.add(row as unknown[]);
			if (batcher.bytes < batchLimit) return;
			const batch = batcher.take();
			if (writing) {
				waiting = batch;
				stream.pause();
			} else {
				launch(batch);
			}
		});
		query.on("error", (err: unknown) => fault(fail("source", err)));
		query.on("end", () => {
			if (failed) return;
			ended = true;
			if (!writing && !waiting) finish();
		});
	});

	if (transactionOpen) await onDestination(commit());
	if (lock !== null) {
		await onDestination(dst.query("DO RELEASE_LOCK(?)", [lockName]));
	}
	await onSource(src.query("COMMIT"));
	await onDestination(
		dst.query("SET SESSION foreign_key_checks = ?, unique_checks = ?, sql_mode = ?", [
			Number(dstState.fk),
			Number(dstState.uc),
			String(dstState.mode ?? ""),
		]),
	);
	await onSource(
		src.query("SET SESSION net_write_timeout = ?, sql_mode = ?", [Number(srcState?.nwt ?? 60), sourceMode]),
	);
	return { rows: progress.rows, bytes: progress.bytes, method };
}
