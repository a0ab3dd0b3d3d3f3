import { z } from "zod";

/**
 * One object-matching rule, in the spirit of OMS's "matching rules": a database and table
 * pattern (`*` and `?` wildcards), optionally excluding, renaming, filtering rows or choosing
 * columns. Rules apply in order; the last matching rule for a table wins, so a broad include
 * can be followed by narrower exclusions or renames.
 */
export const TableRule = z
	.object({
		database: z.string().min(1).max(64),
		table: z.string().min(1).max(64).default("*"),
		exclude: z.boolean().default(false),
		renameDatabase: z.string().min(1).max(64).optional(),
		renameTable: z.string().min(1).max(64).optional(),
		/** Source column names to copy; absent means all columns. */
		columns: z.array(z.string().min(1).max(64)).min(1).optional(),
		/** Source column name -> destination column name. */
		renameColumns: z.record(z.string().min(1).max(64), z.string().min(1).max(64)).optional(),
		/**
		 * A boolean SQL expression over the source table's columns, e.g. `created_at >= '2024-01-01'`:
		 * literals, operators and deterministic functions only (shared/schema/row-filter.ts).
		 */
		where: z.string().min(1).max(4000).optional(),
	})
	.strict();
export type TableRule = z.infer<typeof TableRule>;

export const ObjectRules = z.array(TableRule).min(1);
export type ObjectRules = z.infer<typeof ObjectRules>;

export interface TableName {
	database: string;
	table: string;
}

export interface ColumnMapping {
	source: string;
	destination: string;
}

/** A source table resolved against the rules: where it goes and what of it goes there. */
export interface TableMapping {
	source: TableName;
	destination: TableName;
	/** Every copied column in source ordinal order. */
	columns: ColumnMapping[];
	/** The row filter, if any, exactly as the user wrote it (validated by `checkRowFilter`; run in FILTER_SQL_MODE). */
	where?: string;
}
