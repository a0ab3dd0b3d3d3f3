import type { ResultSetHeader } from "mysql2";
import type { Connection } from "../db/connect.ts";
import { sendBatch, TsvBuilder } from "./loaddata.ts";

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

/** A batch being filled: rows for an INSERT, or a batch file for LOAD DATA. */
export interface Batcher {
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

export function insertBatcher(sql: string): Batcher {
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

export function loadBatcher(sql: string, capacity: number, plain: boolean[], binary: boolean[]): Batcher {
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

/** A full batch taken from a batcher, ready to send. */
export type Batch = ReturnType<Batcher["take"]>;
