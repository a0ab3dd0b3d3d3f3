import type { RowDataPacket } from "mysql2";
import type { Connection, Pool } from "../db/connect.ts";
import { refusesEnumErrorValue } from "../db/session.ts";
import { qualifiedName, quoteId, quoteTable } from "../db/sql.ts";
import { APPROXIMATE_TYPES, DECIMAL_TYPES, INTEGER_TYPES } from "../db/types.ts";
import type { TableMapping, TableName } from "../model/rules.ts";
import { ReplayError } from "./replay-error.ts";

/**
 * The replay table plan: a destination table as replay sees it (columns, unique keys, the literal
 * kind of each column), read from the destination or from a schema snapshot and joined with the
 * table's mapping.
 */

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
	/**
	 * An ENUM without a '' member: a statement writing its error value runs under the lax mode
	 * (shared/db/session.ts `refusesEnumErrorValue`, batch.ts `BatchItem.lax`).
	 */
	laxEnum: boolean;
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

function literalKind(dataType: string): LiteralKind {
	if (INTEGER_TYPES.has(dataType)) return "integer";
	if (DECIMAL_TYPES.has(dataType)) return "decimal";
	if (APPROXIMATE_TYPES.has(dataType)) return "float";
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
			laxEnum: refusesEnumErrorValue(d.dataType, d.columnType),
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
