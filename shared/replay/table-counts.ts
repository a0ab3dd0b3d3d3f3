import type { DdlChange, RowChange } from "../capture/change.ts";

/*
 * What replay did to each table, as AWS DMS's table statistics count it: inserts, updates,
 * deletes and DDL statements. The applier counts a group's changes once it commits; the
 * replication task keeps the totals in its stream's status item, so they are bounded.
 */

export interface TableChangeCounts {
	inserts: number;
	updates: number;
	deletes: number;
	ddl: number;
}

/** Counts by source table, `database.table`. */
export type TableCounts = Record<string, TableChangeCounts>;

/** Tables counted one by one; the rest add up under OTHER_TABLES (the status item must stay small). */
export const MAX_COUNTED_TABLES = 1000;
export const OTHER_TABLES = "(other tables)";

const zero = (): TableChangeCounts => ({ inserts: 0, updates: 0, deletes: 0, ddl: 0 });

function entry(into: TableCounts, table: string): TableChangeCounts {
	let key = table;
	if (!(key in into) && Object.keys(into).length >= MAX_COUNTED_TABLES) key = OTHER_TABLES;
	const counts = into[key] ?? zero();
	into[key] = counts;
	return counts;
}

const FIELD = { insert: "inserts", update: "updates", delete: "deletes" } as const;

export function countRows(into: TableCounts, changes: readonly RowChange[]): void {
	// Consecutive changes mostly share their table object (one rows event): its entry is looked up once.
	let table: RowChange["table"] | undefined;
	let counts: TableChangeCounts | undefined;
	for (const c of changes) {
		if (c.table !== table || !counts) {
			table = c.table;
			counts = entry(into, `${c.table.database}.${c.table.table}`);
		}
		counts[FIELD[c.kind]] += 1;
	}
}

const TABLE_DDL =
	/^\s*(?:CREATE|ALTER|DROP|RENAME|TRUNCATE)\s+(?:TEMPORARY\s+)?TABLE\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?(`[^`]+`|\w+)(?:\s*\.\s*(`[^`]+`|\w+))?/i;
const unquote = (name: string) => name.replace(/^`|`$/g, "");

/** A DDL statement counts for the table it names first, or for `database.*` when it names none (a view, a routine, a database). */
export function countDdl(into: TableCounts, change: DdlChange): void {
	const m = TABLE_DDL.exec(change.sql);
	const [database, table] = !m?.[1] ? [change.database, "*"] : m[2] ? [m[1], m[2]] : [change.database, m[1]];
	entry(into, `${unquote(database)}.${unquote(table)}`).ddl += 1;
}

/** Adds `from` into `into` (the bound kept), and returns `into`. */
export function addCounts(into: TableCounts, from: TableCounts | undefined): TableCounts {
	for (const [table, c] of Object.entries(from ?? {})) {
		const e = entry(into, table);
		e.inserts += c.inserts;
		e.updates += c.updates;
		e.deletes += c.deletes;
		e.ddl += c.ddl;
	}
	return into;
}
