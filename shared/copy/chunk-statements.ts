import type { KeyColumn } from "../chunking/keys.ts";
import type { ChunkSpec } from "../chunking/plan.ts";
import { keyOrder, rangeCondition, whereClause } from "../chunking/range.ts";
import type { ColumnInfo } from "../db/introspect.ts";
import { refusesEnumErrorValue } from "../db/session.ts";
import { qualifiedName, quoteId, quoteTable } from "../db/sql.ts";
import type { TableMapping } from "../model/rules.ts";
import { CopyError } from "./errors.ts";
import { isBinaryType, isPlainType } from "./loaddata.ts";

/** What one chunk reads and writes, worked out from its mapping and both sides' columns (no server). */
export interface ChunkStatements {
	/** Reads the chunk's rows at the source (in key order for a range chunk). */
	select: { sql: string; values: unknown[] };
	/** Empties the chunk's range (or the whole table) at the destination. */
	delete: { sql: string; values: unknown[] };
	/** The destination columns written, in the order the select reads them. */
	inserted: string[];
	/** Per column: its text never needs escaping in a LOAD DATA file (loaddata.ts `isPlainType`). */
	plain: boolean[];
	/** Per column: it arrives as bytes and travels hex-coded in a LOAD DATA file. */
	binary: boolean[];
	/** Per column: an ENUM at the destination that refuses its error value under strict mode (batcher.ts `LaxRows`). */
	laxEnum: boolean[];
}

/**
 * The statements of a chunk of `mapping`, or a CopyError saying why it cannot be copied: a table
 * or column missing on either side, nothing left to write, or a string key whose collation
 * differs between the sides. `what` names the chunk in errors.
 */
export function chunkStatements(
	mapping: TableMapping,
	chunk: ChunkSpec,
	sourceColumns: ColumnInfo[],
	destinationColumns: ColumnInfo[],
	what: string,
): ChunkStatements {
	if (sourceColumns.length === 0) {
		throw new CopyError(
			`${what}: source table ${qualifiedName(mapping.source)} does not exist`,
			"SOURCE_TABLE_MISSING",
		);
	}
	if (destinationColumns.length === 0) {
		throw new CopyError(
			`destination table ${qualifiedName(mapping.destination)} does not exist (copying ${qualifiedName(mapping.source)}): create it first, e.g. with schema migration`,
			"DESTINATION_TABLE_MISSING",
		);
	}
	const sourceByName = new Map(sourceColumns.map((c) => [c.name.toLowerCase(), c]));
	const destinationByName = new Map(destinationColumns.map((c) => [c.name.toLowerCase(), c]));
	const selected: string[] = [];
	const inserted: string[] = [];
	const plain: boolean[] = [];
	const binary: boolean[] = [];
	const laxEnum: boolean[] = [];
	for (const m of mapping.columns) {
		const s = sourceByName.get(m.source.toLowerCase());
		if (!s) {
			throw new CopyError(`${what}: source column ${m.source} does not exist`, "SOURCE_COLUMN_MISSING");
		}
		const d = destinationByName.get(m.destination.toLowerCase());
		if (!d) {
			throw new CopyError(
				`destination table ${qualifiedName(mapping.destination)} has no column ${m.destination} (copied from ${m.source})`,
				"DESTINATION_COLUMN_MISSING",
			);
		}
		// A generated column is computed by the destination itself and cannot be written.
		if (d.generated) continue;
		// MariaDB prints FLOAT with 6 significant digits; as a double its value is exact, and the
		// destination rounds that double back to the very same float.
		selected.push(s.dataType === "float" ? `${quoteId(s.name)} * 1e0` : quoteId(s.name));
		inserted.push(d.name);
		plain.push(isPlainType(s.dataType));
		binary.push(isBinaryType(s.dataType));
		laxEnum.push(refusesEnumErrorValue(d.dataType, d.columnType));
	}
	if (selected.length === 0) {
		throw new CopyError(`${what}: no column to copy`, "BAD_CHUNK");
	}

	const toKey = (name: (c: { source: string; destination: string }) => string): KeyColumn[] =>
		chunk.kind === "range"
			? chunk.key.columns.map((c) => ({
					name: name(c),
					kind: c.kind,
					...(c.cast ? { cast: c.cast } : {}),
				}))
			: [];
	// The destination finds a chunk's rows by comparing keys under its own collation; under a
	// different one than the source's (which cut the ranges), a re-run would delete rows of a
	// neighbouring chunk or leave some of its own behind.
	if (chunk.kind === "range") {
		for (const c of chunk.key.columns) {
			if (c.kind !== "string") continue;
			const s = sourceByName.get(c.source.toLowerCase());
			const d = destinationByName.get(c.destination.toLowerCase());
			if (s?.collation?.toLowerCase() !== d?.collation?.toLowerCase()) {
				throw new CopyError(
					`${what}: key column ${c.destination} of destination table ${qualifiedName(mapping.destination)} has collation ${d?.collation ?? "none"}, but the source's is ${s?.collation ?? "none"}: chunk ranges would not match; give the destination key the source's collation`,
					"KEY_COLLATION_MISMATCH",
				);
			}
		}
	}
	const sourceKey = toKey((c) => c.source);
	const destinationKey = toKey((c) => c.destination);
	const range = chunk.kind === "range" ? rangeCondition(sourceKey, chunk.lower, chunk.upper) : null;
	const sourceWhere = whereClause(mapping.where, range);
	const selectSql =
		`SELECT ${selected.join(", ")} FROM ${quoteTable(mapping.source)}${sourceWhere.sql}` +
		(chunk.kind === "range" ? ` ORDER BY ${keyOrder(sourceKey)}` : "");
	const destinationRange = chunk.kind === "range" ? rangeCondition(destinationKey, chunk.lower, chunk.upper) : null;
	const deleteSql = `DELETE FROM ${quoteTable(mapping.destination)}${destinationRange ? ` WHERE ${destinationRange.sql}` : ""}`;
	return {
		select: { sql: selectSql, values: sourceWhere.values },
		delete: { sql: deleteSql, values: destinationRange?.values ?? [] },
		inserted,
		plain,
		binary,
		laxEnum,
	};
}
