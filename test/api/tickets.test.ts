import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compareDatabases } from "../../cli/demo/compare.ts";
import { connect } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import { destinationCredentials, dropDatabase, sourceCredentials, uniqueDatabase } from "../support/databases.ts";
import { addLocalDataSources, startTestStack, waitForProject } from "../support/stack.ts";

describe("a failed step becomes a ticket that can be retried or skipped", () => {
	let t: Awaited<ReturnType<typeof startTestStack>>;
	const db = uniqueDatabase("ticket");

	beforeAll(async () => {
		t = await startTestStack(1);
	});

	afterAll(async () => {
		await t?.close();
		await dropDatabase(db, sourceCredentials, destinationCredentials);
	});

	it("retry after the cause is fixed completes the project; with no ticket open, retry or skip is refused", async () => {
		const src = await connect(sourceCredentials);
		await src.query(`CREATE DATABASE ${quoteId(db)}`);
		await src.query(`CREATE TABLE ${quoteId(db)}.t (id INT PRIMARY KEY, v TEXT)`);
		await src.query(`INSERT INTO ${quoteId(db)}.t VALUES (1, 'a'), (2, 'b'), (3, 'c')`);
		await src.end();
		const dst = await connect(destinationCredentials);
		await dst.query(`CREATE DATABASE ${quoteId(db)}`);
		await dst.query(`CREATE TABLE ${quoteId(db)}.t (id INT PRIMARY KEY, v TEXT)`);
		await dst.query(`INSERT INTO ${quoteId(db)}.t VALUES (9, 'in the way')`);

		const ids = await addLocalDataSources(t.api);
		const p = await t.api.post<{ id: string }>("/projects", {
			name: "t",
			...ids,
			types: ["schema", "full"],
			objects: [{ database: db }],
		});
		await t.api.post(`/projects/${p.id}/actions/start`);
		const failed = await waitForProject(t.api, p.id, 30_000);
		expect(failed.state).toBe("failed");
		expect(failed.ticket?.step).toBe("precheck");

		await dst.query(`DELETE FROM ${quoteId(db)}.t`); // the DBA fixes the cause
		await t.api.post(`/projects/${p.id}/ticket`, { decision: "retry" });
		const done = await waitForProject(t.api, p.id, 60_000);
		expect(done.state, JSON.stringify(done.ticket)).toBe("completed");
		expect((await compareDatabases(sourceCredentials, destinationCredentials, db)).identical).toBe(true);

		const none = await t.api.post(`/projects/${p.id}/ticket`, { decision: "skip" }).catch((e: Error) => e);
		expect((none as Error).message).toMatch(/no open ticket/);
		await dst.end();
	});
});
