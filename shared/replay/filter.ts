import type { RowDataPacket } from "mysql2";
import type { RowChange, RowImage, Value } from "../capture/change.ts";
import type { Connection, Pool } from "../db/connect.ts";
import { filterQuery } from "../db/filter-mode.ts";
import { type ColumnInfo, describeColumns } from "../db/introspect.ts";
import { escapeValue, qualifiedName, quoteId } from "../db/sql.ts";
import { APPROXIMATE_TYPES, DECIMAL_TYPES, INTEGER_TYPES, TEXT_TYPES } from "../db/types.ts";
import type { TableMapping } from "../model/rules.ts";
import { tableKey } from "../schema/snapshot.ts";
import { literal } from "./literals.ts";
import { ReplayError } from "./replay-error.ts";

/**
 * Row filters on changes, decided exactly as the full copy decided them: by the SOURCE server,
 * evaluating the user's expression over the row's values. The copy ran
 * `SELECT … FROM t WHERE (filter)`; here each image becomes a row of a derived table named like
 * the source table, whose columns carry the source column names and the source column types
 * (DECIMAL and integers as exact numeric literals, FLOAT/DOUBLE as doubles, temporal values cast
 * to the column's type and precision, text converted to the column's character set and
 * collation, binary as bytes), and the server evaluates `SELECT (filter) FROM (…) AS t`. So
 * comparisons, collations, functions and time zone (the session's, UTC as in the copy) behave as
 * they did in the copy. Images are evaluated in batches, one query per table per batch.
 *
 * The query runs in FILTER_SQL_MODE, like the copy's read. Known limit: an ENUM is compared by
 * its text, not its index (`status = 1` differs). Filters that read the clock (NOW()) are
 * refused by the rule check (shared/schema/row-filter.ts).
 */

const ROWS_PER_QUERY = 200;
const ORDER_COLUMN = "__ferry_row";

/** Types whose values are characters in the column's character set. */
const CHARACTER_TYPES = new Set(["char", "varchar", ...TEXT_TYPES, "enum", "set", "json"]);

function fractionDigits(columnType: string): number {
	const m = /\((\d)\)/.exec(columnType);
	return m ? Number(m[1]) : 0;
}

/** A value as an SQL expression of the source column's type. */
export function sourceLiteral(column: ColumnInfo | undefined, v: Value | undefined): string {
	if (v === undefined) return "NULL";
	if (!column) return v === null ? "NULL" : escapeValue(v);
	const t = column.dataType;
	if (INTEGER_TYPES.has(t)) return literal("integer", v);
	if (DECIMAL_TYPES.has(t)) return literal("decimal", v);
	if (APPROXIMATE_TYPES.has(t)) return literal("float", v);
	switch (t) {
		case "bit":
			return literal("bit", v);
		case "date":
			return `CAST(${literal("other", v)} AS DATE)`;
		case "datetime":
		case "timestamp":
			return `CAST(${literal("other", v)} AS DATETIME(${fractionDigits(column.columnType)}))`;
		case "time":
			return `CAST(${literal("other", v)} AS TIME(${fractionDigits(column.columnType)}))`;
	}
	if (CHARACTER_TYPES.has(t) && column.charset && column.charset !== "binary") {
		const value = Buffer.isBuffer(v) ? escapeValue(v) : literal("other", v);
		const collate = column.collation ? ` COLLATE ${quoteId(column.collation)}` : "";
		return `CONVERT(${value} USING ${quoteId(column.charset)})${collate}`;
	}
	return literal("other", v);
}

/** Evaluates tables' row filters on the source server, in batches. */
export class RowFilter {
	private readonly columns = new Map<string, Promise<ColumnInfo[]>>();

	constructor(private readonly source: Pool | Connection) {}

	/** Forgets the source column types (after DDL). */
	invalidate(): void {
		this.columns.clear();
	}

	private describe(mapping: TableMapping): Promise<ColumnInfo[]> {
		const k = tableKey(mapping.source);
		let p = this.columns.get(k);
		if (!p) {
			p = describeColumns(this.source, mapping.source);
			p.catch(() => this.columns.delete(k));
			this.columns.set(k, p);
		}
		return p;
	}

	/** For each image, whether it passes `mapping.where` (true for all when the mapping has none). */
	async evaluate(mapping: TableMapping, images: RowImage[]): Promise<boolean[]> {
		const where = mapping.where?.trim();
		if (!where || images.length === 0) return images.map(() => true);
		const described = await this.describe(mapping);
		const byName = new Map(described.map((c) => [c.name.toLowerCase(), c]));
		const out: boolean[] = new Array(images.length).fill(false);
		// Images of one table share their column set, except across a DDL: grouped by it.
		const groups = new Map<string, number[]>();
		images.forEach((image, i) => {
			const sig = Object.keys(image).join("\u0000");
			const list = groups.get(sig);
			if (list) list.push(i);
			else groups.set(sig, [i]);
		});
		for (const indexes of groups.values()) {
			const names = Object.keys(images[indexes[0] as number] as RowImage);
			const cols = names.map((n) => byName.get(n.toLowerCase()));
			for (let start = 0; start < indexes.length; start += ROWS_PER_QUERY) {
				const slice = indexes.slice(start, start + ROWS_PER_QUERY);
				const rows = slice.map((index, j) => {
					const image = images[index] as RowImage;
					const values = names.map((n, c) => {
						const v = sourceLiteral(cols[c], image[n]);
						return j === 0 ? `${v} AS ${quoteId(n)}` : v;
					});
					return `SELECT ${j}${j === 0 ? ` AS ${quoteId(ORDER_COLUMN)}` : ""}${values.length ? ", " : ""}${values.join(", ")}`;
				});
				// The filter goes on lines of its own so that a trailing `-- comment` cannot swallow the rest.
				const sql = `SELECT (\n${where}\n) IS TRUE AS ok FROM (${rows.join(" UNION ALL ")}) AS ${quoteId(mapping.source.table)} ORDER BY ${quoteId(ORDER_COLUMN)}`;
				let result: RowDataPacket[];
				try {
					[result] = await filterQuery<RowDataPacket[]>(this.source, { sql });
				} catch (err) {
					const e = err as { sqlMessage?: string; message?: string };
					throw new ReplayError(
						`row filter of ${qualifiedName(mapping.source)} cannot be evaluated on the source: ${e.sqlMessage ?? e.message ?? String(err)}`,
						"FILTER_FAILED",
						{ cause: err },
					);
				}
				slice.forEach((index, j) => {
					const v = result[j]?.ok;
					out[index] = Number(v) === 1;
				});
			}
		}
		return out;
	}
}

/**
 * Routes a change through its table's row filter, given whether its before and after images
 * pass: an update that moves a row into the filter becomes an insert, one that moves it out a
 * delete; a change of rows outside the filter on both sides is dropped (null).
 */
export function routeChange(change: RowChange, beforePasses: boolean, afterPasses: boolean): RowChange | null {
	switch (change.kind) {
		case "insert":
			return afterPasses ? change : null;
		case "delete":
			return beforePasses ? change : null;
		case "update":
			if (beforePasses && afterPasses) return change;
			if (afterPasses) return { kind: "insert", table: change.table, after: change.after };
			if (beforePasses) return { kind: "delete", table: change.table, before: change.before };
			return null;
	}
}
