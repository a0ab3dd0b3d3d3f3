import { rmSync } from "node:fs";
import { join } from "node:path";
import type { RowDataPacket } from "mysql2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import { destinationCredentials, dropDatabase, sourceCredentials, uniqueDatabase } from "../support/databases.ts";
import { addLocalDataSources, startTestStack, waitForProject } from "../support/stack.ts";

/** A hostile row filter through the API: the precheck refuses the rule by name, and the source writes nothing. */
describe("row filters through the API", () => {
	let t: Awaited<ReturnType<typeof startTestStack>>;
	let ids: { sourceId: string; destinationId: string };
	const db = uniqueDatabase("rf");

	beforeAll(async () => {
		const src = await connect(sourceCredentials);
		await src.query(`CREATE DATABASE ${quoteId(db)}`);
		await src.query(`CREATE TABLE ${quoteId(db)}.people (id INT PRIMARY KEY, name VARCHAR(50))`);
		await src.query(`INSERT INTO ${quoteId(db)}.people VALUES (1, 'x'), (2, 'y')`);
		await src.end();
		t = await startTestStack(1);
		ids = await addLocalDataSources(t.api);
	});

	afterAll(async () => {
		await t?.close();
		await dropDatabase(db, sourceCredentials, destinationCredentials);
	});

	async function refused(where: string): Promise<string> {
		const p = await t.api.post<{ id: string }>("/projects", {
			name: `filter ${where.slice(0, 20)}`,
			...ids,
			types: ["schema", "full"],
			objects: [{ database: db, table: "people", where }],
		});
		await t.api.post(`/projects/${p.id}/actions/start`);
		const status = await waitForProject(t.api, p.id, 30_000);
		expect(status.state).toBe("failed");
		expect(status.ticket?.step).toBe("precheck");
		return status.ticket?.message ?? "";
	}

	it("refuses the INTO OUTFILE filter with the rule and the token, and no file appears on the database host", async () => {
		const file = `ferry_api_outfile_${process.pid}_${Date.now()}.txt`;
		const message = await refused(`name = 'x\\') INTO OUTFILE "${file}" -- '`);
		expect(message).toContain(`${db}.people`);
		expect(message).toContain(`rule #1 (database "${db}", table "people")`);
		expect(message).toMatch(/backslash/);
		const conn = await connect(sourceCredentials);
		const [[dir]] = await conn.query<RowDataPacket[]>("SELECT @@datadir AS d");
		for (const path of [join(String(dir?.d), file), join(String(dir?.d), db, file)]) {
			const [[row]] = await conn.query<RowDataPacket[]>("SELECT LOAD_FILE(?) IS NOT NULL AS found", [path]);
			rmSync(path, { force: true });
			expect(Number(row?.found), path).toBe(0);
		}
		await conn.end();
	});

	it("refuses a filter that would sleep on the source", async () => {
		const message = await refused("id = 1 OR SLEEP(3) = 0");
		expect(message).toContain(`${db}.people`);
		expect(message).toContain('at "SLEEP", SLEEP() is not a function a row filter may call');
	});
});
