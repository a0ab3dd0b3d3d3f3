import type { RowDataPacket } from "mysql2";
import type { KeyColumn } from "../chunking/keys.ts";
import type { ChunkSpec } from "../chunking/plan.ts";
import { rangeCondition, whereClause } from "../chunking/range.ts";
import type { Queryable } from "../db/connect.ts";
import type { TableMapping } from "../model/rules.ts";
import { hashQuery } from "./hash-query.ts";
import {
	type HashMode,
	type PreparedTable,
	prepareOneSide,
	prepareTable,
	type SideSql,
	summableHashExprs,
	tableSql,
} from "./normalise.ts";

export type Side = "source" | "destination";

/** A chunk's row count and order-independent content hash on one side. */
export interface ChunkChecksum {
	rows: number;
	/**
	 * Sums of two independent row hashes over the normalised rows (sums, so duplicates count):
	 * `<sum of CRC32 * 2^32 + CRC32C>` or, without CRC32C, `<sum of CRC32>:<sum of MD5 bits>`.
	 * Compare it only with a hash of the same table prepared the same way.
	 */
	hash: string;
}

/** A chunk's key columns under this side's names. */
export function sideKeyColumns(chunk: ChunkSpec, side: Side): KeyColumn[] {
	if (chunk.kind !== "range") return [];
	return chunk.key.columns.map((c) => {
		const k: KeyColumn = { name: side === "source" ? c.source : c.destination, kind: c.kind };
		if (c.cast) k.cast = c.cast;
		return k;
	});
}

/** The WHERE clause selecting a chunk's rows on one side (the row filter only on the source). */
export function chunkWhere(sql: SideSql, chunk: ChunkSpec): { sql: string; values: unknown[] } {
	const range =
		chunk.kind === "range" ? rangeCondition(sideKeyColumns(chunk, sql.side), chunk.lower, chunk.upper) : null;
	return whereClause(sql.filter, range);
}

const prepared = new WeakMap<object, Map<string, Promise<PreparedTable>>>();

/**
 * Describes a mapped table once per connection (pool) and mapping. Passing `PreparedTable`
 * explicitly (as `verifyTable` does) also guarantees both sides use the same hash pair.
 */
export function cachedPrepare(
	conn: Queryable,
	other: Queryable | null,
	side: Side,
	mapping: TableMapping,
): Promise<PreparedTable> {
	let byMapping = prepared.get(conn);
	if (!byMapping) {
		byMapping = new Map();
		prepared.set(conn, byMapping);
	}
	const id = JSON.stringify(mapping);
	let p = byMapping.get(id);
	if (!p) {
		p = !other
			? prepareOneSide(conn, side, mapping)
			: side === "source"
				? prepareTable(conn, other, mapping)
				: prepareTable(other, conn, mapping);
		byMapping.set(id, p);
		p.catch(() => byMapping.delete(id));
	}
	return p;
}

/**
 * The hash sums of a chunk's checksum query, as one text column `h`. With CRC32C both 32-bit
 * hashes of a row are packed into one 64-bit number, `CRC32 << 32 | CRC32C`, and summed exactly:
 * one decimal addition per row instead of two, and no weaker. The sums of two chunks are equal
 * iff `2^32 (A - A') = B' - B` (A, B: the sums of CRC32 and CRC32C): when the CRC32 sums are
 * equal, the CRC32C sums must be equal too, as with two separate sums; otherwise the CRC32C sums
 * must differ by an exact multiple of 2^32 that the CRC32 sums' difference matches, which a
 * single changed row cannot do at all (|B' - B| < 2^32) and several can only by the coincidence
 * of both 32-bit hashes.
 */
function hashSums(row: string, mode: HashMode): string {
	if (mode === "crc32c") return `CAST(IFNULL(SUM((CRC32(${row}) << 32) | CRC32C(${row})), 0) AS CHAR) AS h`;
	const [h1, h2] = summableHashExprs(row, mode);
	return `CONCAT(IFNULL(SUM(${h1}), 0), ':', IFNULL(SUM(${h2}), 0)) AS h`;
}

/**
 * Counts and hashes a chunk's rows inside the database: one aggregate query over the mapped
 * columns, normalised in SQL (see `normalisedExpr`) and joined into one row string (`rowExpr`),
 * never returning rows. The hash is made of sums of two independent 32-bit (or 32 + 60-bit) row
 * hashes, so it does not depend on row order and, unlike BIT_XOR, a duplicated row or two equal
 * changes cannot cancel out.
 *
 * Without `prepared`, the table is described on this connection alone (the destination's
 * JSON-ness of columns is then not known on the source side): pass `prepareTable(...)` when
 * checksumming both sides.
 */
export async function chunkChecksum(
	conn: Queryable,
	side: Side,
	mapping: TableMapping,
	chunk: ChunkSpec,
	prepared?: PreparedTable,
): Promise<ChunkChecksum> {
	const table = prepared ?? (await cachedPrepare(conn, null, side, mapping));
	const sql = table[side];
	const where = chunkWhere(sql, chunk);
	// One pass over the chunk's rows (a range scan of the key). The row expression is written
	// twice: a derived table would be merged and evaluate it twice all the same.
	const rows = await hashQuery<RowDataPacket[]>(conn, sql, {
		sql: `SELECT COUNT(*) AS n, ${hashSums(sql.row, table.hash)} FROM ${tableSql(sql)}${where.sql}`,
		values: where.values,
	});
	const r = rows[0];
	return { rows: Number(r?.n ?? 0), hash: String(r?.h ?? "0") };
}
