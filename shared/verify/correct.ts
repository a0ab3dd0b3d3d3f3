import mysql, { type RowDataPacket } from "mysql2";
import type { KeyColumn } from "../chunking/keys.ts";
import type { ChunkKeyColumn } from "../chunking/plan.ts";
import { bindKeyValue, type KeyValue, whereClause } from "../chunking/range.ts";
import type { Connection, Pool, Queryable } from "../db/connect.ts";
import { filterQuery } from "../db/filter-mode.ts";
import { quoteId, quoteTable } from "../db/sql.ts";
import { keyMatch, normaliseKeyValue, type RowDiff } from "./diff.ts";
import { hashExprs, type PreparedTable, type SideColumn, type SideSql, tableSql } from "./normalise.ts";

/**
 * Session settings correction statements run under (first lines of a downloaded script):
 * temporal values are written as UTC text (TIMESTAMP values were read in UTC), and the
 * source's own values (zero dates, out-of-list ENUMs stored as '') are accepted as they are.
 * A fixed mode rather than the row writers' (db/session.ts `rowWriteSqlMode`), which is derived
 * from a live session: the script runs wherever its reader runs it.
 */
export const CORRECTION_SESSION = [
	"SET SESSION time_zone = '+00:00'",
	"SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION'",
];

/** How a column's value is read as a literal and matched back (see `correctionStatements`). */
function literal(c: SideColumn): string {
	const q = quoteId(c.name);
	if (c.kind === "binary") return `HEX(${q})`;
	if (c.kind === "bit") return `CAST(${q} + 0 AS CHAR)`;
	if (c.kind === "float") return `CAST(${q} * 1e0 AS CHAR)`;
	return `CAST(${q} AS CHAR)`;
}

/** The value to write for a literal read by `literal` (binary as bytes, BIT as a number). */
function writable(c: SideColumn, v: unknown): unknown {
	if (v === null || v === undefined) return null;
	if (c.kind === "binary") return Buffer.from(String(v), "hex");
	if (c.kind === "bit") return BigInt(String(v));
	return String(v);
}

/** `<expr> <=> ?` matching a literal exactly (bytes, not collation-folded). */
function matches(c: SideColumn): string {
	const lit = literal(c);
	return c.kind === "binary" || c.kind === "bit" || c.kind === "float"
		? `${lit} <=> ?`
		: `${lit} COLLATE utf8mb4_bin <=> ?`;
}

function sideKeys(key: ChunkKeyColumn[], side: "source" | "destination"): KeyColumn[] {
	return key.map((c) => {
		const k: KeyColumn = { name: side === "source" ? c.source : c.destination, kind: c.kind };
		if (c.cast) k.cast = c.cast;
		return k;
	});
}

function keyEquals(keys: KeyColumn[], values: KeyValue[]): { sql: string; values: unknown[] } {
	return {
		sql: keys
			.map((k) => `${quoteId(k.name)} = ${k.kind === "decimal" && k.cast ? `CAST(? AS ${k.cast})` : "?"}`)
			.join(" AND "),
		values: keys.map((k, i) => bindKeyValue(k.kind, values[i] as KeyValue)),
	};
}

const BATCH = 200;

type FormatValues = Parameters<typeof mysql.format>[1];

/** Current source rows for the given keys, as literals by normalised key id. */
async function sourceRows(
	source: Queryable,
	sql: SideSql,
	keys: KeyColumn[],
	rowKeys: KeyValue[][],
): Promise<Map<string, unknown[]>> {
	const out = new Map<string, unknown[]>();
	for (let i = 0; i < rowKeys.length; i += BATCH) {
		const where = whereClause(sql.filter, keyMatch(keys, rowKeys.slice(i, i + BATCH)));
		const [rows] = await filterQuery<RowDataPacket[]>(source, {
			sql: `SELECT ${keys.map((k) => quoteId(k.name)).join(", ")}, ${sql.columns.map(literal).join(", ")}
				FROM ${tableSql(sql)}${where.sql}`,
			values: where.values,
			rowsAsArray: true,
		});
		for (const r of rows as unknown as unknown[][]) {
			const id = JSON.stringify(keys.map((k, j) => normaliseKeyValue(k.kind, r[j])));
			out.set(
				id,
				r.slice(keys.length).map((v, j) => writable(sql.columns[j] as SideColumn, v)),
			);
		}
	}
	return out;
}

/**
 * Correction statements for a table's differences, built from the SOURCE's current data (read
 * now, so a row changed since the diff is written as it is now): a row missing at the
 * destination is inserted (REPLACE, or with `upsert` "update" an INSERT that updates the row
 * its key meets, which keeps the values of columns outside the comparison), a different row has its differing columns updated by key,
 * an extra row is deleted by key, and a row that no longer exists at the source is deleted.
 * Tables without a key: the missing copies of a row are inserted from the source and the
 * surplus copies deleted with every column matched (`<=>`) and `LIMIT n`. Identifiers are
 * quoted and values escaped by the driver; run with `CORRECTION_SESSION` (applyCorrections does).
 */
export async function correctionStatements(
	source: Queryable,
	destination: Queryable,
	table: PreparedTable,
	key: ChunkKeyColumn[] | null,
	diffs: RowDiff[],
	upsert: "replace" | "update" = "replace",
): Promise<string[]> {
	const src = table.source;
	const dst = table.destination;
	const target = quoteTable(dst.table);
	const columnList = dst.columns.map((c) => quoteId(c.name)).join(", ");
	const updateAll = dst.columns.map((c) => `${quoteId(c.name)} = VALUES(${quoteId(c.name)})`).join(", ");
	const insert = (verb: "INSERT" | "REPLACE", row: unknown[]) =>
		verb === "REPLACE" && upsert === "update"
			? mysql.format(`INSERT INTO ${target} (${columnList}) VALUES (?) ON DUPLICATE KEY UPDATE ${updateAll}`, [
					row,
				] as FormatValues)
			: mysql.format(`${verb} INTO ${target} (${columnList}) VALUES (?)`, [row] as FormatValues);
	const out: string[] = [];

	const keyed = diffs.filter((d) => d.key);
	if (keyed.length && key) {
		const srcKeys = sideKeys(key, "source");
		const dstKeys = sideKeys(key, "destination");
		const current = await sourceRows(
			source,
			src,
			srcKeys,
			keyed.map((d) => d.key as KeyValue[]),
		);
		for (const d of keyed) {
			const k = d.key as KeyValue[];
			const row = current.get(JSON.stringify(k));
			const where = keyEquals(dstKeys, k);
			if (!row) {
				out.push(mysql.format(`DELETE FROM ${target} WHERE ${where.sql}`, where.values as FormatValues));
			} else if (d.kind === "different" && d.columns?.length) {
				const set = d.columns.map((name) => {
					const i = src.columns.findIndex((c) => c.source === name);
					return { column: dst.columns[i] as SideColumn, value: row[i] };
				});
				out.push(
					mysql.format(
						`UPDATE ${target} SET ${set.map((s) => `${quoteId(s.column.name)} = ?`).join(", ")} WHERE ${where.sql}`,
						[...set.map((s) => s.value), ...where.values] as FormatValues,
					),
				);
			} else {
				out.push(insert("REPLACE", row));
			}
		}
	}

	for (const d of diffs.filter((x) => !x.key && x.rowHash)) {
		const [a, b] = String(d.rowHash).split(":");
		const count = Math.max(1, d.count ?? 1);
		const side = d.kind === "missing" ? src : dst;
		const [h1, h2] = hashExprs(side.row, table.hash);
		const where = whereClause(side.filter, { sql: `${h1} = ? AND ${h2} = ?`, values: [a, b] });
		const [rows] = await filterQuery<RowDataPacket[]>(d.kind === "missing" ? source : destination, {
			sql: `SELECT ${side.columns.map(literal).join(", ")} FROM ${tableSql(side)}${where.sql} LIMIT ${d.kind === "missing" ? count : 1}`,
			values: where.values,
			rowsAsArray: true,
		});
		const found = rows as unknown as unknown[][];
		if (d.kind === "missing") {
			for (const r of found)
				out.push(
					insert(
						"INSERT",
						r.map((v, j) => writable(src.columns[j] as SideColumn, v)),
					),
				);
		} else if (found[0]) {
			const r = found[0];
			out.push(
				mysql.format(
					`DELETE FROM ${target} WHERE ${dst.columns.map(matches).join(" AND ")} LIMIT ${count}`,
					r.map((v) => (v === null || v === undefined ? null : String(v))) as FormatValues,
				),
			);
		}
	}
	return out;
}

/** A downloadable script: a comment (where to run it), the session settings, then one statement per line, in one transaction. */
export function correctionScript(statements: string[], comment?: string): string {
	const head = comment ? `-- ${comment.replaceAll("\n", " ")}\n` : "";
	return head + [...CORRECTION_SESSION, "START TRANSACTION", ...statements, "COMMIT"].map((s) => `${s};\n`).join("");
}

/**
 * The same comparison seen from the other end: what the destination has and the source lacks
 * is then "missing", and correctionStatements builds the source's corrections from the
 * destination's data (pass the destination as its `source`).
 */
export function mirrored(
	table: PreparedTable,
	key: ChunkKeyColumn[] | null,
	diffs: RowDiff[],
): { table: PreparedTable; key: ChunkKeyColumn[] | null; diffs: RowDiff[] } {
	const swap = { missing: "extra", extra: "missing", different: "different" } as const;
	return {
		table: { ...table, source: table.destination, destination: table.source },
		key: key?.map((k) => ({ ...k, source: k.destination, destination: k.source })) ?? null,
		diffs: diffs.map((d) => ({ ...d, kind: swap[d.kind] })),
	};
}

function isPool(q: Queryable): q is Pool {
	return typeof (q as Pool).getConnection === "function" && typeof (q as Connection).beginTransaction !== "function";
}

/**
 * Runs correction statements at the destination in one transaction (all or nothing), under
 * `CORRECTION_SESSION`; the connection's sql_mode and time zone are restored afterwards.
 */
export async function applyCorrections(destination: Queryable, statements: string[]): Promise<{ applied: number }> {
	if (statements.length === 0) return { applied: 0 };
	const pooled = isPool(destination) ? await destination.getConnection() : null;
	const conn = (pooled ?? destination) as Connection;
	try {
		await conn.query("SET @ferry_verify_mode = @@SESSION.sql_mode, @ferry_verify_tz = @@SESSION.time_zone");
		for (const s of CORRECTION_SESSION) await conn.query(s);
		await conn.query("START TRANSACTION");
		try {
			for (const s of statements) await conn.query(s);
			await conn.query("COMMIT");
		} catch (err) {
			await conn.query("ROLLBACK").catch(() => {});
			throw err;
		} finally {
			await conn.query("SET SESSION sql_mode = @ferry_verify_mode, time_zone = @ferry_verify_tz").catch(() => {});
		}
		return { applied: statements.length };
	} finally {
		pooled?.release();
	}
}
