import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DdlChange, RowChange } from "../../shared/capture/change.ts";
import { openBinlogReader } from "../../shared/capture/reader.ts";
import { zongjiFixes } from "../../shared/capture/zongji-fixes.ts";
import type { Connection } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import { freshDatabase, sourceCredentials, uniqueDatabase } from "../support/databases.ts";
import { readTransactions, uniqueServerId } from "./support.ts";

/** Each patch of zongji-fixes.ts, shown to be needed: the bug with the patch off, gone with it on. */
describe("zongji fixes", () => {
	const db = uniqueDatabase("capture_fixes");
	let conn: Connection;

	beforeAll(async () => {
		conn = await freshDatabase(sourceCredentials, db);
		await conn.query(
			"CREATE TABLE t (id INT PRIMARY KEY, g GEOMETRY, v VARCHAR(20), l VARCHAR(20) CHARACTER SET latin1, b BLOB, x TEXT)",
		);
	});

	afterAll(async () => {
		zongjiFixes.mariadbGeometryCharset.apply();
		zongjiFixes.queryStatusVarsBytes.apply();
		await conn?.query(`DROP DATABASE IF EXISTS ${quoteId(db)}`);
		await conn?.end();
	});

	async function captureOneRow(id: number) {
		const reader = await openBinlogReader(sourceCredentials, {
			from: "now",
			serverId: uniqueServerId(),
			include: (t) => t.database === db,
			includeDdl: (d) => d.database === db,
		});
		try {
			await conn.query(
				`INSERT INTO t VALUES (${id}, ST_GeomFromText('POINT(1 2)'), 'héllo', 'café', x'00ff10', 'text')`,
			);
			const [txn] = await readTransactions(reader, 1);
			return (txn?.[0]?.changes[0] as RowChange | undefined)?.after;
		} finally {
			await reader.close();
		}
	}

	it("MariaDB GEOMETRY no longer shifts the character sets of the columns after it", async () => {
		expect(zongjiFixes.mariadbGeometryCharset.applied).toBe(true);
		zongjiFixes.mariadbGeometryCharset.remove();
		const broken = await captureOneRow(1);
		zongjiFixes.mariadbGeometryCharset.apply();
		// the upstream bug: each string column decoded with the previous column's charset
		expect(broken?.v).not.toBe("héllo");
		expect(broken?.b).not.toEqual(Buffer.from("00ff10", "hex"));

		const fixed = await captureOneRow(2);
		expect(fixed?.v).toBe("héllo");
		expect(fixed?.l).toBe("café");
		expect(fixed?.b).toEqual(Buffer.from("00ff10", "hex"));
		expect(fixed?.x).toBe("text");
		// SRID 0, then WKB: little-endian, type 1 (point), x = 1.0, y = 2.0
		expect(fixed?.g).toEqual(
			Buffer.from("00000000" + "01" + "01000000" + "000000000000f03f" + "0000000000000040", "hex"),
		);
	});

	async function captureDdl(sql: string): Promise<DdlChange | undefined> {
		const reader = await openBinlogReader(sourceCredentials, {
			from: "now",
			serverId: uniqueServerId(),
			include: (t) => t.database === db,
			includeDdl: (d) => d.database === db,
		});
		try {
			await conn.query(sql);
			const [txn] = await readTransactions(reader, 1);
			return txn?.[0]?.changes[0] as DdlChange | undefined;
		} finally {
			await reader.close();
		}
	}

	it("a DDL statement's session (sql_mode, time zone, timestamp defaults, collations) survives the Query event", async () => {
		// collation 224 (utf8mb4_unicode_ci) is a byte above 0x7f among the status variables
		await conn.query(
			"SET SESSION sql_mode = 'PIPES_AS_CONCAT,NO_BACKSLASH_ESCAPES', time_zone = '+02:00', explicit_defaults_for_timestamp = OFF, collation_connection = utf8mb4_unicode_ci",
		);
		try {
			expect(zongjiFixes.queryStatusVarsBytes.applied).toBe(true);
			zongjiFixes.queryStatusVarsBytes.remove();
			const broken = await captureDdl("CREATE TABLE s1 (id INT, t TIMESTAMP DEFAULT '2024-01-01 00:00:00')");
			zongjiFixes.queryStatusVarsBytes.apply();
			// the upstream bug: the bytes are gone (text with U+FFFD in place of 0xe0): only the
			// server's default is left, which is not what this session had
			expect({ ...broken?.session, timestamp: undefined }).toEqual({
				explicitDefaultsForTimestamp: true,
				timestamp: undefined,
			});

			const fixed = await captureDdl("CREATE TABLE s2 (id INT, t TIMESTAMP DEFAULT '2024-01-01 00:00:00')");
			expect(fixed?.session?.timestamp).toBeCloseTo(Date.now() / 1000, -1);
			expect({ ...fixed?.session, timestamp: undefined }).toEqual({
				timestamp: undefined,
				sqlMode: ["PIPES_AS_CONCAT", "NO_BACKSLASH_ESCAPES"],
				timeZone: "+02:00",
				explicitDefaultsForTimestamp: false,
				charset: { client: 45, connection: 224, server: 45 },
			});
		} finally {
			await conn.query(
				"SET SESSION sql_mode = DEFAULT, time_zone = '+00:00', explicit_defaults_for_timestamp = DEFAULT, collation_connection = utf8mb4_general_ci",
			);
		}
	});

	it("a statement that used the SYSTEM time zone gets the source's system offset", async () => {
		await conn.query("SET SESSION time_zone = SYSTEM");
		try {
			const change = await captureDdl("CREATE TABLE s3 (t TIMESTAMP NULL DEFAULT '2024-01-01 00:00:00')");
			expect(change?.session?.timeZone).toMatch(/^[+-]\d\d:\d\d$/);
		} finally {
			await conn.query("SET SESSION time_zone = '+00:00'");
		}
	});
});
