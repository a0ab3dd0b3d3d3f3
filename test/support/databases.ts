import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { type Connection, connect } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import type { Credentials } from "../../shared/model/datasource.ts";

/** The two private MariaDB instances started by scripts/services/mariadb.sh. */
function readLocalPassword(): { user: string; password: string } {
	const home = process.env.FERRY_HOME ?? join(homedir(), ".ferry");
	const file = join(home, "secrets", "mariadb.env");
	let text: string;
	try {
		text = readFileSync(file, "utf8");
	} catch {
		throw new Error(`${file} is missing: start the test databases with scripts/services/mariadb.sh start`);
	}
	const env = Object.fromEntries(
		text
			.split("\n")
			.filter((l) => l.includes("="))
			.map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
	);
	return {
		user: env.FERRY_DB_USER ?? "ferry",
		password: env.FERRY_DB_PASSWORD ?? "",
	};
}

const login = readLocalPassword();

export const sourceCredentials: Credentials = {
	host: "127.0.0.1",
	port: Number(process.env.FERRY_SOURCE_PORT ?? 33401),
	tls: false,
	...login,
};

export const destinationCredentials: Credentials = {
	host: "127.0.0.1",
	port: Number(process.env.FERRY_DESTINATION_PORT ?? 33402),
	tls: false,
	...login,
};

/** A third instance that tests may restart or reconfigure (scripts/services/mariadb.sh start scratch). */
export const scratchCredentials: Credentials = {
	host: "127.0.0.1",
	port: Number(process.env.FERRY_SCRATCH_PORT ?? 33403),
	tls: false,
	...login,
};

/** A fourth instance, the destination of tests that restart both ends. */
export const scratch2Credentials: Credentials = {
	host: "127.0.0.1",
	port: Number(process.env.FERRY_SCRATCH2_PORT ?? 33404),
	tls: false,
	...login,
};

let counter = 0;
/** A database name unique to this test run, so tests never see each other's tables. */
export function uniqueDatabase(prefix: string): string {
	counter += 1;
	return `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter}`;
}

/** Creates (or recreates) a database on the server and returns an open connection to it. */
export async function freshDatabase(creds: Credentials, database: string): Promise<Connection> {
	const conn = await connect(creds);
	await conn.query(`DROP DATABASE IF EXISTS ${quoteId(database)}`);
	await conn.query(`CREATE DATABASE ${quoteId(database)} CHARACTER SET utf8mb4`);
	await conn.query(`USE ${quoteId(database)}`);
	return conn;
}
