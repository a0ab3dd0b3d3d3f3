import type { TableMapEvent } from "@vlasky/zongji";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RowChange, RowImage } from "../../shared/capture/change.ts";
import { openBinlogReader } from "../../shared/capture/reader.ts";
import { cacheTableMaps, tableMapCacheStats } from "../../shared/capture/tablemap-cache.ts";
import type { Connection } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import { freshDatabase, sourceCredentials, uniqueDatabase } from "../support/databases.ts";
import { ColumnType, EventType, event, type FixtureColumn, tableMapBody, u16 } from "./binlog-fixtures.ts";
import { columnDiffs, readTransactions, selectRows, uniqueServerId } from "./support.ts";
import { decodeEvent } from "./zongji-packets.ts";

/** A TABLE_MAP through zongji's packet parser, then where zongji's index.js puts it. */
function decodeTableMap(z: { tableMap: Record<number, unknown> }, bytes: Buffer): TableMapEvent {
	const tm = decodeEvent(z, bytes) as TableMapEvent;
	expect(tm.hasSelfDescribingMetadata()).toBe(true);
	return tm;
}

const columns = (enumValues: string[], nameLength = 128): FixtureColumn[] => [
	{ name: "id", type: ColumnType.LONG, meta: Buffer.alloc(0), nullable: false, numeric: { unsigned: true } },
	{ name: "name", type: ColumnType.VARCHAR, meta: u16(nameLength), nullable: true, character: true },
	{ name: "status", type: ColumnType.STRING, meta: Buffer.from([ColumnType.ENUM, 1]), nullable: true, enumValues },
];

/** What a decoded TABLE_MAP tells the row decoding, without the per-event header fields. */
function described(tm: TableMapEvent, z: { tableMap: Record<number, unknown> }): unknown {
	const { timestamp, nextPosition, size, tableMap, ...rest } = tm as unknown as Record<string, unknown>;
	return { event: rest, entry: z.tableMap[tm.tableId] };
}

describe("the TABLE_MAP cache, on byte fixtures (no server)", () => {
	for (const checksum of [true, false]) {
		it(`gives a repeated TABLE_MAP exactly what parsing gives, and parses a changed one (checksum ${checksum})`, () => {
			const cached = { tableMap: {} as Record<number, unknown>, useChecksum: checksum, isMariaDb: false };
			const plain = { tableMap: {} as Record<number, unknown>, useChecksum: checksum, isMariaDb: false };
			for (const z of [cached, plain]) Object.assign(z, { _skipSchema: () => false, connection: { config: {} } });
			cacheTableMaps(cached);
			const map = (values: string[], pos: number, nameLength?: number) =>
				event(EventType.TABLE_MAP, tableMapBody(108, "shop", "orders", columns(values, nameLength)), { pos, checksum })
					.bytes;
			const sequence = [
				map(["new", "done"], 4),
				map(["new", "done"], 500),
				map(["new", "done"], 900),
				// same table id, types and column metadata; other ENUM values: the bytes differ
				map(["new", "done", "gone"], 1300),
				map(["new", "done", "gone"], 1700),
				// a longer VARCHAR: the column metadata differs
				map(["new", "done", "gone"], 2100, 256),
			];
			const before = { ...tableMapCacheStats };
			for (const bytes of sequence) {
				expect(described(decodeTableMap(cached, bytes), cached)).toEqual(
					described(decodeTableMap(plain, bytes), plain),
				);
			}
			expect(tableMapCacheStats.hits - before.hits).toBe(3);
			expect(tableMapCacheStats.misses - before.misses).toBe(3);
		});
	}
});

/**
 * The TABLE_MAP cache (shared/capture/tablemap-cache.ts) is for speed only: rows decoded through
 * cached table maps must equal the source's rows, also after a change of the table's metadata.
 */
describe("the TABLE_MAP cache", () => {
	const db = uniqueDatabase("capture_tmcache");
	let conn: Connection;

	beforeAll(async () => {
		conn = await freshDatabase(sourceCredentials, db);
		await conn.query(
			`CREATE TABLE t (id INT PRIMARY KEY, u INT UNSIGNED, d DECIMAL(10,3), e ENUM('x','y','z'), s SET('a','b','c'),
			 l VARCHAR(20) CHARACTER SET latin1, v VARCHAR(20) CHARACTER SET utf8mb4, b VARBINARY(8), g GEOMETRY, j JSON)`,
		);
	});

	afterAll(async () => {
		await conn?.query(`DROP DATABASE IF EXISTS ${quoteId(db)}`);
		await conn?.end();
	});

	it("serves repeated table maps and decodes every row as the source holds it, before and after a change of the table", async () => {
		const reader = await openBinlogReader(sourceCredentials, {
			from: "now",
			serverId: uniqueServerId(),
			include: (t) => t.database === db,
			// other tests' DDL must not count among the transactions read below
			includeDdl: (d) => d.database === db,
		});
		const before = { ...tableMapCacheStats };
		try {
			const row = (id: number, e: string) =>
				`(${id}, ${4294967290 + (id % 5)}, ${id}.125, '${e}', 'a,c', 'café ${id}', 'ü€ ${id}', X'00ff0${id}', ST_GeomFromText('POINT(${id} 2)'), '{"k": ${id}}')`;
			for (let id = 1; id <= 4; id++)
				await conn.query(`INSERT INTO t VALUES ${row(id, ["x", "y", "z"][id % 3] as string)}`);
			// new ENUM values and another character set: the table map's metadata changes
			await conn.query(
				"ALTER TABLE t MODIFY e ENUM('w','x','y','z','extra'), MODIFY l VARCHAR(30) CHARACTER SET utf8mb4",
			);
			for (let id = 5; id <= 7; id++) await conn.query(`INSERT INTO t VALUES ${row(id, "extra")}`);
			await conn.query("UPDATE t SET e = 'w', u = 7 WHERE id = 2");
			// 8 row transactions and the ALTER
			const transactions = await readTransactions(reader, 9);
			const images = new Map<number, RowImage>();
			for (const c of transactions.flat().flatMap((p) => p.changes)) {
				const after = (c as RowChange).after;
				if (after) images.set(Number(after.id), after);
			}
			const expected = await selectRows(conn, "SELECT * FROM t");
			expect([...images.keys()].sort()).toEqual([...expected.keys()].sort());
			for (const [id, image] of images) expect(columnDiffs(image, expected.get(id)), `row ${id}`).toEqual([]);
			expect(tableMapCacheStats.hits - before.hits).toBeGreaterThanOrEqual(4);
			expect(tableMapCacheStats.misses - before.misses).toBeGreaterThanOrEqual(2);
		} finally {
			await reader.close();
		}
	});
});
