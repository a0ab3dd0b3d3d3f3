import type { RowDataPacket } from "mysql2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Connection, connect } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import { DDL_JOURNAL_TABLE, executeDdl, replaySqlMode } from "../../shared/replay/ddl-execute.ts";
import { destinationCredentials, freshDatabase, uniqueDatabase } from "../support/databases.ts";

/**
 * Running translated DDL at the destination (shared/replay/ddl-execute.ts): in the source
 * statement's session, and once only, even when a crash before replay's checkpoint makes it
 * come again.
 */

const DB = uniqueDatabase("ddl_exec");
const META = `${DB}_meta`;
let admin: Connection;
let replay: Connection;

beforeAll(async () => {
	admin = await freshDatabase(destinationCredentials, DB);
	replay = await connect(destinationCredentials);
	await replay.query(`CREATE DATABASE IF NOT EXISTS ${quoteId(META)}`);
});

afterAll(async () => {
	await admin?.query(`DROP DATABASE IF EXISTS ${quoteId(DB)}`);
	await admin?.query(`DROP DATABASE IF EXISTS ${quoteId(META)}`);
	await Promise.all([admin?.end(), replay?.end()]);
});

async function create(table: string): Promise<string> {
	const [[row]] = await admin.query<RowDataPacket[]>(`SHOW CREATE TABLE ${quoteId(DB)}.${quoteId(table)}`);
	return String(row?.["Create Table"]);
}

const ctx = (ddlId: string) => ({
	stream: "exec-test",
	ddlId,
	session: undefined,
	destinationEngine: "mariadb" as const,
	metaDatabase: META,
});

describe("executeDdl", () => {
	it("runs an ALTER TABLE that cannot run twice only once when it comes again after a crash", async () => {
		await admin.query("CREATE TABLE t1 (id INT PRIMARY KEY, note TEXT)");
		const t = { database: DB, table: "t1" };
		const run = {
			statements: [`ALTER TABLE ${quoteId(DB)}.t1 CHANGE COLUMN IF EXISTS note note_old TEXT, ADD COLUMN note TEXT`],
			guards: [[t]],
		};
		await executeDdl(replay, run, ctx("ddl-1"));
		const once = await create("t1");
		expect(once).toMatch(/`note_old` text.*\n.*`note` text/);
		// the same statement again, as after a crash before the checkpoint: passed over
		await executeDdl(replay, run, ctx("ddl-1"));
		expect(await create("t1")).toBe(once);
		// the crash came after the statement but before its step was marked done: the changed
		// definition tells that it ran
		await admin.query(`UPDATE ${quoteId(META)}.${quoteId(DDL_JOURNAL_TABLE)} SET step = 0 WHERE stream = 'exec-test'`);
		await executeDdl(replay, run, ctx("ddl-1"));
		expect(await create("t1")).toBe(once);
		// another statement with the same text (a later binlog event) runs
		await expect(executeDdl(replay, run, ctx("ddl-2"))).rejects.toThrow(/Duplicate column name 'note_old'/);
	});

	it("does not swap two tables back when a RENAME comes again", async () => {
		await admin.query("CREATE TABLE a (id INT PRIMARY KEY)");
		await admin.query("CREATE TABLE b (id INT PRIMARY KEY, v INT)");
		const q = (n: string) => `${quoteId(DB)}.${quoteId(n)}`;
		const run = {
			statements: [`RENAME TABLE ${q("a")} TO ${q("tmp")}, ${q("b")} TO ${q("a")}, ${q("tmp")} TO ${q("b")}`],
			guards: [["a", "b", "tmp"].map((table) => ({ database: DB, table }))],
		};
		await executeDdl(replay, run, ctx("swap"));
		await executeDdl(replay, run, ctx("swap"));
		expect(await create("a")).toMatch(/`v` int/);
		expect(await create("b")).not.toMatch(/`v` int/);
	});

	it("runs the statement in the source session (time zone, sql_mode, timestamp defaults) and restores replay's", async () => {
		await replay.query(
			"SET SESSION time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES', explicit_defaults_for_timestamp = ON",
		);
		await admin.query("CREATE TABLE t2 (id INT PRIMARY KEY, name VARCHAR(10))");
		await executeDdl(
			replay,
			{
				statements: [
					`ALTER TABLE ${quoteId(DB)}.t2 ADD COLUMN since TIMESTAMP NOT NULL DEFAULT '2024-01-01 02:00:00', ADD COLUMN seen TIMESTAMP, ADD COLUMN shout VARCHAR(20) AS (name || '!')`,
				],
			},
			{
				...ctx("session"),
				session: {
					sqlMode: ["PIPES_AS_CONCAT", "NO_BACKSLASH_ESCAPES", "ANSI_QUOTES"],
					timeZone: "+02:00",
					explicitDefaultsForTimestamp: false,
				},
			},
		);
		await admin.query("SET SESSION time_zone = '+00:00'");
		const text = await create("t2");
		// 02:00 at +02:00 is midnight UTC: shown in the reading session's zone (UTC)
		expect(text).toContain("`since` timestamp NOT NULL DEFAULT '2024-01-01 00:00:00'");
		expect(text).toContain("`seen` timestamp NOT NULL DEFAULT '0000-00-00 00:00:00'");
		expect(text).toMatch(/`shout` varchar\(20\) GENERATED ALWAYS AS \(concat\(`name`,'!'\)\)/);
		const [[after]] = await replay.query<RowDataPacket[]>(
			"SELECT @@session.time_zone AS tz, @@session.sql_mode AS mode, @@session.explicit_defaults_for_timestamp AS edft",
		);
		expect(after).toEqual({ tz: "+00:00", mode: "STRICT_ALL_TABLES", edft: "1" });
	});

	it("says what to do when the destination does not know the source's time zone", async () => {
		await expect(
			executeDdl(replay, { statements: ["SELECT 1"] }, { ...ctx("tz"), session: { timeZone: "Mars/Olympus_Mons" } }),
		).rejects.toThrow(/time_zone 'Mars\/Olympus_Mons', which the destination does not know .*time zone tables/);
	});

	it("sets the source's sql_mode without the lexical modes, composites, and modes the destination lacks", () => {
		const sqlMode = [
			"PIPES_AS_CONCAT",
			"ANSI_QUOTES",
			"NO_BACKSLASH_ESCAPES",
			"ANSI",
			"NO_TABLE_OPTIONS",
			"STRICT_TRANS_TABLES",
			"NO_AUTO_CREATE_USER",
			"TIME_TRUNCATE_FRACTIONAL",
		];
		expect(replaySqlMode({ sqlMode }, "mariadb")).toBe(
			"PIPES_AS_CONCAT,NO_TABLE_OPTIONS,STRICT_TRANS_TABLES,NO_AUTO_CREATE_USER",
		);
		expect(replaySqlMode({ sqlMode }, "mysql")).toBe("PIPES_AS_CONCAT,STRICT_TRANS_TABLES,TIME_TRUNCATE_FRACTIONAL");
		expect(replaySqlMode({}, "mariadb")).toBeUndefined();
	});
});
