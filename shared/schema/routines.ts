import type { Connection } from "../db/connect.ts";
import { quoteId } from "../db/sql.ts";
import type { ObjectRules, TableName } from "../model/rules.ts";
import { wildcard } from "../model/rules.ts";
import { tableKey } from "./snapshot.ts";

/**
 * Stored procedures, functions and events of the source, and the triggers of migrated tables,
 * as the schema plan needs them.
 *
 * Which routines and events go: they belong to a database, not to a table, so they follow the
 * rules for whole databases only, that is rules whose table pattern is `*` (`{database: "shop"}`
 * is one). The last such rule that matches the database decides: include (under its
 * renameDatabase) or exclude. A database whose tables are selected one by one keeps its routines
 * at the source, and each of them is reported as not migrated, with why.
 */

/** Schemas that belong to the server itself. */
const SYSTEM_SCHEMAS = ["mysql", "information_schema", "performance_schema", "sys"];

export interface RoutineDatabase {
	source: string;
	/** Where its routines and events go; absent when they are not migrated. */
	destination?: string;
	/** Why its routines and events are not migrated. */
	why?: string;
}

export type RoutineKind = "procedure" | "function" | "event" | "package";

export interface RoutineSchema {
	kind: RoutineKind;
	database: string;
	name: string;
	/** The definer as `user`@`host` (or `role`). */
	definer: string;
	/** SHOW CREATE's statement as the server prints it; null when Ferry's source user may not read it. */
	create: string | null;
	/** The sql_mode the body was written under, and must be created under again. */
	sqlMode: string;
	characterSetClient: string;
	collationConnection: string;
	/** Procedures and functions: whose rights the body runs with. */
	security?: "DEFINER" | "INVOKER";
	/** Events: ENABLED, DISABLED or SLAVESIDE_DISABLED. */
	status?: string;
	/** Events: the time zone their schedule is written in. */
	timeZone?: string;
}

/** A trigger of a migrated table (created at switchover, see shared/switchover/triggers.ts). */
export interface TriggerSummary {
	table: TableName;
	name: string;
	definer: string;
	body: string;
	sqlMode: string;
}

export interface RoutineSnapshot {
	databases: RoutineDatabase[];
	routines: RoutineSchema[];
	triggers: TriggerSummary[];
}

/** Decides, per source database, whether its routines and events go and where (see the module comment). */
export function routineDatabases(
	rules: ObjectRules,
	databases: readonly string[],
	withTables: ReadonlySet<string>,
): RoutineDatabase[] {
	const out: RoutineDatabase[] = [];
	for (const database of databases) {
		let decisive: number | undefined;
		rules.forEach((rule, i) => {
			if (rule.table === "*" && wildcard(rule.database).test(database)) decisive = i;
		});
		const rule = decisive === undefined ? undefined : rules[decisive];
		if (rule && !rule.exclude) {
			out.push({ source: database, destination: rule.renameDatabase ?? database });
		} else if (withTables.has(database)) {
			out.push({
				source: database,
				why: rule
					? `rule #${(decisive as number) + 1} excludes the whole database`
					: 'the rules select its tables one by one, and routines and events follow only a rule for the whole database (table "*")',
			});
		}
	}
	return out;
}

type Row = Record<string, unknown>;
const text = (v: unknown): string => (v === null || v === undefined ? "" : String(v));

async function query(conn: Connection, sql: string, params: unknown[] = []): Promise<Row[]> {
	const [rows] = await conn.query(sql, params);
	return rows as Row[];
}

/** information_schema's `user@host` (the host never holds an @) as `user`@`host`. */
export function formatAccount(account: string): string {
	const at = account.lastIndexOf("@");
	return at === -1 ? quoteId(account) : `${quoteId(account.slice(0, at))}@${quoteId(account.slice(at + 1))}`;
}

/** The account a connection acts as, which is the definer of what it creates without a DEFINER clause. */
export async function currentAccount(conn: Connection): Promise<string> {
	const [row] = await query(conn, "SELECT CURRENT_USER() AS account");
	return formatAccount(text(row?.account));
}

/** The source's databases but the server's own. */
export async function userDatabases(conn: Connection): Promise<string[]> {
	const rows = await query(
		conn,
		"SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE SCHEMA_NAME NOT IN (?)",
		[SYSTEM_SCHEMAS],
	);
	return rows.map((r) => text(r.name));
}

/** Reads the routines and events of every database that has migrated tables or a whole-database rule, and the triggers of the migrated tables. */
export async function readRoutines(
	conn: Connection,
	rules: ObjectRules,
	tables: readonly TableName[],
): Promise<RoutineSnapshot> {
	const databases = routineDatabases(rules, await userDatabases(conn), new Set(tables.map((t) => t.database)));
	const snapshot: RoutineSnapshot = { databases, routines: [], triggers: [] };
	const names = databases.map((d) => d.source);
	if (names.length === 0) return snapshot;

	for (const r of await query(
		conn,
		`SELECT ROUTINE_SCHEMA AS db, ROUTINE_NAME AS name, ROUTINE_TYPE AS type, DEFINER AS definer,
		        SECURITY_TYPE AS security, SQL_MODE AS sqlMode, CHARACTER_SET_CLIENT AS cs, COLLATION_CONNECTION AS co
		 FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA IN (?) ORDER BY ROUTINE_SCHEMA, ROUTINE_TYPE, ROUTINE_NAME`,
		[names],
	)) {
		const type = text(r.type).toUpperCase();
		const kind: RoutineKind = type === "PROCEDURE" ? "procedure" : type === "FUNCTION" ? "function" : "package";
		const database = text(r.db);
		const name = text(r.name);
		snapshot.routines.push({
			kind,
			database,
			name,
			definer: formatAccount(text(r.definer)),
			create: kind === "package" ? null : await showCreate(conn, type, database, name),
			sqlMode: text(r.sqlMode),
			characterSetClient: text(r.cs),
			collationConnection: text(r.co),
			security: text(r.security).toUpperCase() === "INVOKER" ? "INVOKER" : "DEFINER",
		});
	}

	for (const r of await query(
		conn,
		`SELECT EVENT_SCHEMA AS db, EVENT_NAME AS name, DEFINER AS definer, TIME_ZONE AS tz, SQL_MODE AS sqlMode,
		        STATUS AS status, CHARACTER_SET_CLIENT AS cs, COLLATION_CONNECTION AS co
		 FROM information_schema.EVENTS WHERE EVENT_SCHEMA IN (?) ORDER BY EVENT_SCHEMA, EVENT_NAME`,
		[names],
	)) {
		const database = text(r.db);
		const name = text(r.name);
		snapshot.routines.push({
			kind: "event",
			database,
			name,
			definer: formatAccount(text(r.definer)),
			create: await showCreate(conn, "EVENT", database, name),
			sqlMode: text(r.sqlMode),
			characterSetClient: text(r.cs),
			collationConnection: text(r.co),
			status: text(r.status).toUpperCase(),
			timeZone: text(r.tz),
		});
	}

	const migrated = new Set(tables.map(tableKey));
	if (tables.length === 0) return snapshot;
	for (const r of await query(
		conn,
		`SELECT TRIGGER_SCHEMA AS db, EVENT_OBJECT_TABLE AS tbl, TRIGGER_NAME AS name, DEFINER AS definer,
		        ACTION_STATEMENT AS body, SQL_MODE AS sqlMode
		 FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA IN (?) ORDER BY TRIGGER_SCHEMA, EVENT_OBJECT_TABLE, ACTION_ORDER`,
		[[...new Set(tables.map((t) => t.database))]],
	)) {
		const table = { database: text(r.db), table: text(r.tbl) };
		if (!migrated.has(tableKey(table))) continue;
		snapshot.triggers.push({
			table,
			name: text(r.name),
			definer: formatAccount(text(r.definer)),
			body: text(r.body),
			sqlMode: text(r.sqlMode),
		});
	}
	return snapshot;
}

/** MariaDB answers "does not exist" for a routine listed in information_schema whose body the user may not see. */
const WITHHELD = new Set([
	"ER_SPECIFIC_ACCESS_DENIED_ERROR",
	"ER_DBACCESS_DENIED_ERROR",
	"ER_TABLEACCESS_DENIED_ERROR",
	"ER_PROCACCESS_DENIED_ERROR",
	"ER_SP_DOES_NOT_EXIST",
	"ER_EVENT_DOES_NOT_EXIST",
]);

/**
 * SHOW CREATE's statement, or null when the server withholds it: it shows a routine's body only to
 * its definer and to accounts that may read every routine (SELECT on mysql.proc in MariaDB,
 * SHOW_ROUTINE in MySQL 8), and an event to accounts with the EVENT privilege on its database.
 */
async function showCreate(conn: Connection, type: string, database: string, name: string): Promise<string | null> {
	try {
		const [row] = await query(conn, `SHOW CREATE ${type} ${quoteId(database)}.${quoteId(name)}`);
		const column = `Create ${type.charAt(0)}${type.slice(1).toLowerCase()}`;
		const statement = row?.[column];
		return statement === null || statement === undefined ? null : String(statement);
	} catch (err) {
		if (WITHHELD.has((err as { code?: string }).code ?? "")) return null;
		throw err;
	}
}
