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
