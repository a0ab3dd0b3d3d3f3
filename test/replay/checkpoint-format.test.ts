import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Connection, connect } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import {
	CHECKPOINT_TABLE,
	checkpointStatements,
	ensureMetaSchema,
	readCheckpoint,
} from "../../shared/replay/checkpoint.ts";
import { FormatTooNewError } from "../../shared/state/format.ts";
import { destinationCredentials, dropDatabase, uniqueDatabase } from "../support/databases.ts";

/**
 * The checkpoint row's format (state/format.ts) on a real server: a helper schema an older Ferry
 * created (its table as that Ferry made it, without the `format` column) is read, extended and
 * written by this one; a row a newer Ferry wrote is refused.
 */
describe("checkpoint rows carry a format", () => {
	const meta = uniqueDatabase("meta_format");
	const table = `${quoteId(meta)}.${quoteId(CHECKPOINT_TABLE)}`;
	const position = { gtid: "0-1-42", file: "mariadb-bin.000007", pos: 1234 };
	let conn: Connection;

	beforeAll(async () => {
		conn = await connect(destinationCredentials);
		await conn.query(`CREATE DATABASE ${quoteId(meta)}`);
		// the table exactly as Ferry created it before checkpoint formats, with a row it wrote
		await conn.query(
			`CREATE TABLE ${table} (stream VARCHAR(191) NOT NULL PRIMARY KEY, gtid TEXT, file VARCHAR(255), pos BIGINT,
				applied_at DATETIME(6), source_commit_time DATETIME(6)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
		);
		await conn.query(
			`INSERT INTO ${table} VALUES ('old', '0-1-42', 'mariadb-bin.000007', 1234, UTC_TIMESTAMP(6), NULL)`,
		);
	});

	afterAll(async () => {
		await conn.end();
		await dropDatabase(meta, destinationCredentials);
	});

	it("reads an older Ferry's row (format 1) before and after its table gains the column", async () => {
		expect((await readCheckpoint(conn, "old", meta))?.position).toEqual(position);
		await ensureMetaSchema(conn, meta);
		await ensureMetaSchema(conn, meta); // twice: the column is added once
		const [cols] = await conn.query<import("mysql2").RowDataPacket[]>(`SHOW COLUMNS FROM ${table}`);
		expect(cols.map((c) => c.Field)).toEqual([
			"stream",
			"gtid",
			"file",
			"pos",
			"applied_at",
			"source_commit_time",
			"format",
		]);
		expect((await readCheckpoint(conn, "old", meta))?.position).toEqual(position);
	});

	it("writes the current format with the position, and refuses a newer Ferry's row by name", async () => {
		const next = { ...position, gtid: "0-1-43", pos: 2000 };
		for (const sql of checkpointStatements("old", next, null, meta)) await conn.query(sql);
		const [rows] = await conn.query<import("mysql2").RowDataPacket[]>(
			`SELECT format FROM ${table} WHERE stream = 'old'`,
		);
		expect(rows[0]?.format).toBe(1);
		expect((await readCheckpoint(conn, "old", meta))?.position).toEqual(next);

		await conn.query(`UPDATE ${table} SET format = 2 WHERE stream = 'old'`);
		const refused = await readCheckpoint(conn, "old", meta).catch((e: unknown) => e);
		expect(refused).toBeInstanceOf(FormatTooNewError);
		expect((refused as Error).message).toMatch(
			new RegExp(
				`^the checkpoint row of stream old in ${meta}\\.checkpoints is in format 2, newer than this Ferry knows \\(format 1\\)`,
			),
		);
	});
});
