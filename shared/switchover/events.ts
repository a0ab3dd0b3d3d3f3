import type { RowDataPacket } from "mysql2";
import type { Connection } from "../db/connect.ts";
import { qualifiedName, quoteTable } from "../db/sql.ts";
import type { ObjectRules, TableName } from "../model/rules.ts";
import { withSessionOf } from "../schema/routine-apply.ts";
import { formatAccount, routineDatabases, userDatabases } from "../schema/routines.ts";

/**
 * Events are created disabled at the destination (an event running at both ends would apply its
 * writes twice while replay runs). At switchover the destination takes over the ones enabled at
 * the source; with reverse replay to come, the source's are disabled, for the same reason the
 * other way round. ALTER EVENT records the altering account as the definer and the session's
 * collation_connection, so it runs under the event's own settings and, at the source, names the
 * event's definer again: a switch back finds the source's events as they were, only disabled.
 */
export interface EnabledEvent {
	/** The source database and event name (as `table`). */
	source: TableName;
	destination: TableName;
	/** The source's definer, `user`@`host`. */
	definer: string;
	sqlMode: string;
	collationConnection: string;
	timeZone: string;
}

interface EventRow extends RowDataPacket {
	db: string;
	name: string;
	definer: string;
	sqlMode: string;
	co: string;
	tz: string;
	status: string;
}

async function readEvents(conn: Connection, databases: string[], name?: string): Promise<EventRow[]> {
	if (databases.length === 0) return [];
	const [rows] = await conn.query<EventRow[]>(
		`SELECT EVENT_SCHEMA AS db, EVENT_NAME AS name, DEFINER AS definer, SQL_MODE AS sqlMode,
		        COLLATION_CONNECTION AS co, TIME_ZONE AS tz, STATUS AS status
		 FROM information_schema.EVENTS WHERE EVENT_SCHEMA IN (?)${name === undefined ? "" : " AND EVENT_NAME = ?"}`,
		name === undefined ? [databases] : [databases, name],
	);
	return rows;
}

/** The source's enabled events in the databases the rules migrate whole (see shared/schema/routines.ts). */
export async function readEnabledEvents(conn: Connection, rules: ObjectRules): Promise<EnabledEvent[]> {
	const databases = routineDatabases(rules, await userDatabases(conn), new Set());
	const destinationOf = new Map(databases.map((d) => [d.source, d.destination as string]));
	return (await readEvents(conn, [...destinationOf.keys()]))
		.filter((r) => r.status === "ENABLED")
		.map((r) => ({
			source: { database: r.db, table: r.name },
			destination: { database: destinationOf.get(r.db) as string, table: r.name },
			definer: formatAccount(r.definer),
			sqlMode: r.sqlMode,
			collationConnection: r.co,
			timeZone: r.tz,
		}));
}

/** Enables at the destination each of these events that Ferry created there disabled. Returns those enabled. */
export async function enableEvents(destination: Connection, events: EnabledEvent[]): Promise<string[]> {
	const enabled: string[] = [];
	for (const e of events) {
		const [found] = await readEvents(destination, [e.destination.database], e.destination.table);
		if (found?.status !== "DISABLED") continue;
		await withSessionOf(
			destination,
			{ sqlMode: found.sqlMode, collationConnection: found.co, timeZone: found.tz },
			() => destination.query(`ALTER EVENT ${quoteTable(e.destination)} ENABLE`),
		);
		enabled.push(qualifiedName(e.destination));
	}
	return enabled;
}

/** The events of the list that exist at the destination (those Ferry migrated, or a person created). */
export async function handedOver(destination: Connection, events: EnabledEvent[]): Promise<EnabledEvent[]> {
	const out: EnabledEvent[] = [];
	for (const e of events) {
		if ((await readEvents(destination, [e.destination.database], e.destination.table)).length > 0) out.push(e);
	}
	return out;
}

/** Disables these events at the source, keeping their definers (which needs SET USER or SUPER for others' events). */
export async function disableEvents(source: Connection, events: EnabledEvent[]): Promise<void> {
	for (const e of events) {
		const [found] = await readEvents(source, [e.source.database], e.source.table);
		if (found?.status !== "ENABLED") continue;
		try {
			await withSessionOf(source, e, () =>
				source.query(`ALTER DEFINER=${e.definer} EVENT ${quoteTable(e.source)} DISABLE`),
			);
		} catch (err) {
			throw new Error(
				`event ${qualifiedName(e.source)} could not be disabled at the source as ${e.definer} (${(err as Error).message}): disable it there yourself (ALTER EVENT ... DISABLE), since with reverse replay its writes would otherwise be applied twice, then retry`,
			);
		}
	}
}
