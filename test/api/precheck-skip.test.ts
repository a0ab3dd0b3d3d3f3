import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compareDatabases } from "../../cli/demo/compare.ts";
import type { ProjectStatus } from "../../shared/control/status.ts";
import { connect } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import type { Project } from "../../shared/model/project.ts";
import { destinationCredentials, dropDatabase, sourceCredentials, uniqueDatabase } from "../support/databases.ts";
import { addLocalDataSources, startTestStack, waitForProject } from "../support/stack.ts";

/**
 * A step whose skip would leave nothing done cannot be skipped: skipping a failed precheck used
 * to complete the project with nothing migrated. A single finding can be waived instead.
 */
describe("a failed precheck", () => {
	let t: Awaited<ReturnType<typeof startTestStack>>;
	const db = uniqueDatabase("precheck_skip");

	beforeAll(async () => {
		t = await startTestStack(1);
	});

	afterAll(async () => {
		await t?.close();
		await dropDatabase(db, sourceCredentials, destinationCredentials);
	});

	it("cannot be skipped; its finding can be waived, and the retried project migrates the rows", async () => {
		const src = await connect(sourceCredentials);
		await src.query(`CREATE DATABASE ${quoteId(db)}`);
		await src.query(`CREATE TABLE ${quoteId(db)}.t (id INT PRIMARY KEY, v TEXT)`);
		await src.query(`INSERT INTO ${quoteId(db)}.t VALUES (1, 'a'), (2, 'b'), (3, 'c')`);
		await src.end();
		const dst = await connect(destinationCredentials);
		await dst.query(`CREATE DATABASE ${quoteId(db)}`);
		await dst.query(`CREATE TABLE ${quoteId(db)}.t (id INT PRIMARY KEY, v TEXT)`);
		await dst.query(`INSERT INTO ${quoteId(db)}.t VALUES (2, 'in the way')`);
		await dst.end();

		const ids = await addLocalDataSources(t.api);
		const p = await t.api.post<{ id: string }>("/projects", {
			name: "precheck skip",
			...ids,
			types: ["full"],
			objects: [{ database: db }],
		});
		await t.api.post(`/projects/${p.id}/actions/start`);
		const failed = await waitForProject(t.api, p.id, 30_000);
		expect(failed.ticket?.step).toBe("precheck");
		expect(failed.ticket?.message).toMatch(/f-[0-9a-f]{10} .*already has/);

		const skip = await t.api.post(`/projects/${p.id}/ticket`, { decision: "skip" }).catch((e: Error) => e);
		expect((skip as Error).message).toMatch(/step precheck of .* cannot be skipped: .*nothing migrated/);
		expect((await t.api.get<ProjectStatus>(`/projects/${p.id}/status`)).state).toBe("failed");

		// the DBA accepts that the destination table is not empty: the copy replaces its key range
		const project = await t.api.get<Project>(`/projects/${p.id}`);
		const finding = project.findings?.find((f) => f.level === "error");
		expect(finding?.id).toMatch(/^f-/);
		const unknown = await t.api.post(`/projects/${p.id}/findings/f-nope/waive`).catch((e: Error) => e);
		expect((unknown as Error).message).toMatch(/finding .* 'f-nope' does not exist/);
		await t.api.post(`/projects/${p.id}/findings/${finding?.id}/waive`);
		await t.api.post(`/projects/${p.id}/ticket`, { decision: "retry" });
		const done = await waitForProject(t.api, p.id, 60_000);
		expect(done.state, JSON.stringify(done.ticket)).toBe("completed");
		const waived = (await t.api.get<Project>(`/projects/${p.id}`)).findings?.find((f) => f.id === finding?.id);
		expect(waived).toMatchObject({ level: "warning", waived: true });
		expect((await compareDatabases(sourceCredentials, destinationCredentials, db)).identical).toBe(true);
	}, 120_000);
});
