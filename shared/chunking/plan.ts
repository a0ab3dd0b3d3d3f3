import type { RowDataPacket } from "mysql2";
import { CopyError } from "../copy/errors.ts";
import type { Queryable } from "../db/connect.ts";
import { filterQuery } from "../db/filter-mode.ts";
import { type ColumnInfo, describeColumns } from "../db/introspect.ts";
import { qualifiedName, quoteId, quoteTable } from "../db/sql.ts";
import type { TableMapping, TableName } from "../model/rules.ts";
import { type CopyKey, findCopyKey, type KeyKind } from "./keys.ts";
import { encodeKeyValue, type KeyValue, keyOrder, rangeCondition, whereClause } from "./range.ts";

/** A copy-key column as a chunk carries it: its name on both sides and how its values compare. */
export interface ChunkKeyColumn {
	source: string;
	destination: string;
	kind: KeyKind;
	/** For decimal keys, the type boundaries are cast to, e.g. `DECIMAL(20,4)`. */
	cast?: string;
}

interface ChunkBase {
	/**
	 * The chunk's position in its table's plan, from 0. Planning the same table again yields the
	 * same chunks with the same indexes as long as its keys did not change (always for dense
	 * integer keys, whose boundaries are arithmetic); persist the plan rather than re-planning.
	 */
	index: number;
	source: TableName;
	destination: TableName;
}

/**
 * The rows of a table whose copy key lies in [lower, upper): `lower` null means from the first
 * row, `upper` null means to the last row (and past it: rows inserted after planning still fall
 * in the last chunk). Boundaries are JSON-safe strings, base64 for binary key columns.
 */
export interface RangeChunk extends ChunkBase {
	kind: "range";
	key: { index: string; columns: ChunkKeyColumn[] };
	lower: KeyValue[] | null;
	upper: KeyValue[] | null;
}

/**
 * A whole table in one chunk, for a table without a usable copy key. Without a unique NOT NULL
 * key there is no stable order to split on (a table scan's order, or OFFSET over it, can change
 * under concurrent writes and then skip or repeat rows), and no way to find at the destination
 * which rows a chunk wrote. Idempotency comes instead from emptying the destination table in the
 * same transaction as the first batch of the load.
 */
export interface WholeTableChunk extends ChunkBase {
	kind: "whole";
	/** Why the table is not split, e.g. "no primary key or unique NOT NULL key". */
	reason: string;
}

export type ChunkSpec = RangeChunk | WholeTableChunk;

export interface PlanOptions {
	/** Rows per chunk (the most a chunk holds; sparse stepped chunks hold fewer). */
	chunkRows: number;
	/**
	 * `step` cuts an integer key's MIN..MAX span arithmetically (instant, but chunks get emptier
	 * the sparser the key); `walk` finds each boundary with `ORDER BY key LIMIT 1 OFFSET chunkRows`
	 * (one pass over the key index, chunks exactly full); `auto` (the default) steps a
	 * single-column integer key when its span is at most twice the estimated row count, else walks.
	 */
	strategy?: "auto" | "step" | "walk";
	/** Source columns, if already described (saves a query). */
	columns?: ColumnInfo[];
}

/** How a table will be chunked, before any chunk is produced (for progress and logs). */
export interface TablePlan {
	key: CopyKey | null;
	/** Why no key could be used, when the table is copied whole. */
	reason?: string;
	strategy: "step" | "walk" | "whole";
	/** The server's row estimate (information_schema; InnoDB's is approximate). */
	estimatedRows: number;
	/** For `step`: the key's MIN and MAX (absent for an empty table) and the number of chunks. */
	min?: string;
	max?: string;
	chunks?: number;
}

function chunkKeyColumns(key: CopyKey, mapping: TableMapping): ChunkKeyColumn[] {
	return key.columns.map((c) => {
		const m = mapping.columns.find((x) => x.source.toLowerCase() === c.name.toLowerCase());
		const out: ChunkKeyColumn = {
			source: c.name,
			destination: m?.destination ?? c.name,
			kind: c.kind,
		};
		if (c.cast) out.cast = c.cast;
		return out;
	});
}

async function estimatedRows(conn: Queryable, table: TableName): Promise<number> {
	const [rows] = await conn.query<RowDataPacket[]>(
		"SELECT TABLE_ROWS AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
		[table.database, table.table],
	);
	return Number(rows[0]?.n ?? 0);
}

/**
 * Picks the copy key of a mapped table and how it will be cut into chunks: for a single integer
 * key, its MIN and MAX (instant, from the index) decide whether to step (the span is at most
 * twice the estimated row count, or fits one chunk) or to walk.
 */
export async function describePlan(conn: Queryable, mapping: TableMapping, options: PlanOptions): Promise<TablePlan> {
	const chunkRows = Math.floor(options.chunkRows);
	if (!(chunkRows >= 1)) {
		throw new CopyError(`chunkRows must be a positive integer, not ${options.chunkRows}`, "BAD_CHUNK");
	}
	const columns = options.columns ?? (await describeColumns(conn, mapping.source));
	if (columns.length === 0) {
		throw new CopyError(`source table ${qualifiedName(mapping.source)} does not exist`, "SOURCE_TABLE_MISSING");
	}
	const { key, unusable } = await findCopyKey(conn, mapping.source, {
		columns,
		usableColumns: mapping.columns.map((c) => c.source),
	});
	const estimate = await estimatedRows(conn, mapping.source);
	if (!key) {
		const reason = unusable.length
			? `no usable key: ${unusable.map((u) => `${u.index}: ${u.reason}`).join("; ")}`
			: "no primary key or unique NOT NULL key";
		return { key: null, reason, strategy: "whole", estimatedRows: estimate };
	}
	const strategy = options.strategy ?? "auto";
	const first = key.columns[0];
	const steppable = key.columns.length === 1 && first?.kind === "integer";
	if (strategy === "step" && !steppable) {
		throw new CopyError(
			`table ${qualifiedName(mapping.source)} cannot be stepped: its copy key ${key.index} is not a single integer column`,
			"BAD_CHUNK",
		);
	}
	if (strategy === "walk" || !steppable || !first) return { key, strategy: "walk", estimatedRows: estimate };
	const column = quoteId(first.name);
	const [rows] = await conn.query<RowDataPacket[]>(
		`SELECT CAST(MIN(${column}) AS CHAR) AS lo, CAST(MAX(${column}) AS CHAR) AS hi FROM ${quoteTable(mapping.source)}`,
	);
	const lo = rows[0]?.lo;
	const hi = rows[0]?.hi;
	if (lo == null || hi == null) return { key, strategy: "step", estimatedRows: estimate, chunks: 1 };
	const span = BigInt(String(hi)) - BigInt(String(lo)) + 1n;
	const step = BigInt(chunkRows);
	const dense = span <= step || span <= 2n * BigInt(Math.max(estimate, 0));
	if (strategy !== "step" && !dense) return { key, strategy: "walk", estimatedRows: estimate };
	const chunks = Number((span + step - 1n) / step);
	return { key, strategy: "step", estimatedRows: estimate, min: String(lo), max: String(hi), chunks };
}

/**
 * Cuts a mapped source table into chunks over its copy key, yielding each as soon as it is
 * found so that memory stays flat however large the table. The chunks cover the whole key space
 * without overlap (the first open below, the last open above). The row filter is applied when
 * walking so that walked chunks hold `chunkRows` copied rows each; stepped chunks ignore it.
 */
export async function* planChunks(
	conn: Queryable,
	mapping: TableMapping,
	options: PlanOptions,
): AsyncGenerator<ChunkSpec, void, undefined> {
	const plan = await describePlan(conn, mapping, options);
	const chunkRows = Math.floor(options.chunkRows);
	const base = { source: mapping.source, destination: mapping.destination };
	if (!plan.key) {
		yield {
			...base,
			index: 0,
			kind: "whole",
			reason: plan.reason ?? "no copy key",
		};
		return;
	}
	const key = plan.key;
	const keyColumns = chunkKeyColumns(key, mapping);
	const chunk = (index: number, lower: KeyValue[] | null, upper: KeyValue[] | null): RangeChunk => ({
		...base,
		index,
		kind: "range",
		key: { index: key.index, columns: keyColumns },
		lower,
		upper,
	});
	const table = quoteTable(mapping.source);

	if (plan.strategy === "step") {
		if (plan.min === undefined || plan.max === undefined) {
			yield chunk(0, null, null);
			return;
		}
		const min = BigInt(plan.min);
		const max = BigInt(plan.max);
		const step = BigInt(chunkRows);
		let index = 0;
		let lower: bigint | null = null;
		for (let next = min + step; next <= max; next += step) {
			yield chunk(index++, lower === null ? null : [lower.toString()], [next.toString()]);
			lower = next;
		}
		yield chunk(index, lower === null ? null : [lower.toString()], null);
		return;
	}

	// Walk: each boundary is the key of the row `chunkRows` past the previous boundary, found and
	// compared by the server itself, so collations, padding and signedness are the column's own.
	const select = key.columns.map((c) => quoteId(c.name)).join(", ");
	const order = keyOrder(key.columns);
	let lower: KeyValue[] | null = null;
	let index = 0;
	for (;;) {
		const where = whereClause(mapping.where, rangeCondition(key.columns, lower, null));
		const [rows] = await filterQuery<RowDataPacket[]>(conn, {
			sql: `SELECT ${select} FROM ${table}${where.sql} ORDER BY ${order} LIMIT 1 OFFSET ${chunkRows}`,
			values: where.values,
			rowsAsArray: true,
			supportBigNumbers: true,
			bigNumberStrings: true,
			dateStrings: true,
		});
		const row = rows[0] as unknown as unknown[] | undefined;
		if (!row) {
			yield chunk(index, lower, null);
			return;
		}
		const upper = key.columns.map((c, i) => encodeKeyValue(c.kind, row[i]));
		yield chunk(index++, lower, upper);
		lower = upper;
	}
}

/** Collects a table's chunks into an array (for small tables and tests). */
export async function planAllChunks(
	conn: Queryable,
	mapping: TableMapping,
	options: PlanOptions,
): Promise<ChunkSpec[]> {
	const out: ChunkSpec[] = [];
	for await (const c of planChunks(conn, mapping, options)) out.push(c);
	return out;
}
