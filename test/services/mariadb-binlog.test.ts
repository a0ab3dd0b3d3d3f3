import ZongJi from "@vlasky/zongji";
import { afterAll, describe, expect, it } from "vitest";
import { connect } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import { destinationCredentials, freshDatabase, sourceCredentials, uniqueDatabase } from "../support/databases.ts";

describe("the private MariaDB instances", () => {
	const db = uniqueDatabase("binlog");

	afterAll(async () => {
		const conn = await connect(sourceCredentials);
		await conn.query(`DROP DATABASE IF EXISTS ${quoteId(db)}`);
		await conn.end();
	});

	it.each([
		["source", sourceCredentials],
		["destination", destinationCredentials],
	])("%s has the binlog settings capture relies on", async (_name, creds) => {
		const conn = await connect(creds);
		const [rows] = await conn.query(
			"SELECT @@log_bin AS logBin, @@binlog_format AS format, @@binlog_row_image AS image, @@binlog_row_metadata AS metadata, @@server_id AS serverId",
		);
		await conn.end();
		// bigNumberStrings: BIGINT system variables arrive as strings
		expect(rows).toEqual([
			{
				logBin: "1",
				format: "ROW",
				image: "FULL",
				metadata: "FULL",
				serverId: expect.stringMatching(/^[1-9]/),
			},
		]);
	});

	it("a row written at the source is read back from its binlog with column names and GTID", async () => {
		const conn = await freshDatabase(sourceCredentials, db);
		await conn.query("CREATE TABLE t (id INT PRIMARY KEY, note VARCHAR(20), amount DECIMAL(20,4))");
		const [status] = await conn.query("SHOW MASTER STATUS");
		const { File: filename, Position: position } = (status as { File: string; Position: number }[])[0] ?? {};

		const reader = new ZongJi({ ...sourceCredentials, timezone: "Z" });
		const seen = new Promise<{ row: unknown; gtid?: string }>((resolve, reject) => {
			reader.on("error", reject);
			reader.on("binlog", (event) => {
				if (event.getEventName() === "writerows") {
					resolve({
						row: (event as { rows: unknown[] }).rows[0],
						gtid: event.gtid,
					});
				}
			});
		});
		reader.start({
			serverId: 9001,
			filename,
			position,
			includeEvents: ["tablemap", "writerows", "gtid"],
			includeSchema: { [db]: true },
		});
		await new Promise<void>((resolve) => reader.on("ready", () => resolve()));
		await conn.query("INSERT INTO t VALUES (7, 'seven', 12345678901234.5678)");
		const { row, gtid } = await seen;
		reader.stop();
		await conn.end();
		expect(row).toEqual({
			id: 7,
			note: "seven",
			amount: "12345678901234.5678",
		});
		expect(gtid).toMatch(/^1-1-\d+$/);
	});
});
