import { rmSync } from "node:fs";
import { join } from "node:path";
import type { RowDataPacket } from "mysql2";
import { describe, expect, it } from "vitest";
import { connect } from "../../shared/db/connect.ts";
import { createDatabase, sourceCredentials, uniqueDatabase } from "../support/databases.ts";
import { useTestStack, waitForProject } from "../support/stack.ts";

/** A hostile row filter through the API: the precheck refuses the rule by name, and the source writes nothing. */
describe("row filters through the API", () => {
	const db = uniqueDatabase("rf");
	const t = useTestStack({
		workers: 1,
		seed: () =>
			createDatabase(
				sourceCredentials,
				db,
				"CREATE TABLE people (id INT PRIMARY KEY, name VARCHAR(50))",
				"INSERT INTO people VALUES (1, 'x'), (2, 'y')",
			),
		databases: [db],
	});

	async function refused(where: string): Promise<string> {
		const projectId = await t.startProject({
			name: `filter ${where.slice(0, 20)}`,
			types: ["schema", "full"],
			objects: [{ database: db, table: "people", where }],
		});
		const status = await waitForProject(t.api, projectId, 30_000);
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
