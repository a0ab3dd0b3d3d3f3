import type {
	Connection as CoreConnection,
	ResultSetHeader,
	RowDataPacket,
	TypeCastField,
} from "mysql2";
import type { PoolConnection } from "mysql2/promise";
import type { Connection, Pool } from "../db/connect.ts";
import { describeTable, quoteId, quoteTable } from "../db/sql.ts";
import type { TableMapping } from "../model/rules.ts";
import { CopyError, serverError } from "./errors.ts";
import { type ColumnInfo, describeColumns, type KeyColumn } from "./keys.ts";
import type { ChunkSpec } from "./plan.ts";
import { keyOrder, rangeCondition, whereClause } from "./range.ts";
import { Throttle } from "./throttle.ts";

export interface CopyProgress {
	/** Rows written so far (committed or not). */
	rows: number;
	/** Estimated bytes of the values written so far (text length; 2 per byte of binary, as hex). */
	bytes: number;
	/** Rows whose destination transaction has committed. */
	committedRows: number;
}

export interface CopyOptions {
	/** Target size of one multi-row INSERT (default 4 MiB; capped at a quarter of the destination's max_allowed_packet). */
	batchBytes?: number;
	/**
	 * Commit the destination transaction after about this many bytes (default 32 MiB). The first
	 * transaction also holds the DELETE of the chunk's range, so a re-run always starts clean.
	 */
	commitBytes?: number;
	maxRowsPerSecond?: number;
	maxBytesPerSecond?: number;
	/** A throttle shared with other chunks (used instead of the two limits above). */
	throttle?: Throttle;
	/** Stops the copy at the next batch; the open destination transaction is rolled back. */
	signal?: AbortSignal;
	/** Called after each batch is written; an exception thrown here aborts the copy. */
	onBatch?: (progress: CopyProgress) => void | Promise<void>;
	/** Source and destination columns, if already described (saves two queries). */
	sourceColumns?: ColumnInfo[];
	destinationColumns?: ColumnInfo[];
}

export interface CopyResult {
	rows: number;
	bytes: number;
}

const DEFAULT_BATCH_BYTES = 4 * 1024 * 1024;
const DEFAULT_COMMIT_BYTES = 32 * 1024 * 1024;

/**
 * Reads each value as the server's own text or bytes, so nothing is rounded on the way:
 * BIGINT, DECIMAL, FLOAT/DOUBLE (FLOAT is selected as `col * 1e0`, see `selectList`) and temporal
 * values (zero dates, TIME '-838:59:59') as text; JSON as UTF-8 text, not parsed; GEOMETRY and
 * VECTOR as their internal bytes; everything else through the driver, which gives Buffers for
 * binary-charset columns (BINARY, VARBINARY, BLOB, BIT) and strings for text, and numbers only for
 * integer types of at most 32 bits.
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

/** The estimated size of a row in an INSERT statement (characters; binary counts twice, as hex). */
function rowBytes(row: unknown[]): number {
	let n = 3;
	for (let i = 0; i < row.length; i++) {
		const v = row[i];
		if (typeof v === "string") n += v.length + 3;
		else if (v === null) n += 5;
		else if (typeof v === "number") n += 12;
		else if (Buffer.isBuffer(v)) n += 2 * v.length + 4;
		else n += 24;
	}
	return n;
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

function removeModes(mode: string, remove: string[]): string[] {
	return mode
		.split(",")
		.map((m) => m.trim().toUpperCase())
		.filter((m) => m && !remove.includes(m));
}

/**
 * Copies one chunk: streams its rows from a consistent snapshot of the source in key order and
 * writes them to the destination in multi-row INSERTs of about `batchBytes`, one batch in flight
 * while the next is read. Idempotent: the first destination transaction deletes the chunk's key
 * range (or, for a whole-table chunk, every row) before inserting, so re-running a chunk that
 * died half way neither loses nor doubles rows. A chunk counts as done only when this promise
 * resolves, i.e. after its last transaction committed.
 *
 * A pool is borrowed from (one connection each side, released afterwards; destroyed on failure);
 * a connection passed in is used as is, its session settings restored afterwards, and destroyed
 * if the copy fails mid-stream (it would still be reading an abandoned result).
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
		throw new CopyError(
			`${what}: the chunk was planned for another table`,
			"BAD_CHUNK",
		);
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
	try {
		const result = await run(src.conn, dst.conn, mapping, chunk, options, what);
		healthy = true;
		return result;
	} finally {
		for (const h of [src, dst]) {
			if (!healthy) {
				h.conn.destroy();
			} else {
				h.pooled?.release();
			}
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
			{ cause: err },
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
		options.sourceColumns
			? Promise.resolve(options.sourceColumns)
			: onSource(describeColumns(src, mapping.source)),
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
	const sourceByName = new Map(
		sourceColumns.map((c) => [c.name.toLowerCase(), c]),
	);
	const destinationByName = new Map(
		destinationColumns.map((c) => [c.name.toLowerCase(), c]),
	);
	const selected: string[] = [];
	const inserted: string[] = [];
	for (const m of mapping.columns) {
		const s = sourceByName.get(m.source.toLowerCase());
		if (!s) {
			throw new CopyError(
				`${what}: source column ${m.source} does not exist`,
				"SOURCE_COLUMN_MISSING",
			);
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
		selected.push(
			s.dataType === "float" ? `${quoteId(s.name)} * 1e0` : quoteId(s.name),
		);
		inserted.push(quoteId(d.name));
	}
	if (selected.length === 0) {
		throw new CopyError(`${what}: no column to copy`, "BAD_CHUNK");
	}

	let sourceKey: KeyColumn[] = [];
	let destinationKey: KeyColumn[] = [];
	if (chunk.kind === "range") {
		sourceKey = chunk.key.columns.map((c) => ({
			name: c.source,
			kind: c.kind,
			...(c.cast ? { cast: c.cast } : {}),
		}));
		destinationKey = chunk.key.columns.map((c) => ({
			name: c.destination,
			kind: c.kind,
			...(c.cast ? { cast: c.cast } : {}),
		}));
	}
	const range =
		chunk.kind === "range"
			? rangeCondition(sourceKey, chunk.lower, chunk.upper)
			: null;
	const sourceWhere = whereClause(mapping.where, range);
	const selectSql =
		`SELECT ${selected.join(", ")} FROM ${quoteTable(mapping.source)}${sourceWhere.sql}` +
		(chunk.kind === "range" ? ` ORDER BY ${keyOrder(sourceKey)}` : "");
	const destinationRange =
		chunk.kind === "range"
			? rangeCondition(destinationKey, chunk.lower, chunk.upper)
			: null;
	const deleteSql = `DELETE FROM ${quoteTable(mapping.destination)}${destinationRange ? ` WHERE ${destinationRange.sql}` : ""}`;
	const insertSql = `INSERT INTO ${quoteTable(mapping.destination)} (${inserted.join(", ")}) VALUES ?`;

	// --- Destination session. foreign_key_checks=0: chunks of parent and child tables load in any
	// order, so a child row may arrive before its parent (the source already enforced the
	// constraint). unique_checks=0: the rows come from unique source keys and the range was just
	// emptied, so InnoDB may skip the uniqueness lookups for secondary indexes (change buffering).
	// sql_mode: strict, so a value the destination cannot hold fails instead of being truncated;
	// zero and invalid dates allowed, since they come verbatim from the source; backslash escapes
	// on, as the driver's escaping assumes them.
	const [[dstState]] = await onDestination(
		dst.query<RowDataPacket[]>(
			"SELECT @@session.foreign_key_checks AS fk, @@session.unique_checks AS uc, @@session.sql_mode AS mode, @@max_allowed_packet AS maxPacket",
		),
	);
	if (!dstState)
		throw new CopyError(
			`${what}: cannot read the destination session`,
			"DESTINATION_FAILED",
		);
	let readCommitted = true;
	try {
		const [[b]] = await dst.query<RowDataPacket[]>(
			"SELECT @@binlog_format AS f",
		);
		// With statement-based binary logging InnoDB refuses writes under READ COMMITTED.
		if (String(b?.f ?? "").toUpperCase() === "STATEMENT") readCommitted = false;
	} catch {
		// The server has no binlog_format: nothing to worry about.
	}
	const loadMode = [
		...removeModes(String(dstState.mode ?? ""), [
			"NO_ZERO_DATE",
			"NO_ZERO_IN_DATE",
			"NO_BACKSLASH_ESCAPES",
			"STRICT_TRANS_TABLES",
			"STRICT_ALL_TABLES",
			"NO_AUTO_VALUE_ON_ZERO",
			"ALLOW_INVALID_DATES",
			"TRADITIONAL",
		]),
		"STRICT_ALL_TABLES",
		"NO_AUTO_VALUE_ON_ZERO",
		"ALLOW_INVALID_DATES",
	].join(",");
	await onDestination(
		dst.query(
			"SET SESSION foreign_key_checks = 0, unique_checks = 0, time_zone = '+00:00', sql_mode = ?",
			[loadMode],
		),
	);
	const maxPacket = Number(dstState.maxPacket ?? 4 * 1024 * 1024);
	// Characters may take up to 3 bytes each in UTF-8, hence the quarter.
	const batchLimit = Math.max(
		1,
		Math.min(
			options.batchBytes ?? DEFAULT_BATCH_BYTES,
			Math.floor(maxPacket / 4),
		),
	);
	const commitLimit = Math.max(
		batchLimit,
		options.commitBytes ?? DEFAULT_COMMIT_BYTES,
	);

	// --- Source session: a consistent snapshot, read only; a long net_write_timeout because the
	// stream pauses (backpressure, throttle) while the destination catches up.
	const [[srcState]] = await onSource(
		src.query<RowDataPacket[]>(
			"SELECT @@session.sql_mode AS mode, @@session.net_write_timeout AS nwt",
		),
	);
	const sourceMode = String(srcState?.mode ?? "");
	const readMode = removeModes(sourceMode, ["PAD_CHAR_TO_FULL_LENGTH"]).join(
		",",
	);
	await onSource(
		src.query(
			"SET SESSION time_zone = '+00:00', net_write_timeout = 3600, sql_mode = ?",
			[readMode],
		),
	);
	await onSource(src.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"));
	await onSource(
		src.query("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"),
	);

	const throttle = options.throttle ?? Throttle.of(options);
	const progress: CopyProgress = { rows: 0, bytes: 0, committedRows: 0 };
	let transactionOpen = false;
	let transactionBytes = 0;

	const begin = async () => {
		if (readCommitted)
			await dst.query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED");
		await dst.query("START TRANSACTION");
		transactionOpen = true;
		transactionBytes = 0;
	};
	const commit = async () => {
		await dst.query("COMMIT");
		transactionOpen = false;
		progress.committedRows = progress.rows;
	};

	const write = async (rows: unknown[][], bytes: number) => {
		options.signal?.throwIfAborted();
		if (throttle) await throttle.take(rows.length, bytes, options.signal);
		if (!transactionOpen) await onDestination(begin());
		const [res] = await onDestination(
			dst.query<ResultSetHeader>(insertSql, [rows]),
		);
		if (res.affectedRows !== rows.length) {
			throw new CopyError(
				`${what}: the destination took ${res.affectedRows} of ${rows.length} rows (${res.info ?? ""})`,
				"DESTINATION_FAILED",
			);
		}
		progress.rows += rows.length;
		progress.bytes += bytes;
		transactionBytes += bytes;
		if (transactionBytes >= commitLimit) await onDestination(commit());
		await options.onBatch?.({ ...progress });
	};

	// The first transaction empties the chunk's range: rows of an earlier, interrupted attempt
	// go, and the delete only becomes visible together with the rows that replace them.
	await onDestination(begin());
	await onDestination(dst.query(deleteSql, destinationRange?.values ?? []));

	// --- Stream the rows. The 'result' handler runs synchronously per row (no promise per row);
	// when a batch is full and the previous one is still being written, the source connection is
	// paused (mysql2 then stops reading the socket, and TCP pushes back on the server) until the
	// write finishes. At most two batches are held: one being written, one full or filling.
	await new Promise<void>((resolve, reject) => {
		const stream = core(src);
		let batch: unknown[][] = [];
		let batchBytes = 0;
		let writing: Promise<void> | null = null;
		let failed = false;
		let ended = false;

		const fault = (err: unknown) => {
			if (failed) return;
			failed = true;
			reject(err);
		};
		const launch = (rows: unknown[][], bytes: number) => {
			writing = write(rows, bytes).then(
				() => {
					writing = null;
					if (failed) return;
					if (waiting) {
						const next = waiting;
						waiting = null;
						launch(next.rows, next.bytes);
						stream.resume();
					} else if (ended) {
						finish();
					}
				},
				(err) => fault(err),
			);
		};
		let waiting: { rows: unknown[][]; bytes: number } | null = null;
		const finish = () => {
			if (batch.length > 0) {
				const rows = batch;
				const bytes = batchBytes;
				batch = [];
				batchBytes = 0;
				launch(rows, bytes);
				return;
			}
			resolve();
		};

		const query = stream.query({
			sql: selectSql,
			values: sourceWhere.values,
			rowsAsArray: true,
			typeCast: castValue,
		});
		query.on("result", (row: unknown) => {
			if (failed) return;
			const r = row as unknown[];
			batch.push(r);
			batchBytes += rowBytes(r);
			if (batchBytes < batchLimit) return;
			const rows = batch;
			const bytes = batchBytes;
			batch = [];
			batchBytes = 0;
			if (writing) {
				waiting = { rows, bytes };
				stream.pause();
			} else {
				launch(rows, bytes);
			}
		});
		query.on("error", (err: unknown) => fault(fail("source", err)));
		query.on("end", () => {
			if (failed) return;
			ended = true;
			if (!writing && !waiting) finish();
		});
	});

	await onDestination(commit());
	await onSource(src.query("COMMIT"));
	await onDestination(
		dst.query(
			"SET SESSION foreign_key_checks = ?, unique_checks = ?, sql_mode = ?",
			[Number(dstState.fk), Number(dstState.uc), String(dstState.mode ?? "")],
		),
	);
	await onSource(
		src.query("SET SESSION net_write_timeout = ?, sql_mode = ?", [
			Number(srcState?.nwt ?? 60),
			sourceMode,
		]),
	);
	return { rows: progress.rows, bytes: progress.bytes };
}
