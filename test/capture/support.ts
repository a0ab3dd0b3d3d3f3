import type { TypeCastField } from "mysql2";
import type { RowDataPacket } from "mysql2/promise";
import type { RowImage, TransactionPart, Value } from "../../shared/capture/change.ts";
import type { BinlogReader } from "../../shared/capture/reader-types.ts";
import type { Connection } from "../../shared/db/connect.ts";

let counter = 0;
/** A replica server id no other reader in this run uses (a server drops a second dump with the same id). */
export function uniqueServerId(): number {
	counter += 1;
	return 1_000_000 + (process.pid % 10_000) * 100 + counter;
}

/**
 * Reads parts until `count` transactions that captured something have arrived (transactions of
 * other tables, which arrive as empty parts, are skipped), or the timeout.
 */
export async function readTransactions(
	reader: BinlogReader,
	count: number,
	timeoutMs = 15_000,
): Promise<TransactionPart[][]> {
	const transactions: TransactionPart[][] = [];
	let current: TransactionPart[] = [];
	const deadline = Date.now() + timeoutMs;
	while (transactions.length < count) {
		const left = deadline - Date.now();
		if (left <= 0) throw new Error(`only ${transactions.length} of ${count} transactions arrived`);
		let timer: NodeJS.Timeout | undefined;
		const result = await Promise.race([
			reader.next(),
			new Promise<never>((_, reject) => {
				timer = setTimeout(
					() => reject(new Error(`only ${transactions.length} of ${count} transactions arrived`)),
					left,
				);
			}),
		]).finally(() => clearTimeout(timer));
		if (result.done) throw new Error("reader ended");
		current.push(result.value);
		if (result.value.final) {
			if (current.some((p) => p.changes.length > 0)) transactions.push(current);
			current = [];
		}
	}
	return transactions;
}

/**
 * Reads values as change.ts represents them, from a plain SELECT: the server's text for
 * DECIMAL, BIGINT and temporal types (connect.ts gives those), JSON as its text (the driver
 * would parse it), GEOMETRY as its internal bytes (the driver would parse it), Buffers for binary.
 * BIGINT that fits a JS number becomes a number, as capture gives it.
 */
export function contractCast(field: TypeCastField, next: () => unknown): unknown {
	switch (field.type) {
		case "GEOMETRY":
			return field.buffer();
		case "JSON":
			return field.string("utf8");
		case "LONGLONG": {
			const text = field.string("latin1");
			if (text === null) return null;
			const n = Number(text);
			return Number.isSafeInteger(n) ? n : text;
		}
	}
	if (field.extendedFormat === "json") return field.string("utf8");
	return next();
}

/** Rows of `sql` as change.ts values, keyed by `id`. */
export async function selectRows(conn: Connection, sql: string): Promise<Map<number, RowImage>> {
	const [rows] = await conn.query<RowDataPacket[]>({ sql, typeCast: contractCast });
	return new Map(rows.map((r) => [Number(r.id), { ...r } as RowImage]));
}

/** Compares two row images column by column, naming the column that differs. */
export function columnDiffs(actual: RowImage | undefined, expected: RowImage | undefined): string[] {
	if (!actual || !expected)
		return [`row missing: actual ${actual ? "present" : "absent"}, expected ${expected ? "present" : "absent"}`];
	const diffs: string[] = [];
	const names = new Set([...Object.keys(actual), ...Object.keys(expected)]);
	for (const name of names) {
		if (!sameValue(actual[name], expected[name])) {
			diffs.push(`${name}: captured ${show(actual[name])}, selected ${show(expected[name])}`);
		}
	}
	return diffs;
}

function sameValue(a: Value | undefined, b: Value | undefined): boolean {
	if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
	if (typeof a === "number" && typeof b === "number") return Object.is(a, b) || a === b;
	return a === b;
}

function show(v: Value | undefined): string {
	if (v === undefined) return "(absent)";
	if (Buffer.isBuffer(v)) return `Buffer<${v.toString("hex")}>`;
	return `${typeof v} ${JSON.stringify(v)}`;
}
