import type { Connection } from "../db/connect.ts";
import { qualifiedName } from "../db/sql.ts";
import { SchemaApplyError } from "./errors.ts";
import type { PlannedRoutine } from "./routine-plan.ts";

/**
 * Creates planned procedures, functions and events at the destination. A routine or event that
 * exists there already (by name, which the server compares without regard to case) is kept as
 * it is, like indexes and triggers of that name, so running the phase again after a crash, or
 * after a person created one by hand, is harmless; the precheck warns about those that exist.
 */

export interface SessionSettings {
	sqlMode: string;
	collationConnection: string;
	timeZone?: string;
}

/**
 * Runs `work` with the session settings an object was written under: its sql_mode decides what
 * its body means (`||`, `"`, backslashes), collation_connection the character set of its string
 * literals, time_zone how an event's schedule times read. The server records them with the
 * object, so they are set exactly, and the caller's settings come back afterwards.
 */
export async function withSessionOf<T>(conn: Connection, s: SessionSettings, work: () => Promise<T>): Promise<T> {
	const [rows] = await conn.query(
		"SELECT @@SESSION.sql_mode AS sqlMode, @@SESSION.collation_connection AS co, @@SESSION.time_zone AS tz",
	);
	const saved = (rows as { sqlMode: string; co: string; tz: string }[])[0] as {
		sqlMode: string;
		co: string;
		tz: string;
	};
	await conn.query("SET SESSION sql_mode = ?, SESSION collation_connection = ?, SESSION time_zone = ?", [
		s.sqlMode,
		s.collationConnection,
		s.timeZone ?? saved.tz,
	]);
	try {
		return await work();
	} finally {
		await conn.query("SET SESSION sql_mode = ?, SESSION collation_connection = ?, SESSION time_zone = ?", [
			saved.sqlMode,
			saved.co,
			saved.tz,
		]);
	}
}

/** Names (lower case) of the procedures, functions or events of a database. */
export async function existingRoutines(
	conn: Connection,
	database: string,
	kind: PlannedRoutine["kind"],
): Promise<Set<string>> {
	const [rows] =
		kind === "event"
			? await conn.query("SELECT EVENT_NAME AS name FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?", [database])
			: await conn.query(
					"SELECT ROUTINE_NAME AS name FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? AND ROUTINE_TYPE = ?",
					[database, kind.toUpperCase()],
				);
	return new Set((rows as { name: string }[]).map((r) => r.name.toLowerCase()));
}

/** ER_BINLOG_UNSAFE_ROUTINE and ER_BINLOG_CREATE_ROUTINE_NEED_SUPER. */
const BINLOG_ROUTINE_ERRORS = new Set([1418, 1419]);

export async function applyRoutines(
	conn: Connection,
	planned: readonly PlannedRoutine[],
	result: { created: string[]; skipped: string[] },
): Promise<void> {
	const existing = new Map<string, Set<string>>();
	for (const r of planned) {
		const object = `${r.kind} ${qualifiedName(r.destination)}`;
		const key = `${r.kind}\u0000${r.destination.database}`;
		let names = existing.get(key);
		if (!names) {
			names = await existingRoutines(conn, r.destination.database, r.kind);
			existing.set(key, names);
		}
		if (names.has(r.destination.table.toLowerCase())) {
			result.skipped.push(`${object} (exists)`);
			continue;
		}
		try {
			await withSessionOf(conn, r, () => conn.query(r.sql));
		} catch (err) {
			const e = err as { errno?: number; message: string };
			throw new SchemaApplyError(
				qualifiedName(r.destination),
				`the destination refused to create the ${r.kind}: ${e.message}`,
				BINLOG_ROUTINE_ERRORS.has(e.errno ?? 0)
					? "with binary logging on, the destination takes functions that are not declared DETERMINISTIC, NO SQL or READS SQL DATA only from trusted creators: set log_bin_trust_function_creators=1 there (or give Ferry's destination user SUPER), then retry"
					: "fix the cause at the destination, or create it there by hand (the phase keeps what exists), then retry; the statement is in the schema plan",
			);
		}
		names.add(r.destination.table.toLowerCase());
		result.created.push(object);
	}
}
