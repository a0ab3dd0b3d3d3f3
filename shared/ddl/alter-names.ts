import { type ColumnMapping, lower } from "../model/rules.ts";

/**
 * The names one ALTER TABLE's clauses have dropped, added or renamed so far: for MariaDB's
 * IF [NOT] EXISTS on each clause, and to read a column name as the statement found the table.
 */
export class ClauseNames {
	/** Names earlier clauses of the statement drop, add or rename, by namespace (lower case). */
	readonly touched = { column: new Set<string>(), index: new Set<string>(), constraint: new Set<string>() };
	/** The table's columns as the statement found them (clauses name them so), to their entry now. */
	readonly before = new Map<string, ColumnMapping>();

	constructor(
		columns: readonly ColumnMapping[],
		private readonly mariadb: boolean,
	) {
		for (const c of columns) this.before.set(lower(c.source), c);
	}

	/**
	 * MariaDB's IF [NOT] EXISTS for a clause on `name`, which makes running the statement again
	 * harmless. The server checks it against the table as it was before the statement, so a
	 * clause whose name an earlier clause changed goes without: it would be skipped.
	 */
	exists(kind: keyof ClauseNames["touched"], words: " IF EXISTS" | " IF NOT EXISTS", ...names: string[]): string {
		const free = names.every((n) => !this.touched[kind].has(lower(n)));
		for (const n of names) this.touched[kind].add(lower(n));
		return this.mariadb && free ? words : "";
	}

	/** A column as the statement's clauses name it: one of the table's columns before the statement (`columns`: the mapping's now). */
	existing(name: string, columns: readonly ColumnMapping[]): ColumnMapping | undefined {
		const entry = this.before.get(lower(name));
		return entry && columns.includes(entry) ? entry : undefined;
	}
}
