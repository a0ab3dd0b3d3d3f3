import type { Connection as CoreConnection, TypeCastField } from "mysql2";
import type { Connection } from "../db/connect.ts";
import type { Batch, Batcher } from "./batcher.ts";
import type { SideErrors } from "./errors.ts";

/**
 * For the `insert` method, reads each value as the server's own text or bytes, so nothing is
 * rounded on the way: BIGINT, DECIMAL, FLOAT/DOUBLE (FLOAT is selected as `col * 1e0`, see
 * `selectList`) and temporal values (zero dates, TIME '-838:59:59') as text; JSON as UTF-8 text,
 * not parsed; GEOMETRY and VECTOR as their internal bytes; everything else through the driver,
 * which gives Buffers for binary-charset columns (BINARY, VARBINARY, BLOB, BIT) and strings for
 * text, and numbers only for integer types of at most 32 bits (exact).
 * The `load-data` method needs no cast at all: it takes every value as the raw bytes sent.
 */
export function castValue(field: TypeCastField, next: () => unknown): unknown {
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

function core(c: Connection): CoreConnection {
	return (c as unknown as { connection: CoreConnection }).connection;
}

/**
 * Streams the rows of `select` from `src` into `batcher` and hands each full batch to `write`.
 * The 'result' handler runs synchronously per row (no promise per row); when a batch is full and
 * the previous one is still being written, the source connection is paused (mysql2 then stops
 * reading the socket, and TCP pushes back on the server) until the write finishes. At most two
 * batches are held: one being written, one full.
 */
export function streamRows(
	src: Connection,
	select: { sql: string; values: unknown[] },
	method: "insert" | "load-data",
	batcher: Batcher,
	batchLimit: number,
	write: (batch: Batch) => Promise<void>,
	fail: SideErrors["fail"],
): Promise<void> {
	return new Promise<void>((resolve, reject) => {
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
			sql: select.sql,
			values: select.values,
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
}
