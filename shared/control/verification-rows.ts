import type { RowDataPacket } from "mysql2";
import type { KeyColumn } from "../chunking/keys.ts";
import type { Context } from "../context.ts";
import type { Queryable } from "../db/connect.ts";
import { filterQuery } from "../db/filter-mode.ts";
import { quoteId } from "../db/sql.ts";
import { conflict, invalid, notFound } from "../errors.ts";
import { fromTruth, tableDiffs } from "../scheduler/verification-results.ts";
import { withConnections } from "../state/datasources.ts";
import { getProject } from "../state/projects.ts";
import { keyMatch, normaliseKeyValue, type RowDiff } from "../verify/diff.ts";
import { prepareTable, type SideSql, tableSql } from "../verify/normalise.ts";

/** One difference with the row as each side holds it now (null: the side has no such row). */
export interface DifferenceRow extends RowDiff {
	source: (string | null)[] | null;
	destination: (string | null)[] | null;
}

export interface DifferenceRows {
	run: number;
	table: string;
	destination: string;
	/** Source names of the compared columns, in the order of each row's values. */
	columns: string[];
	/** Source names of the key columns (a difference's `key` is in this order). */
	key: string[];
	rows: DifferenceRow[];
	/** More differences were listed than are shown here. */
	more: boolean;
}

/** At most this many rows a page: a person reads them, a download has them all (keys only). */
const MAX_ROWS = 100;

/** A value as text a person reads: binary as 0x hex, times as the server wrote them. */
function shown(v: unknown): string | null {
	if (v === null || v === undefined) return null;
	if (Buffer.isBuffer(v)) return `0x${v.toString("hex")}`;
	if (v instanceof Date) return v.toISOString();
	if (typeof v === "object") return JSON.stringify(v);
	return String(v);
}

async function sideRows(
	conn: Queryable,
	sql: SideSql,
	keys: KeyColumn[],
	rowKeys: RowDiff["key"][],
): Promise<Map<string, (string | null)[]>> {
	const out = new Map<string, (string | null)[]>();
	const wanted = rowKeys.filter((k): k is NonNullable<RowDiff["key"]> => k !== null);
	if (wanted.length === 0) return out;
	const match = keyMatch(keys, wanted);
	const [rows] = await filterQuery<RowDataPacket[]>(conn, {
		sql: `SELECT ${keys.map((k) => quoteId(k.name)).join(", ")}, ${sql.columns.map((c) => quoteId(c.name)).join(", ")}
			FROM ${tableSql(sql)} WHERE ${match.sql}`,
		values: match.values,
		rowsAsArray: true,
	});
	for (const r of rows as unknown as unknown[][]) {
		const key = keys.map((k, i) => normaliseKeyValue(k.kind, r[i]));
		out.set(JSON.stringify(key), r.slice(keys.length).map(shown));
	}
	return out;
}

/**
 * The last run's differences of one table (source `database.table`) with each row's values at
 * both ends as they are now: what the diff viewer puts side by side. A table without a key has
 * no row to look up (its differences are row hashes): its rows come back without values.
 */
export async function differenceRows(ctx: Context, id: string, table: string | undefined): Promise<DifferenceRows> {
	if (!table) throw invalid("MISSING_TABLE", "name the table: ?table=database.table (its source name)");
	const project = await getProject(ctx, id);
	const run = project.verification;
	if (!run) throw conflict("NOT_VERIFIED", `project '${project.name}' has not been verified yet`);
	const found = (await tableDiffs(ctx, project, run)).find((t) => t.result.table === table);
	if (!found) throw notFound("verified table", table);
	const listed = found.differences.slice(0, MAX_ROWS);
	const keyColumns = found.key ?? [];
	const side = (s: "source" | "destination"): KeyColumn[] =>
		keyColumns.map((c) => ({ name: c[s], kind: c.kind, ...(c.cast ? { cast: c.cast } : {}) }));
	const { columns, values } = await withConnections(ctx, project, async (source, destination) => {
		const prepared = await prepareTable(source, destination, found.table.mapping);
		const keys = listed.map((d) => d.key);
		const [a, b] = found.key
			? await Promise.all([
					sideRows(source, prepared.source, side("source"), keys),
					sideRows(destination, prepared.destination, side("destination"), keys),
				])
			: [new Map(), new Map()];
		return { columns: prepared.source.columns.map((c) => c.source), values: { source: a, destination: b } };
	});
	const at = (m: Map<string, (string | null)[]>, d: RowDiff) => (d.key ? (m.get(JSON.stringify(d.key)) ?? null) : null);
	return {
		run: run.run,
		table: found.result.table,
		destination: found.result.destination,
		columns,
		key: keyColumns.map((c) => c.source),
		rows: listed.map((d) => ({
			...fromTruth(run, d),
			source: at(values.source, d),
			destination: at(values.destination, d),
		})),
		more: found.differences.length > listed.length || found.result.truncated,
	};
}
