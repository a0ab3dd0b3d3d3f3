import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RowChange, RowImage, TransactionPart } from "../../shared/capture/change.ts";
import { openBinlogReader } from "../../shared/capture/reader.ts";
import type { BinlogReader } from "../../shared/capture/reader-types.ts";
import type { Connection } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import { ALL_TYPES_ROW_1, ALL_TYPES_ROW_2, ALL_TYPES_ROW_3, ALL_TYPES_TABLE } from "../support/all-types.ts";
import { freshDatabase, sourceCredentials, uniqueDatabase } from "../support/databases.ts";
import { columnDiffs, readTransactions, selectRows, uniqueServerId } from "./support.ts";

/**
 * Every column type round-trips through capture: what a row event decodes to equals what a
 * SELECT returns for the same row (the server's text for numbers and temporal values, Buffers
 * for binary), value by value, for inserts, both images of updates, and deletes.
 * GEOMETRY comes first on purpose: with FULL metadata it used to shift every later column's
 * charset (zongji-fixes.ts).
 */

describe("capture of every column type", () => {
	const db = uniqueDatabase("capture_types");
	let conn: Connection;
	let reader: BinlogReader;
	let selectList: string;

	beforeAll(async () => {
		conn = await freshDatabase(sourceCredentials, db);
		// zero dates and the invalid ENUM value need a lenient sql_mode
		await conn.query("SET SESSION sql_mode = ''");
		await conn.query(`CREATE TABLE all_types ${ALL_TYPES_TABLE}`);
		const [cols] = await conn.query<import("mysql2").RowDataPacket[]>(
			"SELECT COLUMN_NAME AS name, DATA_TYPE AS type FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'all_types' ORDER BY ORDINAL_POSITION",
			[db],
		);
		expect(cols).toHaveLength(57);
		// MariaDB prints FLOAT with 6 digits; as a double its stored value is exact
		selectList = cols
			.map((c) => (c.type === "float" ? `${quoteId(c.name)} * 1e0 AS ${quoteId(c.name)}` : quoteId(c.name)))
			.join(", ");
		reader = await openBinlogReader(sourceCredentials, {
			from: "now",
			serverId: uniqueServerId(),
			include: (t) => t.database === db,
			includeDdl: (d) => d.database === db,
		});
	});

	afterAll(async () => {
		await reader?.close();
		await conn?.query(`DROP DATABASE IF EXISTS ${quoteId(db)}`);
		await conn?.end();
	});

	it("inserts, updates and deletes come out as the server's own values", async () => {
		// TIMESTAMPs are written from +05:00 and must come out in UTC
		await conn.query("SET time_zone = '+05:00'");
		await conn.query(`INSERT INTO all_types VALUES ${ALL_TYPES_ROW_1}, ${ALL_TYPES_ROW_2}, ${ALL_TYPES_ROW_3}`);
		await conn.query("SET time_zone = '+00:00'");
		const inserted = await selectRows(conn, `SELECT ${selectList} FROM all_types`);
		expect(inserted.get(1)?.ts0).toBe("2038-01-19 03:14:07");
		expect(inserted.get(2)?.e).toBe("");
		expect(inserted.get(2)?.y).toBe(0);

		await conn.query(
			`UPDATE all_types SET vc = CONCAT(vc, '!'), bi = bi DIV 2, dt6 = '2000-01-01 00:00:00.5', g = POINT(3, 4), y = 1901, e = 'red',
				j = '[]', u = '11223344-5566-1778-8899-aabbccddeeff', biu = 9007199254740993 WHERE id IN (1, 2)`,
		);
		const updated = await selectRows(conn, `SELECT ${selectList} FROM all_types`);
		await conn.query("DELETE FROM all_types WHERE id IN (2, 3)");

		const transactions = await readTransactions(reader, 3);
		expect(transactions).toHaveLength(3);
		const changes = (t: TransactionPart[] | undefined) => (t ?? []).flatMap((p) => p.changes) as RowChange[];
		const [ins, upd, del] = [changes(transactions[0]), changes(transactions[1]), changes(transactions[2])];

		const diffs: string[] = [];
		const check = (what: string, actual: RowImage | undefined, expected: RowImage | undefined) => {
			for (const d of columnDiffs(actual, expected)) diffs.push(`${what}: ${d}`);
		};
		expect(ins.map((c) => c.kind)).toEqual(["insert", "insert", "insert"]);
		for (const c of ins) check(`insert ${c.after?.id}`, c.after, inserted.get(Number(c.after?.id)));
		expect(upd.map((c) => c.kind)).toEqual(["update", "update"]);
		for (const c of upd) {
			check(`update ${c.before?.id} before`, c.before, inserted.get(Number(c.before?.id)));
			check(`update ${c.after?.id} after`, c.after, updated.get(Number(c.after?.id)));
		}
		expect(del.map((c) => c.kind)).toEqual(["delete", "delete"]);
		for (const c of del) check(`delete ${c.before?.id}`, c.before, updated.get(Number(c.before?.id)));
		expect(diffs).toEqual([]);

		// a few values spelled out, so the contract is visible here and not only by comparison
		const row1 = ins[0]?.after as RowImage;
		expect(row1.biu).toBe("18446744073709551615");
		expect(row1.bi).toBe("-9223372036854775808");
		expect(row1.iu).toBe(4294967295);
		expect(row1.dec65).toBe("-12345678901234567890123456789012345.123456789012345678901234567890");
		// FLOAT: the stored single-precision value, exactly
		expect(row1.f).toBe(Math.fround(Number("3.1415926")));
		expect(row1.t6).toBe("-838:59:59.000000");
		expect(row1.ts6).toBe("1970-01-01 00:00:01.000001");
		expect(row1.bit10).toEqual(Buffer.from([0x02, 0xaa]));
		expect(row1.bin).toEqual(Buffer.from("00ff00ff00000000", "hex"));
		expect(row1.vc_l).toBe("naïve € œ");
		expect(row1.vc).toBe("héllo 😀 wörld");
		expect(row1.u).toBe("123e4567-e89b-12d3-a456-426614174000");
		expect(row1.ip6).toBe("2001:db8::ff00:42:8329");
		expect(Buffer.isBuffer(row1.g)).toBe(true);
		const row2 = ins[1]?.after as RowImage;
		expect(row2.dt).toBe("0000-00-00");
		expect(row2.dt6).toBe("0000-00-00 00:00:00.000000");
		expect(row2.ts0).toBe("0000-00-00 00:00:00");
		expect(row2.y).toBe(0);
		expect(row2.e).toBe("");
		expect(row2.biu).toBe(0);
		expect(Object.values(ins[2]?.after ?? {}).filter((v) => v !== null)).toEqual([3]);
		expect(upd[0]?.after?.biu).toBe("9007199254740993");
	});
});
