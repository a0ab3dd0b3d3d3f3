import type { RowImage, Value } from "../capture/change.ts";
import { isEnumErrorValue } from "../db/session.ts";
import { escapeValue } from "../db/sql.ts";
import { ReplayError } from "./replay-error.ts";
import type { LiteralKind, ReplayColumn, ReplayTable } from "./replay-table.ts";

/**
 * Row images as SQL: the literal for each destination column type (statements.ts explains the
 * choice), column lists, key conditions, and the conflict keys parallel apply compares.
 */

const INTEGER_TEXT = /^-?\d+$/;
const DECIMAL_TEXT = /^-?(\d+\.?\d*|\.\d+)$/;

export function imageValue(table: ReplayTable, image: RowImage, column: ReplayColumn): Value {
	const v = image[column.source];
	if (v === undefined) {
		throw new ReplayError(
			`${table.label}: the row image has no column ${column.source} (the source must log full row images: binlog_row_image=FULL)`,
			"INCOMPLETE_ROW_IMAGE",
		);
	}
	return v;
}

/**
 * The written columns an image has values for. Capture refuses row events without a full image
 * (binlog_row_image=FULL), so a mapped column an image lacks is one the event predates: an ADD
 * COLUMN later in the binlog, whose mapping (read at session start, the current schema) replay
 * already has, e.g. when a session resumes from a checkpoint before the DDL (reverse replication
 * lagging behind forward's). Such a column is one the event did not write: left out of its
 * statements (an insert leaves it to the column's default, an update leaves it as it is, a WHERE
 * clause does not test it). A key column missing is still an error: the row cannot be found.
 */
export function written(table: ReplayTable, image: RowImage): ReplayColumn[] {
	if (table.columns.every((c) => image[c.source] !== undefined)) return table.columns;
	for (const c of table.key ?? []) imageValue(table, image, c);
	const columns = table.columns.filter((c) => image[c.source] !== undefined);
	if (columns.length === 0) {
		throw new ReplayError(`${table.label}: the row image has none of the mapped columns`, "INCOMPLETE_ROW_IMAGE");
	}
	return columns;
}

/** Whether an image has every written column (see `written`). */
export function completeImage(table: ReplayTable, image: RowImage | undefined): boolean {
	return !image || table.columns.every((c) => image[c.source] !== undefined);
}

/**
 * Whether writing these columns of an image puts ENUM's error value into a column that refuses it
 * under strict mode (ReplayColumn `laxEnum`): the statement then runs under the lax mode.
 */
export function writesEnumErrorValue(image: RowImage, columns: readonly ReplayColumn[]): boolean {
	return columns.some((c) => c.laxEnum && isEnumErrorValue(image[c.source]));
}

/** `(`a`, `b`)`: an insert's column list. */
export function columnList(table: ReplayTable, columns: ReplayColumn[]): string {
	return columns === table.columns ? table.columnList : `(${columns.map((c) => c.quoted).join(", ")})`;
}

/** A value as an SQL literal for a column of the given kind (see the module comment). */
export function literal(kind: LiteralKind, v: Value): string {
	if (v === null) return "NULL";
	switch (kind) {
		case "integer":
			if (typeof v === "number" && Number.isSafeInteger(v)) return String(v);
			if (typeof v === "string" && INTEGER_TEXT.test(v)) return v;
			break;
		case "decimal":
			if (typeof v === "string" && DECIMAL_TEXT.test(v)) return v;
			if (typeof v === "number" && Number.isFinite(v)) return String(v);
			break;
		case "float":
			if (typeof v === "number" && Number.isFinite(v)) {
				const s = String(v);
				return /[eE]/.test(s) ? s : `${s}e0`;
			}
			if (typeof v === "string" && DECIMAL_TEXT.test(v)) return `${v}e0`;
			break;
		case "bit":
			if (Buffer.isBuffer(v)) return v.length === 0 ? "0" : BigInt(`0x${v.toString("hex")}`).toString();
			if (typeof v === "number" && Number.isSafeInteger(v)) return String(v);
			if (typeof v === "string" && INTEGER_TEXT.test(v)) return v;
			break;
		default:
			if (typeof v === "number" && !Number.isFinite(v)) break;
			return escapeValue(v);
	}
	if (typeof v === "number" && !Number.isFinite(v)) {
		throw new ReplayError(`value ${v} cannot be written`, "BAD_VALUE");
	}
	// A value of an unexpected JS type for the column: the driver's escaping, as the copy would.
	return escapeValue(v);
}

export function lit(table: ReplayTable, image: RowImage, column: ReplayColumn): string {
	return literal(column.kind, imageValue(table, image, column));
}

/** `(v1, v2, …)`: a row's written values. */
export function rowTuple(table: ReplayTable, image: RowImage, cols: ReplayColumn[] = table.columns): string {
	let s = "(";
	for (let i = 0; i < cols.length; i++) {
		if (i > 0) s += ", ";
		s += lit(table, image, cols[i] as ReplayColumn);
	}
	return `${s})`;
}

/** `a = 1 AND b = 'x'`: the row's key (the table must have one). */
export function keyCondition(table: ReplayTable, key: ReplayColumn[], image: RowImage): string {
	if (key.length === 1) {
		const c = key[0] as ReplayColumn;
		return `${c.quoted} = ${lit(table, image, c)}`;
	}
	return key.map((c) => `${c.quoted} = ${lit(table, image, c)}`).join(" AND ");
}

export function keyRecord(table: ReplayTable, image: RowImage): Record<string, Value> {
	const out: Record<string, Value> = {};
	for (const c of table.key ?? written(table, image)) out[c.destination] = image[c.source] ?? null;
	return out;
}

function encodeExact(kind: LiteralKind, v: Value | undefined): string {
	if (v === null || v === undefined) return "N";
	if (Buffer.isBuffer(v)) return `x${v.toString("hex")}`;
	if (kind === "other" && typeof v === "string") return `s${v}`;
	return `n${String(v)}`;
}

/** The row's key as a string that is equal exactly when the key values are identical. */
export function exactKey(table: ReplayTable, key: ReplayColumn[], image: RowImage): string {
	if (key.length === 1) {
		const c = key[0] as ReplayColumn;
		return encodeExact(c.kind, imageValue(table, image, c));
	}
	return JSON.stringify(key.map((c) => encodeExact(c.kind, imageValue(table, image, c))));
}

/**
 * Text folded so that strings a collation may consider equal fold to the same value: case,
 * accents and compatibility forms, control and format characters (ignorable in UCA collations),
 * trailing spaces, ß. Coarser than any one collation, which is
 * what conflict detection needs (a false conflict only makes a transaction wait).
 */
export function foldText(s: string): string {
	return s
		.normalize("NFKD")
		.replace(/\p{M}/gu, "")
		.toLowerCase()
		.replace(/[\p{Cc}\p{Cf}]/gu, "")
		.replace(/ß|ss/g, "s")
		.replace(/\s+$/u, "");
}

export function conflictValue(column: ReplayColumn, prefix: number | null, v: Value | undefined): string | null {
	if (v === null || v === undefined) return null;
	if (Buffer.isBuffer(v)) {
		const b = prefix !== null ? v.subarray(0, prefix) : v;
		return `x${b.toString("hex").replace(/(00)+$/, "")}`;
	}
	if (typeof v === "string" && column.kind === "other") {
		const s = prefix !== null ? [...v].slice(0, prefix).join("") : v;
		return `s${column.fold ? foldText(s) : s.replace(/ +$/, "")}`;
	}
	return `n${String(v)}`;
}

/**
 * The conflict keys of one row image: one per unique key (a key with a NULL part constrains
 * nothing), or the whole table when a unique key is not computable from images or the table has
 * no key to find rows by (its rows are matched by whole image, which any change may affect).
 */
export function conflictKeys(table: ReplayTable, image: RowImage | undefined, out: Set<string>): void {
	const t = `${table.mapping.destination.database}\u0000${table.mapping.destination.table}`;
	if (!image) return;
	if (table.opaqueUniqueKey || !table.key) {
		out.add(`${t}\u0001*`);
		return;
	}
	for (const k of table.uniqueKeys) {
		let s = `${t}\u0001${k.name}`;
		let isNull = false;
		for (let i = 0; i < k.columns.length; i++) {
			const c = k.columns[i] as ReplayColumn;
			const v = conflictValue(c, k.prefixes[i] ?? null, image[c.source]);
			if (v === null) {
				isNull = true;
				break;
			}
			s += `\u0000${v}`;
		}
		if (!isNull) out.add(s);
	}
}
