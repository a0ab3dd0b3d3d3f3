import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WholeTableChunk } from "../../shared/chunking/plan.ts";
import { type Connection, connect } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import type { TableMapping } from "../../shared/model/rules.ts";
import { verifyChunk } from "../../shared/verify/chunk.ts";
import { scratch2Credentials, uniqueDatabase } from "../support/databases.ts";

/**
 * A row whose normalised string is longer than the server's max_allowed_packet: MariaDB's string
 * functions return NULL for it (warning 1301), so its bytes would drop out of the row hash and two
 * different large values would compare equal. Verification must say it cannot compare them.
 *
 * It lowers the scratch2 instance's global max_allowed_packet (new sessions take it; the session
 * value is read-only), so it runs in the group of tests that change servers, one file at a time.
 */

const PACKET = 1024 * 1024;
const source = uniqueDatabase("ovf_src");
const destination = uniqueDatabase("ovf_dst");
let admin: Connection;
let before: number;
let src: Connection;
let dst: Connection;

const mapping: TableMapping = {
	source: { database: source, table: "docs" },
	destination: { database: destination, table: "docs" },
	columns: ["id", "body"].map((c) => ({ source: c, destination: c })),
};
const whole: WholeTableChunk = {
	kind: "whole",
	index: 0,
	source: mapping.source,
	destination: mapping.destination,
	reason: "a test's chunk",
};

beforeAll(async () => {
	admin = await connect(scratch2Credentials);
	const [[row]] = (await admin.query("SELECT @@GLOBAL.max_allowed_packet AS p")) as unknown as [{ p: number }[]];
	before = Number(row?.p);
	for (const db of [source, destination]) {
		await admin.query(`CREATE DATABASE ${quoteId(db)}`);
		await admin.query(`CREATE TABLE ${quoteId(db)}.docs (id INT PRIMARY KEY, body LONGBLOB)`);
	}
	// 1.5 MiB values that differ in one byte, and a small row
	const big = (last: string) => `CONCAT(REPEAT('x', ${1.5 * PACKET}), '${last}')`;
	await admin.query(`INSERT INTO ${quoteId(source)}.docs VALUES (1, ${big("a")}), (2, 'small')`);
	await admin.query(`INSERT INTO ${quoteId(destination)}.docs VALUES (1, ${big("b")}), (2, 'small')`);
	await admin.query("SET GLOBAL max_allowed_packet = ?", [PACKET]);
	src = await connect(scratch2Credentials);
	dst = await connect(scratch2Credentials);
});

afterAll(async () => {
	await src?.end();
	await dst?.end();
	await admin?.query("SET GLOBAL max_allowed_packet = ?", [before]);
	for (const db of [source, destination]) await admin?.query(`DROP DATABASE IF EXISTS ${quoteId(db)}`);
	await admin?.end();
});

describe("verifying rows longer than max_allowed_packet", () => {
	it("fails the chunk naming the table and the setting, instead of comparing the rows as equal", async () => {
		// both sides are hashed at once: whichever reports first names itself
		await expect(verifyChunk(src, dst, mapping, whole)).rejects.toThrow(
			new RegExp(
				`^(${source}\\.docs: .* the source's|${destination}\\.docs: .* the destination's) max_allowed_packet \\(${PACKET} bytes\\).*raise`,
			),
		);
	});
});
