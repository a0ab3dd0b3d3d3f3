import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RowChange } from "../../shared/capture/change.ts";
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
});
