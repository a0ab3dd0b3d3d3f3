import type { RowDataPacket } from "mysql2";
import { connect } from "../../shared/db/connect.ts";
import { describeColumns } from "../../shared/db/introspect.ts";
import { quoteId, quoteTable } from "../../shared/db/sql.ts";
import type { Credentials } from "../../shared/model/datasource.ts";

/*
 * A consumer that rebuilds tables from OMS Default-format messages, as a downstream system
 * would: snapshot rows and inserts are INSERTs, updates and deletes must find exactly the row
 * they name. A message applied twice (a duplicate key, an update or delete that finds nothing)
 * or missed (a later change that finds nothing) makes it throw, so a rebuild that completes and
 * equals the source is itself evidence of exactly-once delivery.
 */

export interface DefaultMessage {
	prevStruct: Record<string, string | null> | null;
	postStruct: Record<string, string | null> | null;
	allMetaData: { db?: string; table_name?: string; uniqueId?: string; record_primary_key?: string; transId?: string };
	recordType: "INSERT" | "UPDATE" | "DELETE" | "ROW" | "DDL" | "HEARTBEAT";
}

const BINARY = new Set(["binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "bit"]);

/** Creates the source's tables, empty, and its views in `database` at `destination`. */
export async function copyTableDefinitions(source: Credentials, destination: Credentials, database: string) {
	const src = await connect(source);
	const dst = await connect(destination);
	try {
		await dst.query(`DROP DATABASE IF EXISTS ${quoteId(database)}`);
		await dst.query(`CREATE DATABASE ${quoteId(database)}`);
		await dst.query("SET SESSION foreign_key_checks = 0");
		const [tables] = await src.query<RowDataPacket[]>(
			"SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'",
			[database],
		);
		for (const { t } of tables) {
			const [[row]] = await src.query<RowDataPacket[]>(
				`SHOW CREATE TABLE ${quoteTable({ database, table: String(t) })}`,
			);
			await dst.query(`USE ${quoteId(database)}`);
			await dst.query(String(row?.["Create Table"]));
		}
		// views are not in the messages: the consumer's own schema, like the tables' definitions
		const [views] = await src.query<RowDataPacket[]>(
			"SELECT TABLE_NAME AS t FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ?",
			[database],
		);
		for (const { t } of views) {
			const [[row]] = await src.query<RowDataPacket[]>(
				`SHOW CREATE VIEW ${quoteTable({ database, table: String(t) })}`,
			);
			await dst.query(String(row?.["Create View"]).replace(/DEFINER=\S+ /, ""));
		}
	} finally {
		await Promise.allSettled([src.end(), dst.end()]);
	}
}

/** Applies the messages of one table in order; throws on the first one that finds the table not as it expects. */
export async function applyDefaultMessages(destination: Credentials, messages: DefaultMessage[]): Promise<number> {
	const conn = await connect(destination);
	let applied = 0;
	try {
		await conn.query("SET SESSION foreign_key_checks = 0, time_zone = '+00:00', sql_mode = ''");
		const binaries = new Map<string, Set<string>>();
		for (const m of messages) {
			if (m.recordType === "HEARTBEAT" || m.recordType === "DDL") continue;
			const table = { database: String(m.allMetaData.db), table: String(m.allMetaData.table_name) };
			const id = `${table.database}.${table.table}`;
			let binary = binaries.get(id);
			if (!binary) {
				binary = new Set((await describeColumns(conn, table)).filter((c) => BINARY.has(c.dataType)).map((c) => c.name));
				binaries.set(id, binary);
			}
			const decode = (image: Record<string, string | null>) =>
				Object.entries(image).map(([c, v]) => [c, v !== null && binary.has(c) ? Buffer.from(v, "base64") : v] as const);
			const key = m.allMetaData.record_primary_key ? m.allMetaData.record_primary_key.split("\u0001") : [];
			const match = (image: Record<string, string | null>) => {
				const cols = decode(image).filter(([c]) => key.length === 0 || key.includes(c));
				return {
					sql: cols.map(([c]) => `${quoteId(c)} <=> ?`).join(" AND "),
					values: cols.map(([, v]) => v),
				};
			};
			const what = `${m.recordType} ${m.allMetaData.uniqueId} on ${id}`;
			if (m.recordType === "INSERT" || m.recordType === "ROW") {
				const cols = decode(m.postStruct ?? {});
				await conn.query(
					`INSERT INTO ${quoteTable(table)} (${cols.map(([c]) => quoteId(c)).join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`,
					cols.map(([, v]) => v),
				);
			} else {
				const where = match(m.prevStruct ?? {});
				const sql =
					m.recordType === "DELETE"
						? `DELETE FROM ${quoteTable(table)} WHERE ${where.sql} LIMIT 1`
						: `UPDATE ${quoteTable(table)} SET ${decode(m.postStruct ?? {})
								.map(([c]) => `${quoteId(c)} = ?`)
								.join(", ")} WHERE ${where.sql} LIMIT 1`;
				const setValues = m.recordType === "UPDATE" ? decode(m.postStruct ?? {}).map(([, v]) => v) : [];
				const [result] = await conn.query(sql, [...setValues, ...where.values]);
				const found = (result as { affectedRows: number }).affectedRows;
				if (found !== 1) throw new Error(`${what} found ${found} rows: a message was lost or applied twice`);
			}
			applied += 1;
		}
	} finally {
		await conn.end();
	}
	return applied;
}

/** The first rows that differ between two copies of a table (by their JSON), for a failure's message. */
export async function firstDifferences(a: Credentials, b: Credentials, database: string, table: string, limit = 3) {
	const read = async (creds: Credentials) => {
		const conn = await connect(creds);
		try {
			await conn.query("SET SESSION time_zone = '+00:00'");
			const [rows] = await conn.query<RowDataPacket[]>(`SELECT * FROM ${quoteTable({ database, table })}`);
			return new Set(rows.map((r) => JSON.stringify(r)));
		} finally {
			await conn.end();
		}
	};
	const [x, y] = await Promise.all([read(a), read(b)]);
	return {
		onlyInFirst: [...x].filter((r) => !y.has(r)).slice(0, limit),
		onlyInSecond: [...y].filter((r) => !x.has(r)).slice(0, limit),
	};
}
