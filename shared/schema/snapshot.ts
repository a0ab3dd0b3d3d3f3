import type { ColumnMapping, TableMapping, TableName } from "../model/rules.ts";

/**
 * The source schema as read from information_schema, in plain JSON-able structures so a plan can
 * be computed in one process and stored or applied in another.
 */

export type ServerFlavor = "mariadb" | "mysql" | "tidb" | "oceanbase";

export interface ServerInfo {
	flavor: ServerFlavor;
	/** The product's own version as `major.minor.patch` (TiDB and OceanBase report theirs after a MySQL one). */
	version: string;
	/** SELECT VERSION() as the server printed it. */
	versionText: string;
}

/**
 * A column default as the DDL needs it. MariaDB's COLUMN_DEFAULT quotes string literals and
 * leaves numbers and expressions bare; MySQL leaves literals bare and flags expressions with
 * DEFAULT_GENERATED, so both are turned into this one form.
 */
export type ColumnDefault =
	/** No DEFAULT clause: a NOT NULL column without a default, AUTO_INCREMENT or generated columns. */
	| { kind: "none" }
	| { kind: "null" }
	/** A string literal (for text columns), rendered with escapeValue. */
	| { kind: "string"; value: string }
	/** A literal for a binary-string column, kept as bytes because it need not be valid text. */
	| { kind: "bytes"; hex: string }
	/** A numeric or bit literal (`5`, `-1.25`, `b'101'`), valid SQL as it stands. */
	| { kind: "number"; text: string }
	/** An expression, e.g. `current_timestamp(3)` or `uuid()`. */
	| { kind: "expression"; sql: string };

export interface ColumnSchema {
	name: string;
	/** DATA_TYPE, lower case: `int`, `varchar`, `uuid`, `geometry`... */
	dataType: string;
	/** COLUMN_TYPE: the full type as DDL, e.g. `int(10) unsigned zerofill`, `enum('a','b')`. */
	columnType: string;
	nullable: boolean;
	default: ColumnDefault;
	charset: string | null;
	collation: string | null;
	comment: string;
	generated: { kind: "virtual" | "stored"; expression: string } | null;
	autoIncrement: boolean;
	/** The ON UPDATE expression, e.g. `current_timestamp(6)`. */
	onUpdate: string | null;
	invisible: boolean;
	/** A column-level CHECK (MariaDB keeps these apart, e.g. JSON's `json_valid(`j`)`). */
	check: string | null;
}

export type IndexKind = "primary" | "unique" | "index" | "fulltext" | "spatial";

export interface IndexPart {
	column: string;
	/** The prefix length in characters (bytes for binary strings), or null for the whole column. */
	length: number | null;
	descending: boolean;
	/** A MySQL 8 functional key part, e.g. `(lower(`email`))`; `column` is empty then. */
	expression?: string;
}

export interface IndexSchema {
	name: string;
	kind: IndexKind;
	parts: IndexPart[];
	/** Only HASH is kept: MariaDB's long unique keys on BLOB/TEXT; BTREE is every engine's default. */
	hash: boolean;
	comment: string;
	/** MariaDB IGNORED, MySQL INVISIBLE: maintained but not used by the optimiser. */
	invisible: boolean;
}

export interface ForeignKeySchema {
	name: string;
	columns: string[];
	referenced: TableName;
	referencedColumns: string[];
	onUpdate: string;
	onDelete: string;
}

export interface CheckSchema {
	name: string;
	clause: string;
}

export interface TableOption {
	/** Lower case, as information_schema.TABLES.CREATE_OPTIONS prints it: `row_format`, `key_block_size`... */
	name: string;
	value: string;
}

export interface TableSchema {
	name: TableName;
	engine: string | null;
	charset: string;
	collation: string;
	comment: string;
	/** The next AUTO_INCREMENT value, as a decimal string (it can exceed 2^53). */
	autoIncrement: string | null;
	options: TableOption[];
	partitioned: boolean;
	columns: ColumnSchema[];
	/** In the server's key order: primary first, then unique, then the others. */
	indexes: IndexSchema[];
	foreignKeys: ForeignKeySchema[];
	/** Table-level CHECK constraints; column-level ones live on their column. */
	checks: CheckSchema[];
}

export interface ViewSchema {
	name: TableName;
	/** VIEW_DEFINITION: the SELECT as the server stored it, with qualified names. */
	definition: string;
	checkOption: "NONE" | "CASCADED" | "LOCAL";
	algorithm: string;
	/** The tables and views the definition reads, found by name in the definition. */
	references: TableName[];
}

export interface DatabaseSchema {
	name: string;
	charset: string;
	collation: string;
}

export interface SchemaSnapshot {
	server: ServerInfo;
	databases: DatabaseSchema[];
	tables: TableSchema[];
	views: ViewSchema[];
}

/** CURRENT_TIMESTAMP and its synonyms: the only expression defaults every MySQL-compatible server takes unparenthesised. */
export function isCurrentTimestamp(sql: string): boolean {
	return /^(current_timestamp|now|localtimestamp|localtime)(\(\d*\))?$/i.test(sql);
}

export function tableKey(t: TableName): string {
	return `${t.database}\u0000${t.table}`;
}

/**
 * The mapped columns a copy writes: every mapped column except generated ones, whose values the
 * destination computes (writing them is an error in strict mode).
 */
export function insertableColumns(mapping: TableMapping, table: TableSchema): ColumnMapping[] {
	const generated = new Set(table.columns.filter((c) => c.generated).map((c) => c.name));
	return mapping.columns.filter((c) => !generated.has(c.source));
}
