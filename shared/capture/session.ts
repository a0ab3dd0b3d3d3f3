/**
 * The session context a statement logged as text ran in at the source, read from its Query
 * event's status variables: the same statement means different things under another sql_mode
 * (`||` is OR or concatenation, a backslash escapes or is a character, "x" is a string or a
 * name), time zone (a TIMESTAMP literal is stored in UTC) or timestamp-defaults setting (a bare
 * TIMESTAMP column is NULL or NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE ...). DDL replay
 * reads and runs the statement in that context.
 *
 * Layout (MariaDB sql/log_event.cc Query_log_event, MySQL libbinlogevents statement_events.cpp):
 * a sequence of one-byte codes, each followed by its value. Servers stop at the first code
 * they do not know, and so does this reader.
 */

export interface QuerySession {
	/** The session's sql_mode, as names (single modes; composites like ANSI are expanded by the server). */
	sqlMode?: string[];
	/** The session's time zone, when the statement used it ('+02:00', 'Europe/Berlin', 'SYSTEM'). */
	timeZone?: string;
	/** explicit_defaults_for_timestamp of the session (MariaDB flags2, MySQL's own status variable). */
	explicitDefaultsForTimestamp?: boolean;
	/** When the statement ran at the source, epoch seconds with microseconds: CURRENT_TIMESTAMP in it means this. */
	timestamp?: number;
	/** character_set_client, collation_connection and collation_server as collation ids. */
	charset?: { client: number; connection: number; server: number };
}

/** sql_mode bits 0..31, the same on MariaDB and MySQL (sql/sql_class.h, sql/system_variables.h). */
const COMMON_MODES = [
	"REAL_AS_FLOAT",
	"PIPES_AS_CONCAT",
	"ANSI_QUOTES",
	"IGNORE_SPACE",
	"IGNORE_BAD_TABLE_OPTIONS", // MySQL: NOT_USED
	"ONLY_FULL_GROUP_BY",
	"NO_UNSIGNED_SUBTRACTION",
	"NO_DIR_IN_CREATE",
	"POSTGRESQL",
	"ORACLE",
	"MSSQL",
	"DB2",
	"MAXDB",
	"NO_KEY_OPTIONS",
	"NO_TABLE_OPTIONS",
	"NO_FIELD_OPTIONS",
	"MYSQL323",
	"MYSQL40",
	"ANSI",
	"NO_AUTO_VALUE_ON_ZERO",
	"NO_BACKSLASH_ESCAPES",
	"STRICT_TRANS_TABLES",
	"STRICT_ALL_TABLES",
	"NO_ZERO_IN_DATE",
	"NO_ZERO_DATE",
	"ALLOW_INVALID_DATES",
	"ERROR_FOR_DIVISION_BY_ZERO",
	"TRADITIONAL",
	"NO_AUTO_CREATE_USER",
	"HIGH_NOT_PRECEDENCE",
	"NO_ENGINE_SUBSTITUTION",
	"PAD_CHAR_TO_FULL_LENGTH",
];
const MARIADB_HIGH_MODES = ["EMPTY_STRING_IS_NULL", "SIMULTANEOUS_ASSIGNMENT", "TIME_ROUND_FRACTIONAL"];
const MYSQL_HIGH_MODES = ["TIME_TRUNCATE_FRACTIONAL"];

/** MariaDB's OPTION_EXPLICIT_DEF_TIMESTAMP as it lands in the event's 32-bit flags2. */
const MARIADB_FLAGS2_EXPLICIT_DEF_TIMESTAMP = 1 << 24;

export function sqlModeNames(mode: bigint, flavor: "mariadb" | "mysql"): string[] {
	const names = [...COMMON_MODES, ...(flavor === "mariadb" ? MARIADB_HIGH_MODES : MYSQL_HIGH_MODES)];
	const out: string[] = [];
	names.forEach((name, bit) => {
		if ((mode >> BigInt(bit)) & 1n) out.push(name);
	});
	if (flavor === "mysql") return out.filter((n) => n !== "IGNORE_BAD_TABLE_OPTIONS");
	return out;
}

/** Decodes a Query event's status variables; what cannot be read is left out. */
export function decodeQuerySession(
	statusVars: Buffer | undefined,
	flavor: "mariadb" | "mysql",
): QuerySession & { microseconds?: number } {
	const session: QuerySession & { microseconds?: number } = {};
	if (!statusVars) return session;
	const bytes: Buffer = statusVars;
	let p = 0;
	const has = (n: number) => p + n <= bytes.length;
	const lengthPrefixed = (): string | undefined => {
		if (!has(1)) return undefined;
		const n = bytes[p] as number;
		if (!has(1 + n)) return undefined;
		const text = bytes.subarray(p + 1, p + 1 + n).toString("latin1");
		p += 1 + n;
		return text;
	};
	while (p < bytes.length) {
		const code = bytes[p++] as number;
		switch (code) {
			case 0: // Q_FLAGS2_CODE
				if (!has(4)) return session;
				if (flavor === "mariadb") {
					session.explicitDefaultsForTimestamp = (bytes.readUInt32LE(p) & MARIADB_FLAGS2_EXPLICIT_DEF_TIMESTAMP) !== 0;
				}
				p += 4;
				break;
			case 1: // Q_SQL_MODE_CODE
				if (!has(8)) return session;
				session.sqlMode = sqlModeNames(bytes.readBigUInt64LE(p), flavor);
				p += 8;
				break;
			case 2: // Q_CATALOG_CODE (5.0.0-3): length, name, NUL
				if (lengthPrefixed() === undefined || !has(1)) return session;
				p += 1;
				break;
			case 3: // Q_AUTO_INCREMENT
				p += 4;
				break;
			case 4: // Q_CHARSET_CODE
				if (!has(6)) return session;
				session.charset = {
					client: bytes.readUInt16LE(p),
					connection: bytes.readUInt16LE(p + 2),
					server: bytes.readUInt16LE(p + 4),
				};
				p += 6;
				break;
			case 5: {
				// Q_TIME_ZONE_CODE: written when the statement used the time zone
				const tz = lengthPrefixed();
				if (tz === undefined) return session;
				session.timeZone = tz;
				break;
			}
			case 6: // Q_CATALOG_NZ_CODE
				if (lengthPrefixed() === undefined) return session;
				break;
			case 7: // Q_LC_TIME_NAMES_CODE
			case 8: // Q_CHARSET_DATABASE_CODE
				p += 2;
				break;
			case 9: // Q_TABLE_MAP_FOR_UPDATE_CODE
				p += 8;
				break;
			case 10: // Q_MASTER_DATA_WRITTEN_CODE
				p += 4;
				break;
			case 11: // Q_INVOKER: user, host
				if (lengthPrefixed() === undefined || lengthPrefixed() === undefined) return session;
				break;
			default:
				if (flavor === "mysql" ? !mysqlCode(code) : !mariadbCode(code)) return session;
		}
	}
	return session;

	function mysqlCode(code: number): boolean {
		switch (code) {
			case 12: {
				// Q_UPDATED_DB_NAMES: a count, then NUL-terminated names (254: too many, none listed)
				if (!has(1)) return false;
				const count = bytes[p++] as number;
				if (count === 254) return true;
				for (let i = 0; i < count; i++) {
					const end = bytes.indexOf(0, p);
					if (end < 0) return false;
					p = end + 1;
				}
				return true;
			}
			case 13: // Q_MICROSECONDS: of the event's timestamp
				if (!has(3)) return false;
				session.microseconds = bytes.readUIntLE(p, 3);
				p += 3;
				return true;
			case 14: // Q_COMMIT_TS
			case 15: // Q_COMMIT_TS2
				return false;
			case 16: // Q_EXPLICIT_DEFAULTS_FOR_TIMESTAMP
				if (!has(1)) return false;
				session.explicitDefaultsForTimestamp = bytes[p] !== 0;
				p += 1;
				return true;
			case 17: // Q_DDL_LOGGED_WITH_XID
				p += 8;
				return true;
			case 18: // Q_DEFAULT_COLLATION_FOR_UTF8MB4
				p += 2;
				return true;
			case 19: // Q_SQL_REQUIRE_PRIMARY_KEY
			case 20: // Q_DEFAULT_TABLE_ENCRYPTION
				p += 1;
				return true;
			default:
				return false;
		}
	}

	function mariadbCode(code: number): boolean {
		switch (code) {
			case 128: // Q_HRNOW: the microseconds of the event's timestamp
				if (!has(3)) return false;
				session.microseconds = bytes.readUIntLE(p, 3);
				p += 3;
				return true;
			case 129: // Q_XID
				p += 8;
				return true;
			case 130: {
				// Q_GTID_FLAGS3, with a sequence number for the commit or rollback of a split ALTER
				if (!has(1)) return false;
				const flags = bytes[p++] as number;
				if (flags & (0x4 | 0x8)) p += 8;
				return true;
			}
			case 131: {
				// Q_CHARACTER_SET_COLLATIONS (11.2+): a count, then pairs of 2-byte ids
				if (!has(1)) return false;
				const count = bytes[p++] as number;
				p += 4 * count;
				return true;
			}
			default:
				return false;
		}
	}
}

/** What a session at the source starts with, where the event leaves a value out or names 'SYSTEM'. */
export interface SessionDefaults {
	/** The source's system time zone as an offset ('+01:00'), read when capture opened. */
	systemTimeZone: string;
	explicitDefaultsForTimestamp: boolean;
}

export async function readSessionDefaults(conn: {
	query: (sql: string) => Promise<[unknown, unknown]>;
}): Promise<SessionDefaults> {
	const [rows] = await conn.query(
		"SELECT TIMESTAMPDIFF(MINUTE, UTC_TIMESTAMP(), CONVERT_TZ(UTC_TIMESTAMP(), '+00:00', 'SYSTEM')) AS minutes, @@global.explicit_defaults_for_timestamp AS edft",
	);
	const row = (rows as { minutes: unknown; edft: unknown }[])[0];
	const minutes = Number(row?.minutes ?? 0);
	return { systemTimeZone: offsetText(minutes), explicitDefaultsForTimestamp: Number(row?.edft ?? 1) !== 0 };
}

function offsetText(minutes: number): string {
	const sign = minutes < 0 ? "-" : "+";
	const abs = Math.abs(minutes);
	return `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}

/** The statement's session: the event's values, completed and resolved with the source's defaults. */
export function querySession(
	statusVars: Buffer | undefined,
	flavor: "mariadb" | "mysql",
	defaults: SessionDefaults | undefined,
	/** The event's timestamp, epoch milliseconds (whole seconds). */
	eventTime: number,
): QuerySession {
	const { microseconds, ...s }: QuerySession & { microseconds?: number } = decodeQuerySession(statusVars, flavor);
	s.timestamp = Math.floor(eventTime / 1000) + (microseconds ?? 0) / 1e6;
	if (defaults) {
		if (s.timeZone?.toUpperCase() === "SYSTEM") s.timeZone = defaults.systemTimeZone;
		s.explicitDefaultsForTimestamp ??= defaults.explicitDefaultsForTimestamp;
	}
	return s;
}
