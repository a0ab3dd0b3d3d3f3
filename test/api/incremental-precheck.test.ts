import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import { destinationCredentials, scratch2Credentials, uniqueDatabase } from "../support/databases.ts";
import { addLocalDataSources, startTestStack, waitForProject } from "../support/stack.ts";

describe("precheck of incremental migration", () => {
	let t: Awaited<ReturnType<typeof startTestStack>>;
	const db = uniqueDatabase("pre");

	beforeAll(async () => {
		t = await startTestStack(1);
		const src = await connect(scratch2Credentials);
		await src.query(`CREATE DATABASE ${quoteId(db)}`);
		await src.query(`CREATE TABLE ${quoteId(db)}.t (id INT PRIMARY KEY)`);
		// column names would not travel in the binlog: capture cannot map values to columns
		await src.query("SET GLOBAL binlog_row_metadata = 'MINIMAL'");
		await src.end();
	});

	afterAll(async () => {
		await t?.close();
		const src = await connect(scratch2Credentials);
		await src.query("SET GLOBAL binlog_row_metadata = 'FULL'");
		await src.query(`DROP DATABASE IF EXISTS ${quoteId(db)}`);
		await src.end();
	});

	it("blocks a source whose binlog lacks full row metadata, naming the setting and the fix", async () => {
		const ids = await addLocalDataSources(t.api, scratch2Credentials, destinationCredentials);
		const p = await t.api.post<{ id: string }>("/projects", {
			name: "pre",
			...ids,
			types: ["schema", "full", "incremental"],
			objects: [{ database: db }],
		});
		await t.api.post(`/projects/${p.id}/actions/start`);
		const status = await waitForProject(t.api, p.id, 30_000);
		expect(status.state).toBe("failed");
		expect(status.ticket?.step).toBe("precheck");
		expect(status.ticket?.message).toMatch(/binlog_row_metadata/i);
		expect(status.ticket?.message).toMatch(/FULL/);
	});
});
