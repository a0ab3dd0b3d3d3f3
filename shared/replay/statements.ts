import mysql from "mysql2";
import type { RowChange, RowImage, Value } from "../capture/change.ts";
import type { TableName } from "../model/rules.ts";
import {
	columnList,
	completeImage,
	exactKey,
	keyRecord,
	lit,
	rowTuple,
	writesEnumErrorValue,
	written,
} from "./literals.ts";
import { ReplayError } from "./replay-error.ts";
import type { ReplayColumn, ReplayTable } from "./replay-table.ts";

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
	/** It writes ENUM's error value: it runs under the lax mode (batch.ts `BatchItem.lax`). */
	lax?: true;
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

/** `s`, marked to run under the lax mode when it writes ENUM's error value (`Statement.lax`). */
function writing(s: Statement, image: RowImage, columns: readonly ReplayColumn[]): Statement {
	return writesEnumErrorValue(image, columns) ? { ...s, lax: true } : s;
}

/** REPLACE, or IODKU when the destination's values of columns the statement does not write must stay (`keep`). */
function upsertStatement(table: ReplayTable, image: RowImage, keep = table.keepUnmapped): Statement {
	const values: unknown[] = [];
	const columns = written(table, image);
	const ph = placeholders(table, columns, image, values);
	if (keep) {
		const updates = columns.map((c) => `${c.quoted} = VALUES(${c.quoted})`).join(", ");
		const sql = `INSERT INTO ${table.quoted} ${columnList(table, columns)} VALUES (${ph.join(", ")}) ON DUPLICATE KEY UPDATE ${updates}`;
		return writing({ sql, values }, image, columns);
	}
	const sql = `REPLACE INTO ${table.quoted} ${columnList(table, columns)} VALUES (${ph.join(", ")})`;
	return writing({ sql, values }, image, columns);
}

function insertStatement(table: ReplayTable, image: RowImage): Statement {
	const values: unknown[] = [];
	const columns = written(table, image);
	const ph = placeholders(table, columns, image, values);
	// the head names the columns: only inserts of the same columns share a multi-row statement
	const head = `INSERT INTO ${table.quoted} ${columnList(table, columns)} VALUES `;
	const sql = `${head}(${ph.join(", ")})`;
	// one that needs the lax mode goes alone: the rows it would join keep strict mode
	if (writesEnumErrorValue(image, columns)) return { sql, values, lax: true };
	return { sql, values, multiRow: { head, tuple: rowTuple(table, image, columns) } };
}

/** Inserts a row unless an identical one exists (a table without key, safe mode). */
function insertAbsentStatement(table: ReplayTable, image: RowImage): Statement {
	const values: unknown[] = [];
	const columns = written(table, image);
	const ph = placeholders(table, columns, image, values);
	const where = keyWhere(table, image, values).replace(/ LIMIT 1$/, "");
	const sql = `INSERT INTO ${table.quoted} ${columnList(table, columns)} SELECT ${ph.join(", ")} FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM ${table.quoted} WHERE ${where})`;
	return writing({ sql, values }, image, columns);
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
	if (!check) return writing({ sql, values }, after, columns);
	const statement: Statement = {
		sql,
		values,
		check: {
			expect: "one-row",
			kind: "missing-row",
			key: keyRecord(table, before),
			detail: "update of a row the destination does not have",
		},
	};
	return writing(statement, after, columns);
}

/** A statement as text, values formatted client-side by the driver. */
export function formatStatement(s: Statement): string {
	return mysql.format(s.sql, s.values as never[]);
}
