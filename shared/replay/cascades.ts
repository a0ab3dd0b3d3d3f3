import type { RowDataPacket } from "mysql2";
import type { RowChange, RowImage } from "../capture/change.ts";
import type { Connection, Pool } from "../db/connect.ts";
import { describeTable, quoteId, quoteTable } from "../db/sql.ts";
import type { TableName } from "../model/rules.ts";
import { type BatchItem, literal, type ReplayColumn, ReplayError, type ReplayTable } from "./statements.ts";

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
 * So replay emulates the first level itself, from the parent's row images and the target's own
 * constraints (read from its information_schema: what the target would do is what it must
 * become, in either direction of replication):
 * - a parent delete: `DELETE FROM child WHERE fk = old` (CASCADE), `UPDATE child SET fk = NULL`
 *   (SET NULL) or `= DEFAULT` (SET DEFAULT), before the parent's own delete;
 * - a parent update that changes referenced columns: `UPDATE child SET fk = new WHERE fk = old`
 *   (or NULL / DEFAULT), after the parent's own write, so the new parent row exists.
 * These statements run with foreign_key_checks=1, so InnoDB carries them on to grandchildren as
 * the source did (a deeper level relies on the child rows being at the target, as a replica's
 * would). A NULL among the old referenced values matches no child (MATCH SIMPLE). The change that
 * triggers them is the source's, before row filters: the source's children changed whatever the
 * filter does with the parent row.
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

/** The target's foreign keys that reference `table` with an ON DELETE or ON UPDATE action. */
export async function readReferencingKeys(conn: Pool | Connection, table: TableName): Promise<ReferencingKey[]> {
	const [rows] = await conn.query<RowDataPacket[]>(
		`SELECT rc.CONSTRAINT_SCHEMA AS db, rc.TABLE_NAME AS child, rc.CONSTRAINT_NAME AS name,
			rc.DELETE_RULE AS onDelete, rc.UPDATE_RULE AS onUpdate,
			k.COLUMN_NAME AS col, k.REFERENCED_COLUMN_NAME AS refCol
		FROM information_schema.REFERENTIAL_CONSTRAINTS rc
		JOIN information_schema.KEY_COLUMN_USAGE k
			ON k.CONSTRAINT_SCHEMA = rc.CONSTRAINT_SCHEMA AND k.TABLE_NAME = rc.TABLE_NAME
			AND k.CONSTRAINT_NAME = rc.CONSTRAINT_NAME AND k.REFERENCED_TABLE_NAME IS NOT NULL
		WHERE rc.UNIQUE_CONSTRAINT_SCHEMA = ? AND rc.REFERENCED_TABLE_NAME = ?
			AND (rc.DELETE_RULE IN ('CASCADE', 'SET NULL', 'SET DEFAULT') OR rc.UPDATE_RULE IN ('CASCADE', 'SET NULL', 'SET DEFAULT'))
		ORDER BY rc.CONSTRAINT_SCHEMA, rc.TABLE_NAME, rc.CONSTRAINT_NAME, k.ORDINAL_POSITION`,
		[table.database, table.table],
	);
	const keys = new Map<string, ReferencingKey>();
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
		}
		key.columns.push(String(r.col));
		key.referenced.push(String(r.refCol));
	}
	return [...keys.values()];
}

/** The replayed columns a key references, or an error naming the key when replay does not write one of them. */
function referencedColumns(table: ReplayTable, key: ReferencingKey): ReplayColumn[] {
	return key.referenced.map((name) => {
		const c = table.columns.find((x) => x.destination.toLowerCase() === name.toLowerCase());
		if (!c) {
			throw new ReplayError(
				`${table.label}: foreign key ${key.name} of ${describeTable(key.child)} references column ${name}, which replay does not write, so the key's ON DELETE/ON UPDATE action cannot be applied: include the column in the rule's columns`,
				"DESTINATION_COLUMN_MISSING",
			);
		}
		return c;
	});
}

/** The referenced values of an image as literals, or null when one is NULL (matches no child). */
function values(columns: ReplayColumn[], image: RowImage): string[] | null {
	const out: string[] = [];
	for (const c of columns) {
		const v = image[c.source];
		if (v === null || v === undefined) return null;
		out.push(literal(c.kind, v));
	}
	return out;
}

function actionStatement(
	key: ReferencingKey,
	action: ForeignKeyRule,
	old: string[],
	next: string[] | null,
): string | null {
	const child = quoteTable(key.child);
	const where = key.columns.map((c, i) => `${quoteId(c)} = ${old[i]}`).join(" AND ");
	const set = (value: (column: string, i: number) => string) =>
		key.columns.map((c, i) => `${quoteId(c)} = ${value(c, i)}`).join(", ");
	switch (action) {
		case "CASCADE":
			return next
				? `UPDATE ${child} SET ${set((_, i) => next[i] as string)} WHERE ${where}`
				: `DELETE FROM ${child} WHERE ${where}`;
		case "SET NULL":
			return `UPDATE ${child} SET ${set(() => "NULL")} WHERE ${where}`;
		case "SET DEFAULT":
			return `UPDATE ${child} SET ${set((c) => `DEFAULT(${quoteId(c)})`)} WHERE ${where}`;
		default:
			return null;
	}
}

/**
 * The statements that redo, at the target, what the target's foreign keys do to the children of
 * a replayed table's row for this (source) change, wrapped in foreign_key_checks=1; empty when no
 * key acts on it. `placement` says whether they go before the parent's own statements (a delete)
 * or after them (an update).
 */
export function cascadeItems(
	table: ReplayTable,
	keys: ReferencingKey[],
	change: RowChange,
): { placement: "before" | "after"; items: BatchItem[] } {
	const statements: string[] = [];
	const { before, after } = change;
	if (change.kind === "delete" && before) {
		for (const key of keys) {
			if (!ACTIONS.has(key.onDelete)) continue;
			const old = values(referencedColumns(table, key), before);
			const sql = old && actionStatement(key, key.onDelete, old, null);
			if (sql) statements.push(sql);
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
			const sql = actionStatement(key, key.onUpdate, old, next);
			if (sql) statements.push(sql);
		}
	}
	if (statements.length === 0) return { placement: "before", items: [] };
	return {
		placement: change.kind === "delete" ? "before" : "after",
		items: [
			{ sql: "SET foreign_key_checks = 1" },
			...statements.map((sql) => ({ sql })),
			{ sql: "SET foreign_key_checks = 0" },
		],
	};
}

/** Whether a table's referencing keys can act on a change of this kind (a cheap test before building statements). */
export function mayCascade(keys: ReferencingKey[] | undefined, change: RowChange): boolean {
	if (!keys || keys.length === 0) return false;
	if (change.kind === "delete") return keys.some((k) => ACTIONS.has(k.onDelete));
	if (change.kind === "update") return keys.some((k) => ACTIONS.has(k.onUpdate));
	return false;
}
