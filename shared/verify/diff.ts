import type { RowDataPacket } from "mysql2";
import type { KeyColumn, KeyKind } from "../chunking/keys.ts";
import type { ChunkKeyColumn, ChunkSpec } from "../chunking/plan.ts";
import { bindKeyValue, encodeKeyValue, type KeyValue, whereClause } from "../chunking/range.ts";
import type { Queryable } from "../db/connect.ts";
import { quoteId } from "../db/sql.ts";
import { chunkWhere, type Side, sideKeyColumns } from "./checksum.ts";
import { hashQuery } from "./hash-query.ts";
import { hashExprs, type PreparedTable, type SideSql, tableSql } from "./normalise.ts";

/** One row that differs between source and destination. */
export interface RowDiff {
	/** missing: at the destination; extra: at the destination; different: in `columns`. */
	kind: "missing" | "extra" | "different";
	/**
	 * The row's copy-key values in key order (see `TableVerification.key`), as chunk boundaries
	 * carry them (text; base64 for binary keys); null for a table without a key.
	 */
	key: KeyValue[] | null;
	/** Source names of the columns that differ (`different` only). */
	columns?: string[];
	/** For a table without a key: the row's hash pair and how many copies are missing or extra. */
	rowHash?: string;
	count?: number;
}

/** Key values as the driver returns them, in the form shared by both sides and by corrections. */
export function normaliseKeyValue(kind: KeyKind, value: unknown): KeyValue {
	const text = encodeKeyValue(kind, value);
	if ((kind === "decimal" || kind === "temporal") && text.includes(".")) return text.replace(/\.?0+$/, "");
	return text;
}

/** `(k1 = ? AND k2 = ?) OR ...` (or `k IN (...)`) matching the given keys exactly. */
export function keyMatch(columns: KeyColumn[], keys: KeyValue[][]): { sql: string; values: unknown[] } {
	const values: unknown[] = [];
	const ph = (c: KeyColumn) => (c.kind === "decimal" && c.cast ? `CAST(? AS ${c.cast})` : "?");
	const only = columns[0];
	if (columns.length === 1 && only) {
		for (const k of keys) values.push(bindKeyValue(only.kind, k[0] as KeyValue));
		return { sql: `${quoteId(only.name)} IN (${keys.map(() => ph(only)).join(", ")})`, values };
	}
	const parts = keys.map((k) => {
		const eq = columns.map((c, i) => {
			values.push(bindKeyValue(c.kind, k[i] as KeyValue));
			return `${quoteId(c.name)} = ${ph(c)}`;
		});
		return `(${eq.join(" AND ")})`;
	});
	return { sql: `(${parts.join(" OR ")})`, values };
}

const BATCH = 200;

/** Row hashes of a range chunk on one side, by normalised key. */
async function rowHashes(
	conn: Queryable,
	sql: SideSql,
	table: PreparedTable,
	chunk: ChunkSpec,
): Promise<Map<string, { key: KeyValue[]; hash: string }>> {
	const keys = sideKeyColumns(chunk, sql.side);
	const where = chunkWhere(sql, chunk);
	const [h1, h2] = hashExprs(sql.row, table.hash);
	const rows = await hashQuery<RowDataPacket[]>(conn, sql, {
		sql: `SELECT ${keys.map((k) => quoteId(k.name)).join(", ")}, CONCAT(${h1}, ':', ${h2})
			FROM ${tableSql(sql)}${where.sql}`,
		values: where.values,
		rowsAsArray: true,
	});
	const out = new Map<string, { key: KeyValue[]; hash: string }>();
	for (const r of rows as unknown as unknown[][]) {
		const key = keys.map((k, i) => normaliseKeyValue(k.kind, r[i]));
		out.set(JSON.stringify(key), { key, hash: String(r[keys.length]) });
	}
	return out;
}

/** Per-column digests of the given rows on one side, by normalised key. */
async function columnDigests(
	conn: Queryable,
	sql: SideSql,
	keys: KeyColumn[],
	rowKeys: KeyValue[][],
): Promise<Map<string, string[]>> {
	const out = new Map<string, string[]>();
	for (let i = 0; i < rowKeys.length; i += BATCH) {
		const match = keyMatch(keys, rowKeys.slice(i, i + BATCH));
		const where = whereClause(sql.filter, match);
		const rows = await hashQuery<RowDataPacket[]>(conn, sql, {
			sql: `SELECT ${keys.map((k) => quoteId(k.name)).join(", ")}, ${sql.columns.map((c) => `MD5(${c.item})`).join(", ")}
				FROM ${tableSql(sql)}${where.sql}`,
			values: where.values,
			rowsAsArray: true,
		});
		for (const r of rows as unknown as unknown[][]) {
			const key = keys.map((k, j) => normaliseKeyValue(k.kind, r[j]));
			out.set(JSON.stringify(key), r.slice(keys.length).map(String));
		}
	}
	return out;
}

const BUCKETS = 1024;

/** For a table without a key: count per row hash, within the buckets that differ. */
async function multiset(conn: Queryable, sql: SideSql, table: PreparedTable, buckets: number[] | null) {
	const [h1, h2] = hashExprs(sql.row, table.hash);
	const where = whereClause(sql.filter, null);
	const inner = `SELECT ${h1} AS h1, ${h2} AS h2 FROM ${tableSql(sql)}${where.sql}`;
	// MD5's hex digits are text: summed exactly as an integer, not as a double
	const sum2 = table.hash === "md5" ? "CAST(h2 AS UNSIGNED)" : "h2";
	if (!buckets) {
		const rows = await hashQuery<RowDataPacket[]>(conn, sql, {
			sql: `SELECT MOD(h1, ${BUCKETS}) AS b, COUNT(*) AS n, CAST(SUM(h1) AS CHAR) AS s1, CAST(SUM(${sum2}) AS CHAR) AS s2
			FROM (${inner}) AS verify_rows GROUP BY b`,
		});
		return new Map(rows.map((r) => [String(r.b), `${r.n}:${r.s1}:${r.s2}`]));
	}
	const rows = await hashQuery<RowDataPacket[]>(conn, sql, {
		sql: `SELECT CONCAT(h1, ':', h2) AS h, COUNT(*) AS n FROM (${inner}) AS verify_rows
		WHERE MOD(h1, ${BUCKETS}) IN (${buckets.join(", ")}) GROUP BY h1, h2`,
	});
	return new Map(rows.map((r) => [String(r.h), String(r.n)]));
}

async function diffKeyless(source: Queryable, destination: Queryable, table: PreparedTable): Promise<RowDiff[]> {
	const [a, b] = await Promise.all([
		multiset(source, table.source, table, null),
		multiset(destination, table.destination, table, null),
	]);
	const buckets = [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k)).map(Number);
	if (buckets.length === 0) return [];
	const [x, y] = await Promise.all([
		multiset(source, table.source, table, buckets),
		multiset(destination, table.destination, table, buckets),
	]);
	const out: RowDiff[] = [];
	for (const h of new Set([...x.keys(), ...y.keys()])) {
		const n = Number(x.get(h) ?? 0) - Number(y.get(h) ?? 0);
		if (n > 0) out.push({ kind: "missing", key: null, rowHash: h, count: n });
		else if (n < 0) out.push({ kind: "extra", key: null, rowHash: h, count: -n });
	}
	return out;
}

/**
 * Narrows a chunk whose checksums differ down to rows and columns. A range chunk's row hashes
 * (at most about `chunkRows` per side) are fetched from both sides at once and joined by key;
 * rows present on both sides with different hashes are compared column by column (digests of
 * the same normalised values). A table without a key is compared as a multiset of row hashes:
 * per-bucket sums first, then the hash counts of the differing buckets only.
 */
export async function diffChunk(
	source: Queryable,
	destination: Queryable,
	table: PreparedTable,
	chunk: ChunkSpec,
): Promise<RowDiff[]> {
	if (chunk.kind !== "range") return diffKeyless(source, destination, table);
	const [a, b] = await Promise.all([
		rowHashes(source, table.source, table, chunk),
		rowHashes(destination, table.destination, table, chunk),
	]);
	const out: RowDiff[] = [];
	const changed: KeyValue[][] = [];
	for (const [id, s] of a) {
		const d = b.get(id);
		if (!d) out.push({ kind: "missing", key: s.key });
		else if (d.hash !== s.hash) changed.push(s.key);
	}
	for (const [id, d] of b) if (!a.has(id)) out.push({ kind: "extra", key: d.key });
	if (changed.length) out.push(...(await compareColumns(source, destination, table, chunk.key.columns, changed)));
	return out;
}

/** Compares the given rows column by column; rows that now match (changed meanwhile) are dropped. */
export async function compareColumns(
	source: Queryable,
	destination: Queryable,
	table: PreparedTable,
	key: ChunkKeyColumn[],
	rowKeys: KeyValue[][],
): Promise<RowDiff[]> {
	const keys = (s: Side): KeyColumn[] =>
		key.map((c) => {
			const k: KeyColumn = { name: s === "source" ? c.source : c.destination, kind: c.kind };
			if (c.cast) k.cast = c.cast;
			return k;
		});
	const side = (s: Side) => columnDigests(s === "source" ? source : destination, table[s], keys(s), rowKeys);
	const [a, b] = await Promise.all([side("source"), side("destination")]);
	const out: RowDiff[] = [];
	for (const key of rowKeys) {
		const id = JSON.stringify(key);
		const x = a.get(id);
		const y = b.get(id);
		if (!x && !y) continue;
		if (!x) out.push({ kind: "extra", key });
		else if (!y) out.push({ kind: "missing", key });
		else {
			const columns = table.source.columns.filter((_, i) => x[i] !== y[i]).map((c) => c.source);
			if (columns.length) out.push({ kind: "different", key, columns });
		}
	}
	return out;
}

/**
 * Re-checks reported differences (e.g. after incremental replay has passed them) and returns
 * only those that persist, as they are now: keyed rows are compared again by key, column by
 * column; a table without a key is compared again as a multiset.
 */
export async function recheckDifferences(
	source: Queryable,
	destination: Queryable,
	table: PreparedTable,
	key: ChunkKeyColumn[] | null,
	diffs: RowDiff[],
): Promise<RowDiff[]> {
	if (diffs.length === 0) return [];
	if (!key) return diffKeyless(source, destination, table);
	const rowKeys = diffs.filter((d) => d.key).map((d) => d.key as KeyValue[]);
	return compareColumns(source, destination, table, key, rowKeys);
}
