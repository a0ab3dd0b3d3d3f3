import type { RowDataPacket } from "mysql2";
import type { KeyColumn, Queryable } from "../copy/keys.ts";
import type { ChunkSpec } from "../copy/plan.ts";
import { rangeCondition, whereClause } from "../copy/range.ts";
import type { TableMapping } from "../model/rules.ts";
import { hashExprs, type PreparedTable, prepareOneSide, prepareTable, type SideSql, tableSql } from "./normalise.ts";

export type Side = "source" | "destination";

/** A chunk's row count and order-independent content hash on one side. */
export interface ChunkChecksum {
	rows: number;
	/** `<sum of CRC32>:<sum of CRC32C or MD5 bits>` over the normalised rows (sums, so duplicates count). */
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
 * Counts and hashes a chunk's rows inside the database: one aggregate query over the mapped
 * columns, normalised in SQL (see `normalisedExpr`), never returning rows. The hash is a pair of
 * sums of two independent 32-bit (or 32 + 60-bit) row hashes, so it does not depend on row order
 * and, unlike BIT_XOR, a duplicated row or two equal changes cannot cancel out.
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
	const [h1, h2] = hashExprs("r", table.hash);
	const [rows] = await conn.query<RowDataPacket[]>({
		sql: `SELECT COUNT(*) AS n, CAST(IFNULL(SUM(${h1}), 0) AS CHAR) AS s1, CAST(IFNULL(SUM(${h2}), 0) AS CHAR) AS s2
			FROM (SELECT ${sql.row} AS r FROM ${tableSql(sql)}${where.sql}) AS verify_rows`,
		values: where.values,
	});
	const r = rows[0];
	return { rows: Number(r?.n ?? 0), hash: `${r?.s1 ?? "0"}:${r?.s2 ?? "0"}` };
}
