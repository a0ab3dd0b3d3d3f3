import type { ResultSetHeader } from "mysql2";
import type { Connection } from "../db/connect.ts";
import { isEnumErrorValue } from "../db/session.ts";
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

/**
 * Rows holding ENUM's error value in a column that refuses it under strict mode
 * (shared/db/session.ts `refusesEnumErrorValue`): strict mode takes no literal for it, and LOAD
 * DATA stores it only with a warning, which fails its batch (loaddata.ts `sendBatch`). Such rows
 * go apart, in an INSERT of their own under the lax mode, so every other row keeps strict mode.
 */
export interface LaxRows {
	/** Per column: an ENUM refusing its error value. */
	columns: boolean[];
	/** The INSERT (`VALUES ?`) under the lax mode. */
	sql: string;
}

function holdsEnumErrorValue(row: unknown[], columns: boolean[]): boolean {
	return columns.some((lax, i) => {
		const v = row[i];
		// LOAD DATA rows hold the server's raw bytes: the error value is an empty Buffer
		return lax && (isEnumErrorValue(v) || (Buffer.isBuffer(v) && v.length === 0));
	});
}

async function insertRows(dst: Connection, sql: string, rows: unknown[][]): Promise<void> {
	const [res] = await dst.query<ResultSetHeader>(sql, [rows]);
	if (res.affectedRows !== rows.length) {
		throw new Error(`the destination took ${res.affectedRows} of ${rows.length} rows (${res.info ?? ""})`);
	}
}

/** The rows of a batch set apart for the lax INSERT (`LaxRows`). */
class LaxSide {
	rows: unknown[][] = [];
	bytes = 0;

	constructor(readonly lax: LaxRows | undefined) {}

	/** Takes `row` (as `decode` gives it) when it holds the error value; false otherwise. */
	offer(row: unknown[], decode: (row: unknown[]) => unknown[] = (r) => r): boolean {
		if (!this.lax || !holdsEnumErrorValue(row, this.lax.columns)) return false;
		const decoded = decode(row);
		this.rows.push(decoded);
		this.bytes += rowBytes(decoded);
		return true;
	}

	/** Empties it, returning what writes the rows it held. */
	take(): (dst: Connection) => Promise<void> {
		const rows = this.rows;
		const sql = this.lax?.sql ?? "";
		this.rows = [];
		this.bytes = 0;
		return async (dst) => {
			if (rows.length) await insertRows(dst, sql, rows);
		};
	}
}

export function insertBatcher(sql: string, lax?: LaxRows): Batcher {
	let rows: unknown[][] = [];
	let bytes = 0;
	const side = new LaxSide(lax);
	return {
		add(row) {
			if (side.offer(row)) return;
			rows.push(row);
			bytes += rowBytes(row);
		},
		get rows() {
			return rows.length + side.rows.length;
		},
		get bytes() {
			return bytes + side.bytes;
		},
		take() {
			const batch = rows;
			const size = bytes + side.bytes;
			const count = rows.length + side.rows.length;
			const sendLax = side.take();
			rows = [];
			bytes = 0;
			return {
				rows: count,
				bytes: size,
				send: async (dst) => {
					if (batch.length) await insertRows(dst, sql, batch);
					await sendLax(dst);
				},
			};
		},
	};
}

export function loadBatcher(
	sql: string,
	capacity: number,
	plain: boolean[],
	binary: boolean[],
	lax?: LaxRows,
): Batcher {
	const tsv = new TsvBuilder(capacity, plain, binary);
	const side = new LaxSide(lax);
	// the raw bytes as the insert method's values: text decoded, binary as it is
	const decode = (row: unknown[]) => row.map((v, i) => (v === null || binary[i] ? v : (v as Buffer).toString("utf8")));
	return {
		add(row) {
			if (!side.offer(row, decode)) tsv.add(row);
		},
		get rows() {
			return tsv.rows + side.rows.length;
		},
		get bytes() {
			return tsv.bytes + side.bytes;
		},
		take() {
			const laxBytes = side.bytes;
			const laxCount = side.rows.length;
			const sendLax = side.take();
			const { data, rows } = tsv.take();
			return {
				rows: rows + laxCount,
				bytes: data.length + laxBytes,
				send: async (dst) => {
					if (rows) await sendBatch(dst, sql, data, rows);
					await sendLax(dst);
				},
			};
		},
	};
}

/** A full batch taken from a batcher, ready to send. */
export type Batch = ReturnType<Batcher["take"]>;
