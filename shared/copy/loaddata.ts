import { Readable } from "node:stream";
import type { ResultSetHeader, RowDataPacket } from "mysql2";
import type { Connection } from "../db/connect.ts";
import { quoteId, quoteTable } from "../db/sql.ts";
import {
	APPROXIMATE_TYPES,
	BINARY_STRING_TYPES,
	DECIMAL_TYPES,
	INTEGER_TYPES,
	SPATIAL_TYPES,
	TEMPORAL_TYPES,
} from "../db/types.ts";
import type { TableName } from "../model/rules.ts";

/**
 * Writing a batch with `LOAD DATA LOCAL INFILE` instead of a multi-row INSERT: the server neither
 * parses SQL nor builds an expression per value, which roughly halves its CPU per row, and the
 * client never decodes the rows: the source's text protocol bytes go into the batch as they are.
 *
 * The batch is a tab-separated file in the client character set (utf8mb4), fields escaped by
 * backslash (\0 \t \n \\), NULL as \N. Binary-charset columns travel as hex and are decoded by
 * `SET col = UNHEX(@var)`: raw bytes in a utf8mb4 file would be misread, since the server skips
 * over what looks like a multi-byte character without looking for escapes in it.
 */

/** Types whose values arrive as bytes: MySQL 8 names `geomcollection`, MariaDB 11.7 adds `vector`. */
const BINARY_TYPES = new Set([...BINARY_STRING_TYPES, "bit", ...SPATIAL_TYPES, "geomcollection", "vector"]);

/** Whether a source column (by information_schema DATA_TYPE) arrives as bytes rather than text. */
export function isBinaryType(dataType: string): boolean {
	return BINARY_TYPES.has(dataType);
}

/** Types whose text form never holds a byte that LOAD DATA would need escaped. */
const PLAIN_TYPES = new Set([...INTEGER_TYPES, ...DECIMAL_TYPES, ...APPROXIMATE_TYPES, ...TEMPORAL_TYPES]);

/** Whether a source column's values can go into a batch file without looking for bytes to escape. */
export function isPlainType(dataType: string): boolean {
	return PLAIN_TYPES.has(dataType);
}

/**
 * The statement loading a batch into `columns` of `table`; `binary[i]` marks hex-coded columns.
 * `autoIncrement` names the AUTO_INCREMENT column, if any: MariaDB (10.11) ignores
 * NO_AUTO_VALUE_ON_ZERO for a column loaded directly when the statement has a SET clause, and
 * turns a 0 into the next sequence value; going through a variable keeps the 0.
 */
export function loadDataSql(table: TableName, columns: string[], binary: boolean[], autoIncrement?: string): string {
	const targets: string[] = [];
	const sets: string[] = [];
	const viaVariable = binary.some(Boolean);
	columns.forEach((c, i) => {
		if (binary[i]) {
			targets.push(`@v${i}`);
			sets.push(`${quoteId(c)} = UNHEX(@v${i})`);
		} else if (viaVariable && c === autoIncrement) {
			targets.push(`@v${i}`);
			sets.push(`${quoteId(c)} = @v${i}`);
		} else {
			targets.push(quoteId(c));
		}
	});
	return (
		`LOAD DATA LOCAL INFILE 'ferry-batch' INTO TABLE ${quoteTable(table)} CHARACTER SET utf8mb4 ` +
		"FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' " +
		`(${targets.join(", ")})${sets.length ? ` SET ${sets.join(", ")}` : ""}`
	);
}

const TAB = 9;
const NEWLINE = 10;
const BACKSLASH = 92;
const HEX = Buffer.from("0123456789abcdef", "latin1");
/** For each byte: 0 if it goes into the file as is, else the letter that follows the backslash. */
const SPECIAL = new Uint8Array(256);
SPECIAL[0] = 48; // \0
SPECIAL[TAB] = 116; // \t
SPECIAL[NEWLINE] = 110; // \n
SPECIAL[BACKSLASH] = BACKSLASH; // \\

/** Copies `v` into `buf` at `p`; by hand when short, where a native call costs more than it saves. */
function put(buf: Buffer, p: number, v: Buffer): number {
	const n = v.length;
	if (n < 16) {
		for (let j = 0; j < n; j++) buf[p + j] = v[j] as number;
	} else {
		buf.set(v, p);
	}
	return p + n;
}

/**
 * Builds one batch file from rows of raw driver values (Buffers or null), escaping on the fly.
 * `plain[i]` marks columns whose text can never hold a byte that needs escaping (numbers, dates),
 * which are copied without looking; `binary[i]` marks hex-coded columns.
 */
export class TsvBuilder {
	private buf: Buffer;
	private len = 0;
	rows = 0;

	constructor(
		private readonly capacity: number,
		private readonly plain: boolean[],
		private readonly binary: boolean[],
	) {
		this.buf = Buffer.allocUnsafe(capacity + 1024);
	}

	get bytes(): number {
		return this.len;
	}

	private reserve(n: number): void {
		if (this.len + n <= this.buf.length) return;
		const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n + 1024));
		this.buf.copy(next, 0, 0, this.len);
		this.buf = next;
	}

	add(row: unknown[]): void {
		const n = row.length;
		// Upper bound for the row: each value at most doubled by escaping or hex, plus separators.
		let need = n + 1;
		for (let i = 0; i < n; i++) {
			const v = row[i] as Buffer | null;
			need += v === null ? 2 : 2 * v.length;
		}
		this.reserve(need);
		const buf = this.buf;
		let p = this.len;
		for (let i = 0; i < n; i++) {
			if (i > 0) buf[p++] = TAB;
			const v = row[i] as Buffer | null;
			if (v === null) {
				buf[p++] = BACKSLASH;
				buf[p++] = 78; // N
			} else if (this.plain[i]) {
				p = put(buf, p, v);
			} else if (this.binary[i]) {
				for (let j = 0; j < v.length; j++) {
					const b = v[j] as number;
					buf[p++] = HEX[b >> 4] as number;
					buf[p++] = HEX[b & 15] as number;
				}
			} else {
				// Text: look for a byte to escape with a table (none of the four can occur inside a
				// multi-byte UTF-8 sequence, whose bytes are all >= 0x80); copy natively if clean.
				const n = v.length;
				let j = 0;
				while (j < n && SPECIAL[v[j] as number] === 0) j++;
				if (j === n) {
					p = put(buf, p, v);
				} else {
					for (j = 0; j < n; j++) {
						const b = v[j] as number;
						if (SPECIAL[b] === 0) {
							buf[p++] = b;
						} else {
							buf[p++] = BACKSLASH;
							buf[p++] = SPECIAL[b] as number;
						}
					}
				}
			}
		}
		buf[p++] = NEWLINE;
		this.len = p;
		this.rows++;
	}

	/** The batch so far, leaving the builder empty with a fresh buffer. */
	take(): { data: Buffer; rows: number } {
		const out = { data: this.buf.subarray(0, this.len), rows: this.rows };
		this.buf = Buffer.allocUnsafe(this.capacity + 1024);
		this.len = 0;
		this.rows = 0;
		return out;
	}
}

const PIECE = 256 * 1024;

function* pieces(data: Buffer): Generator<Buffer> {
	for (let i = 0; i < data.length; i += PIECE) yield data.subarray(i, i + PIECE);
}

/**
 * Sends one batch file. LOAD DATA LOCAL turns errors (bad values, duplicate keys) into warnings
 * and skipped rows, so any warning or missing row fails the batch, quoting the first warnings.
 */
export async function sendBatch(dst: Connection, sql: string, data: Buffer, rows: number): Promise<void> {
	const [res] = await dst.query<ResultSetHeader>({
		sql,
		// In pieces: each becomes one protocol packet, which must stay under max_allowed_packet
		// even when a single row (a large BLOB, doubled as hex) is bigger than that.
		infileStreamFactory: () => Readable.from(pieces(data)),
	});
	if (res.affectedRows === rows && !res.warningStatus) return;
	let detail = "";
	try {
		const [warnings] = await dst.query<RowDataPacket[]>("SHOW WARNINGS LIMIT 3");
		detail = warnings.map((w) => `${w.Level} ${w.Code}: ${w.Message}`).join("; ");
	} catch {
		// Keep the counts alone.
	}
	throw Object.assign(
		new Error(
			`the destination loaded ${res.affectedRows} of ${rows} rows with ${res.warningStatus ?? 0} warnings${detail ? `: ${detail}` : ""}`,
		),
		{ code: "LOAD_DATA_WARNINGS" },
	);
}
