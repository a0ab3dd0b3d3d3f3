import type { Connection } from "../db/connect.ts";
import { removeModes } from "../db/session.ts";
import { qualifiedName, quoteTable } from "../db/sql.ts";
import type { TableName } from "../model/rules.ts";
import { SchemaApplyError } from "./errors.ts";
import { describeRows, existingColumns, existingObjects, sameColumns } from "./inspect.ts";
import type { PlannedIndex, SchemaPhase, SchemaPlan } from "./plan.ts";
import { applyRoutines } from "./routine-apply.ts";

/**
 * Applies one phase of a schema plan to the destination. Every phase looks before it acts, so
 * running it again after a crash, or twice, is harmless:
 *   - databases are created only when missing;
 *   - a table that exists, is empty and has the planned columns is taken as ours from an
 *     earlier run; one with rows, other columns, or a view of that name stops the phase;
 *   - indexes and foreign keys that exist by name are skipped;
 *   - views are created with CREATE OR REPLACE (they hold no data);
 *   - procedures, functions and events that exist by name are kept (routine-apply.ts).
 */

export interface ApplyResult {
	phase: SchemaPhase;
	created: string[];
	skipped: string[];
}

export interface ApplyOptions {
	/**
	 * Add foreign keys without checking the rows (default false): with incremental replay the
	 * destination differs from the source only until replay has caught up (applyForeignKeys).
	 */
	uncheckedForeignKeys?: boolean;
}

export async function applySchemaPhase(
	conn: Connection,
	plan: SchemaPlan,
	phase: SchemaPhase,
	options: ApplyOptions = {},
): Promise<ApplyResult> {
	const result: ApplyResult = { phase, created: [], skipped: [] };
	await withDdlSession(conn, async () => {
		await ensureDatabases(conn, plan, result);
		switch (phase) {
			case "tables":
				await applyTables(conn, plan, result);
				break;
			case "indexes":
				await applyIndexes(conn, plan, result);
				break;
			case "foreignKeys":
				if (options.uncheckedForeignKeys) await applyForeignKeysUnchecked(conn, plan, result);
				else await addForeignKeys(conn, plan, result);
				break;
			case "routines":
				await applyRoutines(conn, plan.routines, result);
				break;
			case "views":
				await applyViews(conn, plan, result);
				break;
			case "events":
				await applyRoutines(conn, plan.events, result);
				break;
		}
	});
	return result;
}

/**
 * The plan's SQL escapes string literals with backslashes and quotes names with backticks, and
 * carries the source's defaults (zero dates included): run it without the sql_mode flags that
 * would read it differently, then give the caller's session its mode back.
 */
async function withDdlSession(conn: Connection, work: () => Promise<void>): Promise<void> {
	const [rows] = await conn.query("SELECT @@SESSION.sql_mode AS mode");
	const mode = String((rows as { mode: string }[])[0]?.mode ?? "");
	// Not the row writers' mode (db/session.ts rowWriteSqlMode): DDL keeps the session's
	// strictness, and only what changes how the plan's text is read, or refuses its zero-date
	// defaults, is dropped.
	const ddlMode = removeModes(mode, [
		"NO_BACKSLASH_ESCAPES",
		"ANSI_QUOTES",
		"ANSI",
		"NO_ZERO_DATE",
		"NO_ZERO_IN_DATE",
	]).join(",");
	await conn.query("SET SESSION sql_mode = ?", [ddlMode]);
	try {
		await work();
	} finally {
		await conn.query("SET SESSION sql_mode = ?", [mode]);
	}
}

async function run(conn: Connection, sql: string, object: string, what: string): Promise<void> {
	try {
		await conn.query(sql);
	} catch (err) {
		throw new SchemaApplyError(
			object,
			`the destination refused to ${what}: ${(err as Error).message}`,
			"fix the cause at the destination or exclude the object, then run the phase again (the statement is in the schema plan)",
		);
	}
}

async function ensureDatabases(conn: Connection, plan: SchemaPlan, result: ApplyResult): Promise<void> {
	if (plan.databases.length === 0) return;
	const [rows] = await conn.query(
		"SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN (?)",
		[plan.databases.map((d) => d.name)],
	);
	const existing = new Set((rows as { name: string }[]).map((r) => r.name));
	for (const db of plan.databases) {
		if (existing.has(db.name)) continue;
		await run(conn, db.sql, db.name, "create the database");
		result.created.push(`database ${db.name}`);
	}
}

/** Objects per destination database, read once per phase. */
async function objectsByDatabase(conn: Connection, tables: TableName[]): Promise<Map<string, Map<string, string>>> {
	const byDatabase = new Map<string, Map<string, string>>();
	for (const database of new Set(tables.map((t) => t.database))) {
		byDatabase.set(database, await existingObjects(conn, database));
	}
	return byDatabase;
}

async function applyTables(conn: Connection, plan: SchemaPlan, result: ApplyResult): Promise<void> {
	const objects = await objectsByDatabase(
		conn,
		plan.tables.map((t) => t.table),
	);
	const columnsByDatabase = new Map<string, Map<string, { name: string; type: string }[]>>();
	for (const planned of plan.tables) {
		const object = qualifiedName(planned.table);
		const type = objects.get(planned.table.database)?.get(planned.table.table);
		if (type === undefined) {
			await run(conn, planned.sql, object, "create the table");
			result.created.push(`table ${object}`);
			continue;
		}
		if (type !== "BASE TABLE") {
			throw new SchemaApplyError(
				object,
				`the destination already has a ${type.toLowerCase()} of this name`,
				"drop it, or rename the table with a rule",
			);
		}
		let columns = columnsByDatabase.get(planned.table.database);
		if (!columns) {
			columns = await existingColumns(conn, planned.table.database);
			columnsByDatabase.set(planned.table.database, columns);
		}
		const found = columns.get(planned.table.table) ?? [];
		if (!sameColumns(planned.columns, found)) {
			throw new SchemaApplyError(
				object,
				`destination table ${object} already exists with other columns (${found.map((c) => `${c.name} ${c.type}`).join(", ")})`,
				"drop it, exclude it or rename it",
			);
		}
		const rows = await describeRows(conn, planned.table);
		if (rows !== null) {
			throw new SchemaApplyError(
				object,
				`destination table ${object} already has ${rows}`,
				"empty it, exclude it or rename it",
			);
		}
		result.skipped.push(`table ${object} (exists, empty, same columns)`);
	}
}

async function applyIndexes(conn: Connection, plan: SchemaPlan, result: ApplyResult): Promise<void> {
	const byTable = new Map<string, PlannedIndex[]>();
	for (const index of plan.indexes) {
		const key = quoteTable(index.table);
		byTable.set(key, [...(byTable.get(key) ?? []), index]);
	}
	for (const [tableSql, indexes] of byTable) {
		const table = (indexes[0] as PlannedIndex).table;
		const object = qualifiedName(table);
		const [rows] = await conn.query(
			"SELECT DISTINCT INDEX_NAME AS name FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
			[table.database, table.table],
		);
		// Index names are case-insensitive.
		const existing = new Set((rows as { name: string }[]).map((r) => r.name.toLowerCase()));
		const missing = indexes.filter((i) => !existing.has(i.name.toLowerCase()));
		for (const i of indexes) if (existing.has(i.name.toLowerCase())) result.skipped.push(`index ${object}.${i.name}`);
		// One ALTER builds all ordinary indexes in one pass over the rows; InnoDB adds FULLTEXT one at a time.
		const ordinary = missing.filter((i) => !i.fulltext);
		if (ordinary.length > 0) {
			await run(
				conn,
				`ALTER TABLE ${tableSql} ${ordinary.map((i) => `ADD ${i.clause}`).join(", ")}`,
				object,
				`add indexes ${ordinary.map((i) => i.name).join(", ")}`,
			);
		}
		for (const i of missing.filter((i) => i.fulltext)) await run(conn, i.sql, object, `add index ${i.name}`);
		for (const i of missing) result.created.push(`index ${object}.${i.name}`);
	}
}

/**
 * With incremental replay, foreign keys are added without checking the rows: the source enforced
 * them, and the destination differs from it only while replay catches up with what the source
 * wrote during the copy (a child row copied before the parent it references was). Checking would
 * refuse the key for that transient state, which replay then resolves; verification compares what
 * is left. Without replay a failed check is real (a live source, orphans at the source) and stops
 * the phase.
 */
async function applyForeignKeysUnchecked(conn: Connection, plan: SchemaPlan, result: ApplyResult): Promise<void> {
	const [[session]] = (await conn.query("SELECT @@SESSION.foreign_key_checks AS checks")) as unknown as [
		{ checks: number }[],
	];
	await conn.query("SET SESSION foreign_key_checks = 0");
	try {
		await addForeignKeys(conn, plan, result);
	} finally {
		await conn.query("SET SESSION foreign_key_checks = ?", [Number(session?.checks ?? 1)]);
	}
}

async function addForeignKeys(conn: Connection, plan: SchemaPlan, result: ApplyResult): Promise<void> {
	const existing = new Map<string, Set<string>>();
	for (const fk of plan.foreignKeys) {
		const object = qualifiedName(fk.table);
		let names = existing.get(object);
		if (!names) {
			const [rows] = await conn.query(
				`SELECT CONSTRAINT_NAME AS name FROM information_schema.TABLE_CONSTRAINTS
				 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_TYPE = 'FOREIGN KEY'`,
				[fk.table.database, fk.table.table],
			);
			names = new Set((rows as { name: string }[]).map((r) => r.name.toLowerCase()));
			existing.set(object, names);
		}
		if (names.has(fk.name.toLowerCase())) {
			result.skipped.push(`foreign key ${object}.${fk.name}`);
			continue;
		}
		await run(conn, fk.sql, object, `add foreign key ${fk.name}`);
		names.add(fk.name.toLowerCase());
		result.created.push(`foreign key ${object}.${fk.name}`);
	}
}

async function applyViews(conn: Connection, plan: SchemaPlan, result: ApplyResult): Promise<void> {
	const objects = await objectsByDatabase(
		conn,
		plan.views.map((v) => v.view),
	);
	for (const planned of plan.views) {
		const object = qualifiedName(planned.view);
		if (objects.get(planned.view.database)?.get(planned.view.table) === "BASE TABLE") {
			throw new SchemaApplyError(
				object,
				"the destination has a table of this name",
				"drop or rename that table, or rename the view with a rule",
			);
		}
		await run(conn, planned.sql, object, "create the view");
		result.created.push(`view ${object}`);
	}
}
