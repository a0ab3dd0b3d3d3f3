import mysql from "mysql2/promise";
import { CodedError } from "../errors.ts";
import type { Credentials } from "../model/datasource.ts";

export type Connection = mysql.Connection;
export type Pool = mysql.Pool;
/** Either: what a function that runs one statement at a time takes. */
export type Queryable = Pool | Connection;

/** Raised for any failure to reach or log in to a database, with what to do about it. */
export class ConnectError extends CodedError {
	override readonly name = "ConnectError";
}

/** The driver options every Ferry connection uses (replay adds multipleStatements for its group round trips). */
export function connectionOptions(c: Credentials): mysql.ConnectionOptions {
	return {
		host: c.host,
		port: c.port,
		user: c.user,
		password: c.password,
		ssl: c.tls ? { rejectUnauthorized: true } : undefined,
		charset: "utf8mb4",
		// Values travel as the server's own text so nothing is rounded or shifted on the way:
		// DECIMAL and BIGINT as strings, temporal types as strings in the session time zone (UTC).
		supportBigNumbers: true,
		bigNumberStrings: true,
		decimalNumbers: false,
		dateStrings: true,
		timezone: "Z",
		connectTimeout: 10_000,
		// A peer that vanishes without a FIN or RST (a black-holed route, a host gone) otherwise
		// leaves a query waiting for hours: the kernel's keepalive probes find it, after 10 s idle
		// (Node sets a 1 s probe interval and 10 probes). A server alive but silent behind a proxy
		// that answers the probes is caught by replication's probe (replication/probe.ts).
		enableKeepAlive: true,
		keepAliveInitialDelay: 10_000,
		multipleStatements: false,
	};
}

const SESSION_SETUP = "SET time_zone = '+00:00', sql_mode = CONCAT(@@sql_mode, ',NO_AUTO_VALUE_ON_ZERO')";

/** Opens one connection with Ferry's session settings, turning driver errors into clear ones. */
export async function connect(c: Credentials): Promise<Connection> {
	let conn: Connection;
	try {
		conn = await mysql.createConnection(connectionOptions(c));
	} catch (err) {
		throw explainConnectError(err, c);
	}
	await conn.query(SESSION_SETUP);
	return conn;
}

/** A pool whose every connection has Ferry's session settings. */
export function createPool(c: Credentials, size: number): Pool {
	const pool = mysql.createPool({
		...connectionOptions(c),
		connectionLimit: size,
		waitForConnections: true,
	});
	pool.on("connection", (conn) => {
		conn.query(SESSION_SETUP);
	});
	return pool;
}

/** Driver and socket codes of a connection that failed or was lost on the way: the network, not the statement. */
const NETWORK_CODES = new Set([
	"ECONNRESET",
	"ECONNREFUSED",
	"ECONNABORTED",
	"ETIMEDOUT",
	"EPIPE",
	"EHOSTUNREACH",
	"ENETUNREACH",
	"ENOTFOUND",
	"EAI_AGAIN",
	"PROTOCOL_CONNECTION_LOST",
	"PROTOCOL_SEQUENCE_TIMEOUT",
	"UNREACHABLE",
	"CONNECTION_SEVERED",
]);

/**
 * Whether an error is a lost or failed connection (a cut, a black hole, a restarting server)
 * rather than something a statement did: worth retrying once the network is back.
 */
export function isNetworkError(err: unknown): boolean {
	const e = err as { code?: unknown; message?: unknown } | null;
	if (typeof e?.code === "string" && NETWORK_CODES.has(e.code)) return true;
	// mysql2's words for a query on a connection that already died
	return typeof e?.message === "string" && /connection is in closed state|Can't write in closed state/.test(e.message);
}

/**
 * How long work failing on the network only (a scheduler step, a chunk's attempts) is retried
 * before it opens a ticket: an outage of a few minutes is not a person's business.
 */
export function networkRetryMs(): number {
	return Number(process.env.FERRY_STEP_NETWORK_RETRY_MS ?? 5 * 60_000);
}

interface WithSocket {
	connection?: WithSocket;
	stream?: { destroy(err?: Error): void };
	on?(event: "error", listener: () => void): unknown;
}

function destroySocket(c: WithSocket, reason: string): void {
	// an idle connection reports its loss as an 'error' event: expected here, not a crash
	c.on?.("error", () => {});
	c.stream?.destroy(Object.assign(new Error(reason), { code: "CONNECTION_SEVERED" }));
}

/**
 * Closes a connection's socket at once, failing what waits on it with `reason`. mysql2's own
 * `destroy()` only half-closes the socket and forgets its pending queries: on a dead network
 * they (and an `end()` queued behind them) wait forever.
 */
export function sever(conn: Connection | mysql.PoolConnection, reason: string): void {
	const c = conn as unknown as WithSocket;
	destroySocket(c.connection ?? c, reason);
}

/** Severs every connection of a pool, idle or busy (see `sever`). */
export function severPool(pool: Pool, reason: string): void {
	const all = (pool as unknown as { pool?: { _allConnections?: { toArray(): WithSocket[] } } }).pool?._allConnections;
	for (const c of all?.toArray() ?? []) destroySocket(c, reason);
}

export function explainConnectError(err: unknown, c: Pick<Credentials, "host" | "port" | "user">): ConnectError {
	const e = err as { code?: string; message?: string };
	const where = `${c.host}:${c.port}`;
	switch (e.code) {
		case "ER_ACCESS_DENIED_ERROR":
		case "ER_ACCESS_DENIED_NO_PASSWORD_ERROR":
			return new ConnectError(
				`login to ${where} as '${c.user}' was refused: check the user name and password of the data source`,
				"ACCESS_DENIED",
			);
		case "ECONNREFUSED":
			return new ConnectError(
				`nothing listens on ${where}: check the host and port, and that the database is running`,
				"UNREACHABLE",
			);
		case "ENOTFOUND":
		case "EAI_AGAIN":
			return new ConnectError(`host '${c.host}' cannot be resolved: check the host name`, "UNREACHABLE");
		case "ETIMEDOUT":
			return new ConnectError(
				`connecting to ${where} timed out: check the host, port, firewall and security groups`,
				"UNREACHABLE",
			);
		case "HANDSHAKE_NO_SSL_SUPPORT":
			return new ConnectError(
				`${where} does not offer TLS: turn TLS off for this data source or enable it on the server`,
				"TLS",
			);
		default:
			return new ConnectError(`cannot connect to ${where}: ${e.message ?? String(err)}`, e.code ?? "CONNECT_FAILED");
	}
}
