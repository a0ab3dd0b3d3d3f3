import mysql, { type ResultSetHeader, type RowDataPacket } from "mysql2";
import type { RowChange, RowImage, Value } from "../capture/change.ts";
import type { Connection, Pool } from "../db/connect.ts";
import { escapeValue, qualifiedName, quoteId, quoteTable } from "../db/sql.ts";
import type { TableMapping, TableName } from "../model/rules.ts";
import type { TableSchema } from "../schema/snapshot.ts";

/**
 * Turning row changes into destination SQL.
 *
 * Values are written as SQL literals chosen per destination column type, so the server compares
 * and stores them exactly: integers and DECIMAL as bare numeric literals (a quoted '12.50' would
 * be compared with a DECIMAL column as a double), FLOAT/DOUBLE as double literals (`…e0`, parsed
 * by the server's strtod: exact for the JS number, which holds the stored binary value), BIT as
 * an integer, everything else through the driver's escaping (strings quoted with backslash
 * escapes, binary as X'…'), the same escaping the full copy uses, so a replayed row and a copied
 * row are byte-identical.
 *
 * Modes:
 * - safe (idempotent, for changes the full copy may already hold): a row's final image is written
 *   with REPLACE. REPLACE rather than INSERT … ON DUPLICATE KEY UPDATE because during the
 *   copy/replay overlap the destination can hold rows that are *ahead* of the change being
 *   replayed: a row whose unique secondary key value is the one this image takes (it took it
 *   later in the source). REPLACE removes every row that conflicts on any unique key, and the
 *   removed row comes back with its own later change, which the stream also carries; IODKU would
 *   instead update the conflicting row (turning it into this one, or failing with a duplicate on
 *   a second unique key). REPLACE deletes a referenced parent row, which with foreign_key_checks=1
 *   would cascade to its children: replay runs with foreign_key_checks=0, under which InnoDB
 *   performs no cascades. A table whose destination has writable columns outside the mapping is
 *   written with IODKU instead (REPLACE would reset those columns to their defaults).
 * - exact (after the copy's end position): the same writes, but every change's precondition is
 *   checked in the same round trip (the row must exist for an update or delete, must not exist
 *   for an insert) and a failed one is reported as an inconsistency with table and key; the
 *   write still happens, so the destination converges to the source instead of stopping.
 *
 * Within one destination transaction (a group of source transactions, or one part of a large
 * one) changes to a keyed table are compacted per row key into their net effect (deleted, or
 * holding a final image): intermediate states are never visible outside the transaction, so one
 * multi-row DELETE and one multi-row REPLACE per table give the same committed state as the
 * changes one by one. Deletes go first, so a replaced row never collides with a row the batch
 * removes. Tables without a usable key, and tables written with IODKU, are applied change by
 * change in order.
 *
 * Row images older than a mapped column (see `written`): the column is one the event did not
 * write. An insert leaves it to its default, an update leaves it as it is (IODKU in safe mode,
 * an UPDATE of the image's columns in exact mode, followed by an IODKU so that a missing row is
 * still written), and WHERE clauses do not test it; a key column missing is an error. Such a
 * table is applied change by change in that group, and a multi-row INSERT only joins inserts
 * of the same columns. In safe mode a key change is still a delete + insert, which resets the
 * column to its default (as for tables with unmapped columns).
 */

export type ReplayMode = "safe" | "exact";

export type ReplayErrorCode =
	| "DESTINATION_TABLE_MISSING"
	| "DESTINATION_COLUMN_MISSING"
	| "INCOMPLETE_ROW_IMAGE"
	| "UNREPLICATED_COLUMN"
	| "BAD_VALUE"
	| "FILTER_FAILED"
	| "NO_SOURCE_FOR_FILTER"
	| "NO_DDL_HANDLER"
	| "APPLY_FAILED";

/** A replay failure that names the object it concerns. */
export class ReplayError extends Error {
	constructor(
		message: string,
		readonly code: ReplayErrorCode,
		options?: { cause?: unknown },
	) {
		super(message, options);
		this.name = "ReplayError";
	}
}

/** A difference between what a change expects at the destination and what the destination holds. */
export interface Inconsistency {
	/** The destination table. */
	table: TableName;
	kind: "missing-row" | "duplicate-row" | "stream-order";
	/** The row's key (destination column -> value), or its whole image for a table without key. */
	key: Record<string, Value>;
	/** What was being applied, e.g. `update of a row the destination does not have`. */
	detail: string;
}

// ---------------------------------------------------------------------------------------------
// Destination tables

export interface DestinationColumn {
	name: string;
	dataType: string;
	columnType: string;
	nullable: boolean;
	charset: string | null;
	collation: string | null;
	generated: boolean;
}

export interface DestinationIndex {
	name: string;
	primary: boolean;
	unique: boolean;
	parts: { column: string; length: number | null }[];
}

/** What replay needs to know of a destination table. */
export interface DestinationTable {
	columns: DestinationColumn[];
	indexes: DestinationIndex[];
}

/** How a column's values are written as literals. */
export type LiteralKind = "integer" | "decimal" | "float" | "bit" | "other";

export interface ReplayColumn {
	source: string;
	destination: string;
	/** The destination name, quoted. */
	quoted: string;
	dataType: string;
	kind: LiteralKind;
	/** Text under a collation that may equate different strings (case, accents, trailing spaces). */
	fold: boolean;
}

export interface ReplayUniqueKey {
	name: string;
	columns: ReplayColumn[];
	/** Prefix length per column (characters, bytes for binary), or null for the whole value. */
	prefixes: (number | null)[];
}

/** A mapped table, resolved against its destination: what replay writes and how it finds rows. */
export interface ReplayTable {
	mapping: TableMapping;
	/** The destination table, quoted. */
	quoted: string;
	/** `source -> destination`, for messages. */
	label: string;
	/** The columns written: mapped, and not generated at the destination; in source order. */
	columns: ReplayColumn[];
	/** The key rows are found by: the primary key, else a unique key of NOT NULL columns; null if none. */
	key: ReplayColumn[] | null;
	keyName: string | null;
	/** Every unique key whose values the row images give (for parallel-apply conflicts). */
	uniqueKeys: ReplayUniqueKey[];
	/**
	 * A unique key the images cannot give (it covers only columns outside the mapping): every
	 * change to the table then conflicts with every other, for parallel apply.
	 */
	opaqueUniqueKey: boolean;
	/** The destination has writable columns outside the mapping: written with IODKU, never REPLACE. */
	keepUnmapped: boolean;
	/** `(`a`, `b`)`: the column list of inserts. */
	columnList: string;
}

const INTEGER_TYPES = new Set(["tinyint", "smallint", "mediumint", "int", "integer", "bigint", "year"]);
const FLOAT_TYPES = new Set(["float", "double", "real", "double precision"]);

function literalKind(dataType: string): LiteralKind {
	if (INTEGER_TYPES.has(dataType)) return "integer";
	if (dataType === "decimal" || dataType === "numeric") return "decimal";
	if (FLOAT_TYPES.has(dataType)) return "float";
	if (dataType === "bit") return "bit";
	return "other";
}

function foldable(c: DestinationColumn): boolean {
	if (!c.collation || !c.charset || c.charset === "binary") return false;
	// A binary collation still ignores trailing spaces (PAD SPACE), which folding also covers.
	return true;
}

/** Reads a destination table's columns and unique keys; null if the table does not exist. */
export async function describeDestination(conn: Pool | Connection, table: TableName): Promise<DestinationTable | null> {
	const [columns] = await conn.query<RowDataPacket[]>(
		`SELECT COLUMN_NAME AS name, DATA_TYPE AS dataType, COLUMN_TYPE AS columnType, IS_NULLABLE AS nullable,
			CHARACTER_SET_NAME AS charset, COLLATION_NAME AS collation, EXTRA AS extra
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
		[table.database, table.table],
	);
	if (columns.length === 0) return null;
	const [stats] = await conn.query<RowDataPacket[]>(
		`SELECT INDEX_NAME AS indexName, SEQ_IN_INDEX AS seq, COLUMN_NAME AS columnName, SUB_PART AS subPart
		FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND NON_UNIQUE = 0
		ORDER BY INDEX_NAME = 'PRIMARY' DESC, INDEX_NAME, SEQ_IN_INDEX`,
		[table.database, table.table],
	);
	const indexes = new Map<string, DestinationIndex>();
	for (const s of stats) {
		const name = String(s.indexName);
		let index = indexes.get(name);
		if (!index) {
			index = { name, primary: name === "PRIMARY", unique: true, parts: [] };
			indexes.set(name, index);
		}
		index.parts.push({
			// A MySQL 8 functional key part has no column name; it cannot be computed from images.
			column: s.columnName == null ? "" : String(s.columnName),
			length: s.subPart == null ? null : Number(s.subPart),
		});
	}
	return {
		columns: columns.map((c) => ({
			name: String(c.name),
			dataType: String(c.dataType).toLowerCase(),
			columnType: String(c.columnType).toLowerCase(),
			nullable: c.nullable === "YES",
			charset: c.charset == null ? null : String(c.charset),
			collation: c.collation == null ? null : String(c.collation),
			generated: /\b(VIRTUAL|STORED|PERSISTENT)\b/i.test(String(c.extra ?? "")),
		})),
		indexes: [...indexes.values()],
	};
}

/** The same description from a schema snapshot of the destination (or of the source, when the schema was migrated as is). */
export function destinationFromSchema(schema: TableSchema): DestinationTable {
	return {
		columns: schema.columns.map((c) => ({
			name: c.name,
			dataType: c.dataType.toLowerCase(),
			columnType: c.columnType.toLowerCase(),
			nullable: c.nullable,
			charset: c.charset,
			collation: c.collation,
			generated: c.generated !== null,
		})),
		indexes: schema.indexes
			.filter((i) => i.kind === "primary" || i.kind === "unique")
			.map((i) => ({
				name: i.name,
				primary: i.kind === "primary",
				unique: true,
				parts: i.parts.map((p) => ({ column: p.expression ? "" : p.column, length: p.length })),
			})),
	};
}

/** Resolves a mapping against its destination table. */
export function buildReplayTable(mapping: TableMapping, destination: DestinationTable): ReplayTable {
	const label = `${qualifiedName(mapping.source)} -> ${qualifiedName(mapping.destination)}`;
	const byName = new Map(destination.columns.map((c) => [c.name.toLowerCase(), c]));
	const columns: ReplayColumn[] = [];
	const bySource = new Map<string, ReplayColumn>();
	const mappedDestinations = new Set<string>();
	for (const m of mapping.columns) {
		const d = byName.get(m.destination.toLowerCase());
		if (!d) {
			throw new ReplayError(
				`destination table ${qualifiedName(mapping.destination)} has no column ${m.destination} (replayed from ${m.source} of ${qualifiedName(mapping.source)})`,
				"DESTINATION_COLUMN_MISSING",
			);
		}
		mappedDestinations.add(d.name.toLowerCase());
		// Generated columns are computed by the destination; writing them is an error.
		if (d.generated) continue;
		const column: ReplayColumn = {
			source: m.source,
			destination: d.name,
			quoted: quoteId(d.name),
			dataType: d.dataType,
			kind: literalKind(d.dataType),
			fold: foldable(d),
		};
		columns.push(column);
		bySource.set(d.name.toLowerCase(), column);
	}
	if (columns.length === 0) {
		throw new ReplayError(`${label}: no column to write`, "DESTINATION_COLUMN_MISSING");
	}
	let key: ReplayColumn[] | null = null;
	let keyName: string | null = null;
	const uniqueKeys: ReplayUniqueKey[] = [];
	let opaqueUniqueKey = false;
	for (const index of destination.indexes) {
		if (!index.unique) continue;
		const parts = index.parts.map((p) => ({ part: p, column: bySource.get(p.column.toLowerCase()) }));
		const known = parts.filter((p) => p.column) as { part: { length: number | null }; column: ReplayColumn }[];
		// A key over columns the images do not carry is hashed on the ones they do (coarser, so
		// safe for conflict detection); with none at all, the table serialises.
		if (known.length === 0) opaqueUniqueKey = true;
		else {
			uniqueKeys.push({
				name: index.name,
				columns: known.map((p) => p.column),
				prefixes: known.map((p) => p.part.length),
			});
		}
		if (key) continue;
		const allKnown = known.length === parts.length;
		const notNull = index.parts.every((p) => byName.get(p.column.toLowerCase())?.nullable === false);
		if (allKnown && notNull) {
			key = known.map((p) => p.column);
			keyName = index.name;
		}
	}
	const keepUnmapped = destination.columns.some((c) => !c.generated && !mappedDestinations.has(c.name.toLowerCase()));
	return {
		mapping,
		quoted: quoteTable(mapping.destination),
		label,
		columns,
		key,
		keyName,
		uniqueKeys,
		opaqueUniqueKey,
		keepUnmapped,
		columnList: `(${columns.map((c) => c.quoted).join(", ")})`,
	};
}

/** Describes the destination table of a mapping and resolves it. */
export async function describeReplayTable(conn: Pool | Connection, mapping: TableMapping): Promise<ReplayTable> {
	const destination = await describeDestination(conn, mapping.destination);
	if (!destination) {
		throw new ReplayError(
			`destination table ${qualifiedName(mapping.destination)} does not exist (replaying ${qualifiedName(mapping.source)}): create it first, e.g. with schema migration`,
			"DESTINATION_TABLE_MISSING",
		);
	}
	return buildReplayTable(mapping, destination);
}

// ---------------------------------------------------------------------------------------------
// Literals and keys

const INTEGER_TEXT = /^-?\d+$/;
const DECIMAL_TEXT = /^-?(\d+\.?\d*|\.\d+)$/;

function imageValue(table: ReplayTable, image: RowImage, column: ReplayColumn): Value {
	const v = image[column.source];
	if (v === undefined) {
		throw new ReplayError(
			`${table.label}: the row image has no column ${column.source} (the source must log full row images: binlog_row_image=FULL)`,
			"INCOMPLETE_ROW_IMAGE",
		);
	}
	return v;
}

/**
 * The written columns an image has values for. Capture refuses row events without a full image
 * (binlog_row_image=FULL), so a mapped column an image lacks is one the event predates: an ADD
 * COLUMN later in the binlog, whose mapping (read at session start, the current schema) replay
 * already has, e.g. when a session resumes from a checkpoint before the DDL (reverse replication
 * lagging behind forward's). Such a column is one the event did not write: left out of its
 * statements (an insert leaves it to the column's default, an update leaves it as it is, a WHERE
 * clause does not test it). A key column missing is still an error: the row cannot be found.
 */
function written(table: ReplayTable, image: RowImage): ReplayColumn[] {
	if (table.columns.every((c) => image[c.source] !== undefined)) return table.columns;
	for (const c of table.key ?? []) imageValue(table, image, c);
	const columns = table.columns.filter((c) => image[c.source] !== undefined);
	if (columns.length === 0) {
		throw new ReplayError(`${table.label}: the row image has none of the mapped columns`, "INCOMPLETE_ROW_IMAGE");
	}
	return columns;
}

/** Whether an image has every written column (see `written`). */
export function completeImage(table: ReplayTable, image: RowImage | undefined): boolean {
	return !image || table.columns.every((c) => image[c.source] !== undefined);
}

/** `(`a`, `b`)`: an insert's column list. */
function columnList(table: ReplayTable, columns: ReplayColumn[]): string {
	return columns === table.columns ? table.columnList : `(${columns.map((c) => c.quoted).join(", ")})`;
}

/** A value as an SQL literal for a column of the given kind (see the module comment). */
export function literal(kind: LiteralKind, v: Value): string {
	if (v === null) return "NULL";
	switch (kind) {
		case "integer":
			if (typeof v === "number" && Number.isSafeInteger(v)) return String(v);
			if (typeof v === "string" && INTEGER_TEXT.test(v)) return v;
			break;
		case "decimal":
			if (typeof v === "string" && DECIMAL_TEXT.test(v)) return v;
			if (typeof v === "number" && Number.isFinite(v)) return String(v);
			break;
		case "float":
			if (typeof v === "number" && Number.isFinite(v)) {
				const s = String(v);
				return /[eE]/.test(s) ? s : `${s}e0`;
			}
			if (typeof v === "string" && DECIMAL_TEXT.test(v)) return `${v}e0`;
			break;
		case "bit":
			if (Buffer.isBuffer(v)) return v.length === 0 ? "0" : BigInt(`0x${v.toString("hex")}`).toString();
			if (typeof v === "number" && Number.isSafeInteger(v)) return String(v);
			if (typeof v === "string" && INTEGER_TEXT.test(v)) return v;
			break;
		default:
			if (typeof v === "number" && !Number.isFinite(v)) break;
			return escapeValue(v);
	}
	if (typeof v === "number" && !Number.isFinite(v)) {
		throw new ReplayError(`value ${v} cannot be written`, "BAD_VALUE");
	}
	// A value of an unexpected JS type for the column: the driver's escaping, as the copy would.
	return escapeValue(v);
}

function lit(table: ReplayTable, image: RowImage, column: ReplayColumn): string {
	return literal(column.kind, imageValue(table, image, column));
}

/** `(v1, v2, …)`: a row's written values. */
function rowTuple(table: ReplayTable, image: RowImage, cols: ReplayColumn[] = table.columns): string {
	let s = "(";
	for (let i = 0; i < cols.length; i++) {
		if (i > 0) s += ", ";
		s += lit(table, image, cols[i] as ReplayColumn);
	}
	return `${s})`;
}

/** `a = 1 AND b = 'x'`: the row's key (the table must have one). */
function keyCondition(table: ReplayTable, key: ReplayColumn[], image: RowImage): string {
	if (key.length === 1) {
		const c = key[0] as ReplayColumn;
		return `${c.quoted} = ${lit(table, image, c)}`;
	}
	return key.map((c) => `${c.quoted} = ${lit(table, image, c)}`).join(" AND ");
}

function keyRecord(table: ReplayTable, image: RowImage): Record<string, Value> {
	const out: Record<string, Value> = {};
	for (const c of table.key ?? written(table, image)) out[c.destination] = image[c.source] ?? null;
	return out;
}

function encodeExact(kind: LiteralKind, v: Value | undefined): string {
	if (v === null || v === undefined) return "N";
	if (Buffer.isBuffer(v)) return `x${v.toString("hex")}`;
	if (kind === "other" && typeof v === "string") return `s${v}`;
	return `n${String(v)}`;
}

/** The row's key as a string that is equal exactly when the key values are identical. */
function exactKey(table: ReplayTable, key: ReplayColumn[], image: RowImage): string {
	if (key.length === 1) {
		const c = key[0] as ReplayColumn;
		return encodeExact(c.kind, imageValue(table, image, c));
	}
	return JSON.stringify(key.map((c) => encodeExact(c.kind, imageValue(table, image, c))));
}

/**
 * Text folded so that strings a collation may consider equal fold to the same value: case,
 * accents and compatibility forms, control and format characters (ignorable in UCA collations),
 * trailing spaces, ß. Coarser than any one collation, which is
 * what conflict detection needs (a false conflict only makes a transaction wait).
 */
export function foldText(s: string): string {
	return s
		.normalize("NFKD")
		.replace(/\p{M}/gu, "")
		.toLowerCase()
		.replace(/[\p{Cc}\p{Cf}]/gu, "")
		.replace(/ß|ss/g, "s")
		.replace(/\s+$/u, "");
}

function conflictValue(column: ReplayColumn, prefix: number | null, v: Value | undefined): string | null {
	if (v === null || v === undefined) return null;
	if (Buffer.isBuffer(v)) {
		const b = prefix !== null ? v.subarray(0, prefix) : v;
		return `x${b.toString("hex").replace(/(00)+$/, "")}`;
	}
	if (typeof v === "string" && column.kind === "other") {
		const s = prefix !== null ? [...v].slice(0, prefix).join("") : v;
		return `s${column.fold ? foldText(s) : s.replace(/ +$/, "")}`;
	}
	return `n${String(v)}`;
}

/**
 * The conflict keys of one row image: one per unique key (a key with a NULL part constrains
 * nothing), or the whole table when a unique key is not computable from images or the table has
 * no key to find rows by (its rows are matched by whole image, which any change may affect).
 */
export function conflictKeys(table: ReplayTable, image: RowImage | undefined, out: Set<string>): void {
	const t = `${table.mapping.destination.database}\u0000${table.mapping.destination.table}`;
	if (!image) return;
	if (table.opaqueUniqueKey || !table.key) {
		out.add(`${t}\u0001*`);
		return;
	}
	for (const k of table.uniqueKeys) {
		let s = `${t}\u0001${k.name}`;
		let isNull = false;
		for (let i = 0; i < k.columns.length; i++) {
			const c = k.columns[i] as ReplayColumn;
			const v = conflictValue(c, k.prefixes[i] ?? null, image[c.source]);
			if (v === null) {
				isNull = true;
				break;
			}
			s += `\u0000${v}`;
		}
		if (!isNull) out.add(s);
	}
}

// ---------------------------------------------------------------------------------------------
// One change, one or more statements

/** What a statement's result must show when the destination is consistent (exact mode). */
export interface StatementCheck {
	/** `one-row`: the statement matched exactly one row; `absent`: a SELECT EXISTS returned 0. */
	expect: "one-row" | "absent";
	kind: Inconsistency["kind"];
	key: Record<string, Value>;
	detail: string;
}

/** A statement with mysql2 placeholders and the values to bind (or format client-side). */
export interface Statement {
	sql: string;
	values: unknown[];
	check?: StatementCheck;
	/** A plain one-row INSERT: `head` + `tuple` (formatted), which a batch may merge with the next ones. */
	multiRow?: { head: string; tuple: string };
}

/** A literal for mysql2's formatting: inserted as is. */
function raw(sql: string): { toSqlString: () => string } {
	return { toSqlString: () => sql };
}

function placeholders(table: ReplayTable, columns: ReplayColumn[], image: RowImage, values: unknown[]): string[] {
	return columns.map((c) => {
		values.push(raw(lit(table, image, c)));
		return "?";
	});
}

function keyWhere(table: ReplayTable, image: RowImage, values: unknown[]): string {
	const key = table.key;
	if (key)
		return placeholders(table, key, image, values)
			.map((p, i) => `${(key[i] as ReplayColumn).quoted} = ${p}`)
			.join(" AND ");
	const columns = written(table, image);
	return `${placeholders(table, columns, image, values)
		.map((p, i) => `${(columns[i] as ReplayColumn).quoted} <=> ${p}`)
		.join(" AND ")} LIMIT 1`;
}

/** REPLACE, or IODKU when the destination's values of columns the statement does not write must stay (`keep`). */
function upsertStatement(table: ReplayTable, image: RowImage, keep = table.keepUnmapped): Statement {
	const values: unknown[] = [];
	const columns = written(table, image);
	const ph = placeholders(table, columns, image, values);
	if (keep) {
		const updates = columns.map((c) => `${c.quoted} = VALUES(${c.quoted})`).join(", ");
		return {
			sql: `INSERT INTO ${table.quoted} ${columnList(table, columns)} VALUES (${ph.join(", ")}) ON DUPLICATE KEY UPDATE ${updates}`,
			values,
		};
	}
	return { sql: `REPLACE INTO ${table.quoted} ${columnList(table, columns)} VALUES (${ph.join(", ")})`, values };
}

function insertStatement(table: ReplayTable, image: RowImage): Statement {
	const values: unknown[] = [];
	const columns = written(table, image);
	const ph = placeholders(table, columns, image, values);
	// the head names the columns: only inserts of the same columns share a multi-row statement
	const head = `INSERT INTO ${table.quoted} ${columnList(table, columns)} VALUES `;
	return { sql: `${head}(${ph.join(", ")})`, values, multiRow: { head, tuple: rowTuple(table, image, columns) } };
}

/** Inserts a row unless an identical one exists (a table without key, safe mode). */
function insertAbsentStatement(table: ReplayTable, image: RowImage): Statement {
	const values: unknown[] = [];
	const columns = written(table, image);
	const ph = placeholders(table, columns, image, values);
	const where = keyWhere(table, image, values).replace(/ LIMIT 1$/, "");
	return {
		sql: `INSERT INTO ${table.quoted} ${columnList(table, columns)} SELECT ${ph.join(", ")} FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM ${table.quoted} WHERE ${where})`,
		values,
	};
}

function deleteStatement(table: ReplayTable, image: RowImage, check?: StatementCheck): Statement {
	const values: unknown[] = [];
	const sql = `DELETE FROM ${table.quoted} WHERE ${keyWhere(table, image, values)}`;
	return check ? { sql, values, check } : { sql, values };
}

function existsStatement(table: ReplayTable, image: RowImage, check: StatementCheck): Statement {
	const values: unknown[] = [];
	return {
		sql: `SELECT EXISTS(SELECT 1 FROM ${table.quoted} WHERE ${keyWhere(table, image, values)}) AS e`,
		values,
		check,
	};
}

function sameKey(table: ReplayTable, a: RowImage, b: RowImage): boolean {
	if (table.key) return exactKey(table, table.key, a) === exactKey(table, table.key, b);
	const columns = written(table, a);
	if (!sameColumns(columns, written(table, b))) return false;
	return exactKey(table, columns, a) === exactKey(table, columns, b);
}

function sameColumns(a: ReplayColumn[], b: ReplayColumn[]): boolean {
	return a.length === b.length && a.every((c, i) => c === b[i]);
}

/**
 * The statements that apply one row change (already routed through the row filter) to a
 * destination table, in order. Used for tables applied change by change (no key, or columns
 * outside the mapping); keyed tables go through `TableBatch`, which compacts.
 */
export function rowStatements(change: RowChange, table: ReplayTable, mode: ReplayMode): Statement[] {
	const { before, after } = change;
	const exact = mode === "exact";
	switch (change.kind) {
		case "insert": {
			if (!after) throw new ReplayError(`${table.label}: an insert without row image`, "INCOMPLETE_ROW_IMAGE");
			if (!table.key) return [exact ? insertStatement(table, after) : insertAbsentStatement(table, after)];
			const out: Statement[] = [];
			if (exact) {
				out.push(
					existsStatement(table, after, {
						expect: "absent",
						kind: "duplicate-row",
						key: keyRecord(table, after),
						detail: "insert of a row the destination already has",
					}),
				);
			}
			out.push(upsertStatement(table, after));
			return out;
		}
		case "delete": {
			if (!before) throw new ReplayError(`${table.label}: a delete without row image`, "INCOMPLETE_ROW_IMAGE");
			return [
				deleteStatement(
					table,
					before,
					exact
						? {
								expect: "one-row",
								kind: "missing-row",
								key: keyRecord(table, before),
								detail: "delete of a row the destination does not have",
							}
						: undefined,
				),
			];
		}
		case "update": {
			if (!before || !after) {
				throw new ReplayError(`${table.label}: an update without both row images`, "INCOMPLETE_ROW_IMAGE");
			}
			const same = sameKey(table, before, after);
			if (!table.key) {
				if (same) return []; // No written column changed.
				if (exact) {
					return [updateStatement(table, before, after, true)];
				}
				if (!completeImage(table, after)) {
					// an update of columns the image has, the others kept; inserted if it found no row
					return [updateStatement(table, before, after, false), insertAbsentStatement(table, after)];
				}
				return [deleteStatement(table, before), insertAbsentStatement(table, after)];
			}
			if (exact) {
				// An UPDATE keeps the destination's own columns (and carries them over a key change).
				const update = updateStatement(table, before, after, true);
				if (table.keepUnmapped || completeImage(table, after)) return [update];
				// the row is written even if the update found none, as a compacted batch would
				return [update, upsertStatement(table, after, true)];
			}
			// a column the image lacks keeps its value at the destination: IODKU (a key change still goes through delete + insert, as for tables with unmapped columns)
			const keep = table.keepUnmapped || !completeImage(table, after);
			return same
				? [upsertStatement(table, after, keep)]
				: [deleteStatement(table, before), upsertStatement(table, after, keep)];
		}
	}
}

/** `UPDATE … SET` the columns the after image has `WHERE` the before image's key (or whole image, LIMIT 1). */
function updateStatement(table: ReplayTable, before: RowImage, after: RowImage, check: boolean): Statement {
	const values: unknown[] = [];
	const columns = written(table, after);
	const set = placeholders(table, columns, after, values)
		.map((p, i) => `${(columns[i] as ReplayColumn).quoted} = ${p}`)
		.join(", ");
	const where = keyWhere(table, before, values);
	const sql = `UPDATE ${table.quoted} SET ${set} WHERE ${where}`;
	if (!check) return { sql, values };
	return {
		sql,
		values,
		check: {
			expect: "one-row",
			kind: "missing-row",
			key: keyRecord(table, before),
			detail: "update of a row the destination does not have",
		},
	};
}

/** A statement as text, values formatted client-side by the driver. */
export function formatStatement(s: Statement): string {
	return mysql.format(s.sql, s.values as never[]);
}

// ---------------------------------------------------------------------------------------------
// Batches

/** One statement of a batch, as text, with what its result must show. */
export interface BatchItem {
	sql: string;
	/** Inspects the statement's result; returns the inconsistencies it shows. */
	check?: (result: unknown) => Inconsistency[];
}

function statementCheck(table: ReplayTable, check: StatementCheck): (result: unknown) => Inconsistency[] {
	return (result) => {
		let ok: boolean;
		if (check.expect === "absent") {
			const row = (result as RowDataPacket[])[0];
			ok = row !== undefined && Number(row.e) === 0;
		} else {
			ok = (result as ResultSetHeader).affectedRows === 1;
		}
		return ok
			? []
			: [
					{
						table: table.mapping.destination,
						kind: check.kind,
						key: check.key,
						detail: `${table.label}: ${check.detail}`,
					},
				];
	};
}

/** Statements of a table applied change by change (no key, or columns outside the mapping). */
export class OrderedBatch {
	private readonly items: BatchItem[] = [];
	private pendingInserts: string[] = [];
	private pendingHead = "";
	private pendingBytes = 0;

	constructor(
		readonly table: ReplayTable,
		readonly mode: ReplayMode,
		private readonly maxStatementBytes: number,
	) {}

	add(change: RowChange): void {
		const statements = rowStatements(change, this.table, this.mode);
		for (const s of statements) {
			// Consecutive plain inserts (exact mode, no key) go out as one multi-row INSERT.
			if (s.multiRow) {
				// a different column list (an image older than a column) starts a statement of its own
				if (s.multiRow.head !== this.pendingHead) this.flushInserts();
				this.pendingHead = s.multiRow.head;
				this.pendingInserts.push(s.multiRow.tuple);
				this.pendingBytes += s.multiRow.tuple.length;
				if (this.pendingBytes >= this.maxStatementBytes) this.flushInserts();
				continue;
			}
			this.flushInserts();
			const item: BatchItem = { sql: formatStatement(s) };
			if (s.check) item.check = statementCheck(this.table, s.check);
			this.items.push(item);
		}
	}

	private flushInserts(): void {
		if (this.pendingInserts.length === 0) return;
		this.items.push({ sql: this.pendingHead + this.pendingInserts.join(", ") });
		this.pendingInserts = [];
		this.pendingBytes = 0;
	}

	take(): BatchItem[] {
		this.flushInserts();
		return this.items.splice(0);
	}
}

interface Entry {
	/** An image holding the key (the first one seen). */
	keyImage: RowImage;
	/** The destination must have the row before the batch (the first change was an update or delete). */
	expectPresent: boolean;
	/**
	 * Not checked: a key change to a spelling the collation may call equal ('Alpha' -> 'ALPHA'),
	 * whose new key the destination shows as present until the old one is deleted.
	 */
	unchecked?: boolean;
	/** The row after the batch, or null if it ends deleted. */
	final: RowImage | null;
}

const CHECKS_PER_STATEMENT = 200;
const KEYS_PER_DELETE = 1000;

/**
 * Changes to one keyed table within one destination transaction, compacted per row key into
 * their net effect (see the module comment). Every image must have every written column (a
 * REPLACE would reset a column an update's image lacks): changes with older images go through
 * `OrderedBatch` (see `completeImage`).
 */
export class TableBatch {
	private readonly entries = new Map<string, Entry>();
	private readonly streamIssues: Inconsistency[] = [];
	private readonly key: ReplayColumn[];

	constructor(
		readonly table: ReplayTable,
		readonly mode: ReplayMode,
		private readonly maxStatementBytes: number,
		/** Exact mode only: check preconditions (false: converge without counting, for the fastest catch-up). */
		private readonly checks = true,
	) {
		if (!table.key) throw new Error(`${table.label}: TableBatch needs a keyed table`);
		this.key = table.key;
	}

	get size(): number {
		return this.entries.size;
	}

	private issue(image: RowImage, detail: string): void {
		if (this.mode !== "exact") return;
		this.streamIssues.push({
			table: this.table.mapping.destination,
			kind: "stream-order",
			key: keyRecord(this.table, image),
			detail: `${this.table.label}: ${detail}`,
		});
	}

	private put(image: RowImage): void {
		const k = exactKey(this.table, this.key, image);
		const e = this.entries.get(k);
		if (!e) {
			this.entries.set(k, { keyImage: image, expectPresent: false, final: image });
			return;
		}
		if (e.final) this.issue(image, "insert of a row an earlier change of the same batch inserted");
		e.final = image;
	}

	private remove(image: RowImage, what: "update" | "delete"): string {
		const k = exactKey(this.table, this.key, image);
		const e = this.entries.get(k);
		if (!e) {
			this.entries.set(k, { keyImage: image, expectPresent: true, final: null });
			return k;
		}
		if (!e.final) this.issue(image, `${what} of a row an earlier change of the same batch deleted`);
		e.final = null;
		return k;
	}

	add(change: RowChange): void {
		const { before, after } = change;
		if (!completeImage(this.table, before) || !completeImage(this.table, after)) {
			throw new Error(`${this.table.label}: TableBatch needs full row images (use OrderedBatch)`);
		}
		switch (change.kind) {
			case "insert":
				if (!after) throw new ReplayError(`${this.table.label}: an insert without row image`, "INCOMPLETE_ROW_IMAGE");
				this.put(after);
				return;
			case "delete":
				if (!before) throw new ReplayError(`${this.table.label}: a delete without row image`, "INCOMPLETE_ROW_IMAGE");
				this.remove(before, "delete");
				return;
			case "update": {
				if (!before || !after) {
					throw new ReplayError(`${this.table.label}: an update without both row images`, "INCOMPLETE_ROW_IMAGE");
				}
				const kb = exactKey(this.table, this.key, before);
				const ka = exactKey(this.table, this.key, after);
				if (kb === ka) {
					const e = this.entries.get(kb);
					if (!e) this.entries.set(kb, { keyImage: before, expectPresent: true, final: after });
					else {
						if (!e.final) this.issue(before, "update of a row an earlier change of the same batch deleted");
						e.final = after;
					}
					return;
				}
				// A key change: the old key goes, the new one arrives.
				this.remove(before, "update");
				this.put(after);
				if (this.key.some((c) => c.fold) && this.foldedKey(before) === this.foldedKey(after)) {
					const e = this.entries.get(ka);
					if (e && !e.expectPresent) e.unchecked = true;
				}
				return;
			}
		}
	}

	private foldedKey(image: RowImage): string {
		return JSON.stringify(this.key.map((c) => conflictValue(c, null, imageValue(this.table, image, c))));
	}

	/** `k IN (…)`, or `(a = … AND b = …) OR …` for a composite key (MariaDB's range optimizer takes both). */
	private keysWhere(slice: Entry[]): string {
		const t = this.table;
		if (this.key.length === 1) {
			const c = this.key[0] as ReplayColumn;
			return `${c.quoted} IN (${slice.map((e) => lit(t, e.keyImage, c)).join(", ")})`;
		}
		return slice.map((e) => `(${keyCondition(t, this.key, e.keyImage)})`).join(" OR ");
	}

	/** The batch's statements: checks (exact mode), then deletes, then replaces. Empties the batch. */
	take(): BatchItem[] {
		const items: BatchItem[] = [];
		const t = this.table;
		const entries = [...this.entries.values()];
		this.entries.clear();
		const checked = entries.filter((e) => !e.unchecked);
		if (this.mode === "exact" && this.checks) {
			const report = (e: Entry): Inconsistency => ({
				table: t.mapping.destination,
				kind: e.expectPresent ? "missing-row" : "duplicate-row",
				key: keyRecord(t, e.keyImage),
				detail: e.expectPresent
					? `${t.label}: update or delete of a row the destination does not have`
					: `${t.label}: insert of a row the destination already has`,
			});
			if (this.key.every((c) => c.kind === "integer")) {
				// Integer keys come back from the server in the images' own text: one SELECT of the
				// keys present, matched by text.
				const textKey = (values: unknown[]) => values.map((v) => String(v)).join("\u0000");
				for (let i = 0; i < checked.length; i += KEYS_PER_DELETE) {
					const slice = checked.slice(i, i + KEYS_PER_DELETE);
					items.push({
						sql: `SELECT ${this.key.map((c) => c.quoted).join(", ")} FROM ${t.quoted} WHERE ${this.keysWhere(slice)}`,
						check: (result) => {
							const present = new Set(
								(result as RowDataPacket[]).map((r) => textKey(this.key.map((c) => r[c.destination]))),
							);
							return slice
								.filter(
									(e) => present.has(textKey(this.key.map((c) => imageValue(t, e.keyImage, c)))) !== e.expectPresent,
								)
								.map(report);
						},
					});
				}
			} else {
				// Other keys: whether each exists, by position (no reliance on how values print).
				for (let i = 0; i < checked.length; i += CHECKS_PER_STATEMENT) {
					const slice = checked.slice(i, i + CHECKS_PER_STATEMENT);
					const sql = `SELECT ${slice
						.map((e, j) => `EXISTS(SELECT 1 FROM ${t.quoted} WHERE ${keyCondition(t, this.key, e.keyImage)}) AS e${j}`)
						.join(", ")}`;
					items.push({
						sql,
						check: (result) => {
							const row: Record<string, unknown> = (result as RowDataPacket[])[0] ?? {};
							return slice.filter((e, j) => (Number(row[`e${j}`]) === 1) !== e.expectPresent).map(report);
						},
					});
				}
			}
			if (this.streamIssues.length) {
				const issues = this.streamIssues.splice(0);
				items.push({ sql: "DO 0", check: () => issues });
			}
		}
		const deleted = entries.filter((e) => e.final === null);
		for (let i = 0; i < deleted.length; i += KEYS_PER_DELETE) {
			const slice = deleted.slice(i, i + KEYS_PER_DELETE);
			items.push({ sql: `DELETE FROM ${t.quoted} WHERE ${this.keysWhere(slice)}` });
		}
		const head = `REPLACE INTO ${t.quoted} ${t.columnList} VALUES `;
		let tuples: string[] = [];
		let bytes = 0;
		for (const e of entries) {
			if (!e.final) continue;
			const tuple = rowTuple(t, e.final);
			tuples.push(tuple);
			bytes += tuple.length + 2;
			if (bytes >= this.maxStatementBytes) {
				items.push({ sql: head + tuples.join(", ") });
				tuples = [];
				bytes = 0;
			}
		}
		if (tuples.length) items.push({ sql: head + tuples.join(", ") });
		return items;
	}
}

// ---------------------------------------------------------------------------------------------
// Row filters

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
