import { CopyError } from "../copy/errors.ts";
import { quoteId } from "../db/sql.ts";
import type { KeyColumn, KeyKind } from "./keys.ts";

/** A key value carried in a chunk: text for everything, base64 for binary key columns. */
export type KeyValue = string;

/** Turns a key value as the driver returned it into its JSON-safe form. */
export function encodeKeyValue(kind: KeyKind, value: unknown): KeyValue {
	if (value === null || value === undefined) throw new CopyError("a copy key value is NULL", "BAD_CHUNK");
	if (Buffer.isBuffer(value)) return kind === "binary" ? value.toString("base64") : value.toString("utf8");
	if (kind === "binary") return Buffer.from(String(value), "utf8").toString("base64");
	return String(value);
}

/** The value to bind for a boundary, so that the server compares it exactly (see `KeyKind`). */
export function bindKeyValue(kind: KeyKind, value: KeyValue): unknown {
	switch (kind) {
		case "integer":
			if (!/^-?\d+$/.test(value))
				throw new CopyError(`integer key boundary ${JSON.stringify(value)} is not an integer`, "BAD_CHUNK");
			return BigInt(value);
		case "binary":
			return Buffer.from(value, "base64");
		default:
			return value;
	}
}

function placeholder(column: KeyColumn): string {
	return column.kind === "decimal" && column.cast ? `CAST(? AS ${column.cast})` : "?";
}

/**
 * `(c1, c2, ...) OP (v1, v2, ...)` in lexicographic order, spelled out as
 * `c1 > v1 OR (c1 = v1 AND c2 OP v2) ...` because MariaDB's range optimizer does not use an
 * index for row-constructor comparisons (it scans the whole index), while it does for this form.
 * `strict` is the operator on the leading columns (`>` or `<`), `last` the one on the last column.
 */
function lexicographic(
	columns: KeyColumn[],
	values: KeyValue[],
	strict: ">" | "<",
	last: ">=" | "<",
	out: unknown[],
): string {
	if (values.length !== columns.length) {
		throw new CopyError(`a boundary has ${values.length} values for a key of ${columns.length} columns`, "BAD_CHUNK");
	}
	const disjuncts: string[] = [];
	for (let i = 0; i < columns.length; i++) {
		const conjuncts: string[] = [];
		for (let j = 0; j <= i; j++) {
			const column = columns[j] as KeyColumn;
			const op = j < i ? "=" : i === columns.length - 1 ? last : strict;
			conjuncts.push(`${quoteId(column.name)} ${op} ${placeholder(column)}`);
			out.push(bindKeyValue(column.kind, values[j] as KeyValue));
		}
		disjuncts.push(conjuncts.length === 1 ? (conjuncts[0] as string) : `(${conjuncts.join(" AND ")})`);
	}
	return disjuncts.length === 1 ? (disjuncts[0] as string) : `(${disjuncts.join(" OR ")})`;
}

/**
 * The condition selecting a half-open key range [lower, upper) (either end may be open: null),
 * with the values to bind, or null when the range is unbounded on both sides.
 */
export function rangeCondition(
	columns: KeyColumn[],
	lower: KeyValue[] | null,
	upper: KeyValue[] | null,
): { sql: string; values: unknown[] } | null {
	const parts: string[] = [];
	const values: unknown[] = [];
	if (lower) parts.push(lexicographic(columns, lower, ">", ">=", values));
	if (upper) parts.push(lexicographic(columns, upper, "<", "<", values));
	if (parts.length === 0) return null;
	return { sql: parts.join(" AND "), values };
}

/** `ORDER BY` over the key columns. */
export function keyOrder(columns: KeyColumn[]): string {
	return columns.map((c) => quoteId(c.name)).join(", ");
}

/** Combines the user's row filter with a key range into one WHERE clause (or ""). */
export function whereClause(
	filter: string | undefined,
	range: { sql: string; values: unknown[] } | null,
): { sql: string; values: unknown[] } {
	const parts: string[] = [];
	// The filter goes on lines of its own so that a trailing `-- comment` in it cannot swallow the range.
	if (filter?.trim()) parts.push(`(\n${filter}\n)`);
	if (range) parts.push(range.sql);
	return {
		sql: parts.length ? ` WHERE ${parts.join(" AND ")}` : "",
		values: range?.values ?? [],
	};
}
