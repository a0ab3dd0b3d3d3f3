import { describe, expect, it } from "vitest";
import { compareDatabases } from "../../cli/demo/compare.ts";
import type { Project } from "../../shared/model/project.ts";
import { destinationCredentials, occupiedTable, sourceCredentials, uniqueDatabase } from "../support/databases.ts";
import { useTestStack, waitForProject } from "../support/stack.ts";

/**
 * A step whose skip would leave nothing done cannot be skipped: skipping a failed precheck used
 * to complete the project with nothing migrated. A single finding can be waived instead.
 */
describe("a failed precheck", () => {
	const db = uniqueDatabase("precheck_skip");
	const t = useTestStack({ workers: 1, databases: [db] });

	it("cannot be skipped; its finding can be waived, and the retried project migrates the rows", async () => {
		await occupiedTable(db, 2);

		const projectId = await t.startProject({
			name: "precheck skip",
			types: ["full"],
			objects: [{ database: db }],
		});
		const failed = await waitForProject(t.api, projectId, 30_000);
		expect(failed.ticket?.step).toBe("precheck");
		expect(failed.ticket?.message).toMatch(/f-[0-9a-f]{10} .*already has/);

		const skip = await t.api.post(`/projects/${projectId}/ticket`, { decision: "skip" }).catch((e: Error) => e);
		expect((skip as Error).message).toMatch(/step precheck of .* cannot be skipped: .*nothing migrated/);
		expect((await t.status(projectId)).state).toBe("failed");

		// the DBA accepts that the destination table is not empty: the copy replaces its key range
		const project = await t.api.get<Project>(`/projects/${projectId}`);
		const finding = project.findings?.find((f) => f.level === "error");
		expect(finding?.id).toMatch(/^f-/);
		const unknown = await t.api.post(`/projects/${projectId}/findings/f-nope/waive`).catch((e: Error) => e);
		expect((unknown as Error).message).toMatch(/finding .* 'f-nope' does not exist/);
		await t.api.post(`/projects/${projectId}/findings/${finding?.id}/waive`);
		await t.api.post(`/projects/${projectId}/ticket`, { decision: "retry" });
		const done = await waitForProject(t.api, projectId, 60_000);
		expect(done.state, JSON.stringify(done.ticket)).toBe("completed");
		const waived = (await t.api.get<Project>(`/projects/${projectId}`)).findings?.find((f) => f.id === finding?.id);
		expect(waived).toMatchObject({ level: "warning", waived: true });
		expect((await compareDatabases(sourceCredentials, destinationCredentials, db)).identical).toBe(true);
	}, 120_000);
});
