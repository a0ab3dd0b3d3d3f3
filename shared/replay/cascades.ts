import type { ResultSetHeader, RowDataPacket } from "mysql2";
import type { RowChange, RowImage } from "../capture/change.ts";
import type { Connection, Pool } from "../db/connect.ts";
import { isEnumErrorValue } from "../db/session.ts";
import { qualifiedName, quoteId, quoteTable } from "../db/sql.ts";
import type { TableName } from "../model/rules.ts";
import type { BatchItem } from "./batch.ts";
import { literal } from "./literals.ts";
import { ReplayError } from "./replay-error.ts";
import type { LiteralKind, ReplayTable } from "./replay-table.ts";
import type { Inconsistency, ReplayMode } from "./statements.ts";

/**
 * Foreign-key actions at the replay target, done by replay because the binlog does not carry them.
 *
 * MariaDB and MySQL 8 run ON DELETE / ON UPDATE CASCADE and SET NULL inside InnoDB, below the
 * binary log: the source's binlog holds the parent's change and not the child rows it changed. A
 * native replica redoes them by applying with foreign key checks on. Replay cannot simply do the
 * same: it runs with foreign_key_checks=0 (applier.ts) because safe mode's REPLACE of a parent
 * would cascade into deleting its children, and because during the copy overlap a parent may not
 * have been copied yet while its children have (a checked DELETE of an absent parent cascades to
 * nothing, and the children the source lost stay).
 *
 * So replay redoes the first level itself, after the parent's own change, from the parent's row
 * images and the target's own constraints (read from its information_schema: what the target
 * would do is what it must become, in either direction of replication):
 * - a parent delete: `DELETE IGNORE FROM child WHERE fk = old` (CASCADE) with
 *   foreign_key_checks=1, so InnoDB carries it on to grandchildren as the source did; IGNORE
 *   leaves a child that a RESTRICT key of the destination holds (in safe mode, a grandchild the
 *   copy read from the future, whose own events follow; in exact mode an inconsistency, reported);
 * - `UPDATE child SET fk = NULL | DEFAULT(fk) | new WHERE fk = old` (SET NULL, SET DEFAULT, and
 *   CASCADE of a changed key) with checks off: the new parent may legitimately be absent at the
 *   target (a row filter, the copy overlap). One level deep: a grandchild keyed on the child's
 *   foreign key columns is not updated.
 * The old values match no child when one is NULL (MATCH SIMPLE). The trigger is the source's
 * change before row filters (the source's children changed whatever the filter makes of the
 * parent row), and never a change the source made with foreign_key_checks=0, under which InnoDB
 * took no action (the row event's flag, capture's `noForeignKeyChecks`).
 *
 * The applier applies a group in strict source order around such a change (compaction would move
 * a later re-insert of the same parent ahead of the cascade) and never in parallel with another.
 */

export type ForeignKeyRule = "CASCADE" | "SET NULL" | "SET DEFAULT" | "RESTRICT" | "NO ACTION";

/** A foreign key at the target that references a replayed table and acts on its children. */
export interface ReferencingKey {
	name: string;
	child: TableName;
	/** The child's columns, in constraint order. */
	columns: string[];
	/** The parent's (replayed table's) columns they reference, same order. */
	referenced: string[];
	onDelete: ForeignKeyRule;
	onUpdate: ForeignKeyRule;
}

const ACTIONS = new Set<ForeignKeyRule>(["CASCADE", "SET NULL", "SET DEFAULT"]);

function rule(v: unknown): ForeignKeyRule {
	const s = String(v ?? "").toUpperCase();
	return (ACTIONS.has(s as ForeignKeyRule) || s === "RESTRICT" ? s : "NO ACTION") as ForeignKeyRule;
}

/** A table's key in maps of referencing keys. */
export function referencedKey(table: TableName): string {
	return `${table.database}\u0000${table.table}`;
}

/**
 * Every foreign key of the target with an ON DELETE or ON UPDATE action, by referenced table: one
 * query (information_schema cannot look them up by referenced table without reading every table).
 */
export async function readReferencingKeys(conn: Pool | Connection): Promise<Map<string, ReferencingKey[]>> {
	const [rows] = await conn.query<RowDataPacket[]>(
		`SELECT rc.CONSTRAINT_SCHEMA AS db, rc.TABLE_NAME AS child, rc.CONSTRAINT_NAME AS name,
			rc.UNIQUE_CONSTRAINT_SCHEMA AS refDb, rc.REFERENCED_TABLE_NAME AS refTable,
			rc.DELETE_RULE AS onDelete, rc.UPDATE_RULE AS onUpdate,
			k.COLUMN_NAME AS col, k.REFERENCED_COLUMN_NAME AS refCol
		FROM information_schema.REFERENTIAL_CONSTRAINTS rc
		JOIN information_schema.KEY_COLUMN_USAGE k
			ON k.CONSTRAINT_SCHEMA = rc.CONSTRAINT_SCHEMA AND k.TABLE_NAME = rc.TABLE_NAME
			AND k.CONSTRAINT_NAME = rc.CONSTRAINT_NAME AND k.REFERENCED_TABLE_NAME IS NOT NULL
		WHERE rc.DELETE_RULE IN ('CASCADE', 'SET NULL', 'SET DEFAULT') OR rc.UPDATE_RULE IN ('CASCADE', 'SET NULL', 'SET DEFAULT')
		ORDER BY rc.CONSTRAINT_SCHEMA, rc.TABLE_NAME, rc.CONSTRAINT_NAME, k.ORDINAL_POSITION`,
	);
	const keys = new Map<string, ReferencingKey>();
	const byParent = new Map<string, ReferencingKey[]>();
	for (const r of rows) {
		const id = `${r.db}\u0000${r.child}\u0000${r.name}`;
		let key = keys.get(id);
		if (!key) {
			key = {
				name: String(r.name),
				child: { database: String(r.db), table: String(r.child) },
				columns: [],
				referenced: [],
				onDelete: rule(r.onDelete),
				onUpdate: rule(r.onUpdate),
			};
			keys.set(id, key);
			const parent = referencedKey({ database: String(r.refDb), table: String(r.refTable) });
			byParent.set(parent, [...(byParent.get(parent) ?? []), key]);
		}
		key.columns.push(String(r.col));
		key.referenced.push(String(r.refCol));
	}
	return byParent;
}

/** A referenced column: where its value is in the parent's images, and how it is written. */
interface Referenced {
	source: string;
	kind: LiteralKind;
	/** ReplayColumn `laxEnum`: a key moving to ENUM's error value moves its children under the lax mode. */
	laxEnum: boolean;
}

/**
 * The columns a key references, found in the parent's mapping (a generated column too: its value
 * is in the image), or an error naming the key when the images do not carry one of them.
 */
function referencedColumns(table: ReplayTable, key: ReferencingKey): Referenced[] {
	return key.referenced.map((name) => {
		const written = table.columns.find((x) => x.destination.toLowerCase() === name.toLowerCase());
		if (written) return { source: written.source, kind: written.kind, laxEnum: written.laxEnum };
		const mapped = table.mapping.columns.find((x) => x.destination.toLowerCase() === name.toLowerCase());
		if (mapped) return { source: mapped.source, kind: "other" as const, laxEnum: false };
		throw new ReplayError(
			`${table.label}: foreign key ${key.name} of ${qualifiedName(key.child)} references column ${name}, which is not replicated, so its ON DELETE/ON UPDATE action cannot be redone: include the column in the rule's columns`,
			"DESTINATION_COLUMN_MISSING",
		);
	});
}

/** The referenced values of an image as literals, or null when one is NULL (matches no child). */
function values(columns: Referenced[], image: RowImage): string[] | null {
	const out: string[] = [];
	for (const c of columns) {
		const v = image[c.source];
		if (v === null || v === undefined) return null;
		out.push(literal(c.kind, v));
	}
	return out;
}

/** One action on a key's children: the statement, and whether it runs with foreign key checks (to go deeper). */
function actionItem(
	table: ReplayTable,
	key: ReferencingKey,
	action: ForeignKeyRule,
	old: string[],
	next: string[] | null,
	mode: ReplayMode,
	lax: boolean,
): BatchItem[] {
	const child = quoteTable(key.child);
	const where = key.columns.map((c, i) => `${quoteId(c)} = ${old[i]}`).join(" AND ");
	const set = (value: (column: string, i: number) => string) =>
		key.columns.map((c, i) => `${quoteId(c)} = ${value(c, i)}`).join(", ");
	switch (action) {
		case "CASCADE":
			if (next) {
				const sql = `UPDATE ${child} SET ${set((_, i) => next[i] as string)} WHERE ${where}`;
				return [lax ? { sql, lax: true } : { sql }];
			}
			return [
				{ sql: "SET foreign_key_checks = 1" },
				{
					sql: `DELETE IGNORE FROM ${child} WHERE ${where}`,
					...(mode === "exact" ? { check: heldBack(table, key, old) } : {}),
				},
				{ sql: "SET foreign_key_checks = 0" },
			];
		case "SET NULL":
			return [{ sql: `UPDATE ${child} SET ${set(() => "NULL")} WHERE ${where}` }];
		case "SET DEFAULT":
			return [{ sql: `UPDATE ${child} SET ${set((c) => `DEFAULT(${quoteId(c)})`)} WHERE ${where}` }];
		default:
			return [];
	}
}

/** Exact mode: a child that a RESTRICT key of the target kept (IGNORE made the refusal a warning) is an inconsistency. */
function heldBack(table: ReplayTable, key: ReferencingKey, old: string[]): (result: unknown) => Inconsistency[] {
	return (result) =>
		((result as ResultSetHeader).warningStatus ?? 0) > 0
			? [
					{
						table: key.child,
						kind: "missing-row",
						key: Object.fromEntries(key.columns.map((c, i) => [c, old[i] as string])),
						detail: `${table.label}: a row of ${qualifiedName(key.child)} that foreign key ${key.name} cascades to is held by a RESTRICT key of the destination, which the source did not have`,
					},
				]
			: [];
}

/**
 * The statements that redo, at the target, what the target's foreign keys do to the children of
 * a replayed table's row for this (source) change; they go after the parent's own statements.
 * Empty when no key acts on it.
 */
export function cascadeItems(
	table: ReplayTable,
	keys: ReferencingKey[],
	change: RowChange,
	mode: ReplayMode,
): BatchItem[] {
	const items: BatchItem[] = [];
	const { before, after } = change;
	if (change.noForeignKeyChecks) return items;
	if (change.kind === "delete" && before) {
		for (const key of keys) {
			if (!ACTIONS.has(key.onDelete)) continue;
			const old = values(referencedColumns(table, key), before);
			if (old) items.push(...actionItem(table, key, key.onDelete, old, null, mode, false));
		}
	} else if (change.kind === "update" && before && after) {
		for (const key of keys) {
			if (!ACTIONS.has(key.onUpdate)) continue;
			const columns = referencedColumns(table, key);
			const old = values(columns, before);
			if (!old) continue;
			// InnoDB acts when a referenced value changes in its bytes, even to one the collation calls equal.
			const next = columns.map((c) => {
				const v = after[c.source];
				return v === null || v === undefined ? "NULL" : literal(c.kind, v);
			});
			if (next.every((v, i) => v === old[i])) continue;
			const lax = columns.some((c) => c.laxEnum && isEnumErrorValue(after[c.source]));
			items.push(...actionItem(table, key, key.onUpdate, old, next, mode, lax));
		}
	}
	return items;
}

/** Whether a table's referencing keys can act on a change of this kind (a cheap test before building statements). */
export function mayCascade(keys: ReferencingKey[] | undefined, change: RowChange): boolean {
	if (!keys || keys.length === 0) return false;
	if (change.kind === "delete") return keys.some((k) => ACTIONS.has(k.onDelete));
	if (change.kind === "update") return keys.some((k) => ACTIONS.has(k.onUpdate));
	return false;
}
