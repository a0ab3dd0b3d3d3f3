import type { RowDataPacket } from "mysql2";
import type { Connection } from "../db/connect.ts";
import { qualifiedName, quoteId, quoteTable } from "../db/sql.ts";
import type { TableMapping, TableName } from "../model/rules.ts";
import { rewriteBody } from "../schema/body-rewrite.ts";
import { tableKey } from "../schema/snapshot.ts";

/**
 * Triggers of migrated tables. They are held back while replay runs, since replay writes rows
 * a source trigger already produced and a destination trigger would produce them twice: they
 * are created at the destination at switchover, and dropped at the source before reverse
 * replay writes there (MySQL and MariaDB cannot disable a trigger), their definitions kept.
 */
export interface TriggerDefinition {
	/** The table it belongs to. */
	table: TableName;
	name: string;
	timing: string;
	event: string;
	/** The trigger body as the server stores it (FOR EACH ROW ...). */
	body: string;
	sqlMode: string;
}

const TIMINGS = new Set(["BEFORE", "AFTER"]);
const EVENTS = new Set(["INSERT", "UPDATE", "DELETE"]);

/** The triggers defined on the given tables, in their firing order. */
export async function readTriggers(conn: Connection, tables: readonly TableName[]): Promise<TriggerDefinition[]> {
	const out: TriggerDefinition[] = [];
	for (const database of new Set(tables.map((t) => t.database))) {
		const names = new Set(tables.filter((t) => t.database === database).map((t) => t.table));
		const [rows] = await conn.query<RowDataPacket[]>(
			`SELECT TRIGGER_NAME AS name, EVENT_OBJECT_TABLE AS tbl, ACTION_TIMING AS timing,
				EVENT_MANIPULATION AS event, ACTION_STATEMENT AS body, SQL_MODE AS sqlMode
			FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? ORDER BY EVENT_OBJECT_TABLE, ACTION_ORDER`,
			[database],
		);
		for (const r of rows) {
			if (!names.has(String(r.tbl))) continue;
			out.push({
				table: { database, table: String(r.tbl) },
				name: String(r.name),
				timing: String(r.timing),
				event: String(r.event),
				body: String(r.body),
				sqlMode: String(r.sqlMode ?? ""),
			});
		}
	}
	return out;
}

/**
 * CREATE TRIGGER for a definition on `table` (the destination's name when it was renamed), with
 * the project's table renames applied to names its body qualifies by database (body-rewrite.ts).
 */
export function createTriggerSql(t: TriggerDefinition, table: TableName, mappings: TableMapping[]): string {
	// timing and event go into the statement unquoted: accept only the words the grammar has
	if (!TIMINGS.has(t.timing) || !EVENTS.has(t.event)) {
		throw new Error(`trigger ${t.name} on ${qualifiedName(t.table)} has an unexpected timing/event`);
	}
	const objects = new Map(mappings.map((m) => [tableKey(m.source), m.destination]));
	const body = rewriteBody(t.body, t.sqlMode, t.table.database, { objects }).sql;
	return `CREATE TRIGGER ${quoteId(table.database)}.${quoteId(t.name)} ${t.timing} ${t.event} ON ${quoteTable(table)} FOR EACH ROW ${body}`;
}

/**
 * Creates each trigger at the destination under its mapped table unless a trigger of that name
 * exists there already (so a retry after a crash is harmless). Returns the names created.
 */
export async function createTriggers(
	destination: Connection,
	triggers: TriggerDefinition[],
	mappings: TableMapping[],
): Promise<string[]> {
	const created: string[] = [];
	for (const t of triggers) {
		const m = mappings.find((x) => x.source.database === t.table.database && x.source.table === t.table.table);
		if (!m) continue;
		const [exists] = await destination.query<RowDataPacket[]>(
			"SELECT 1 FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? AND TRIGGER_NAME = ?",
			[m.destination.database, t.name],
		);
		if (exists.length > 0) continue;
		await destination.query("SET @ferry_mode = @@SESSION.sql_mode");
		await destination.query("SET SESSION sql_mode = ?", [t.sqlMode]);
		try {
			await destination.query(createTriggerSql(t, m.destination, mappings));
		} finally {
			await destination.query("SET SESSION sql_mode = @ferry_mode");
		}
		created.push(`${qualifiedName(m.destination)}.${t.name}`);
	}
	return created;
}

/** Drops the given triggers (at the source, before reverse replay); a missing one is fine. */
export async function dropTriggers(conn: Connection, triggers: TriggerDefinition[]): Promise<void> {
	for (const t of triggers) await conn.query(`DROP TRIGGER IF EXISTS ${quoteId(t.table.database)}.${quoteId(t.name)}`);
}
