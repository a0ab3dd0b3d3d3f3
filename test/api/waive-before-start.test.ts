import { describe, expect, it } from "vitest";
import type { PrecheckDryRun } from "../../shared/control/before-start.ts";
import type { Project } from "../../shared/model/project.ts";
import { occupiedTable, uniqueDatabase } from "../support/databases.ts";
import { refusal, useTestStack } from "../support/stack.ts";

/** The create wizard waives a blocking finding of the dry run, before the project has ever run its precheck. */
describe("waiving a dry run's blocking finding before the project starts", () => {
	const db = uniqueDatabase("projects_waive");
	const t = useTestStack({ workers: 1, seed: () => occupiedTable(db, 7), databases: [db] });

	it("accepts the dry run's error by its id, after which the dry run keeps it as a waived warning; an unknown id is refused", async () => {
		const p = await t.api.post<Project>("/projects", {
			name: "waive early",
			...t.ids,
			types: ["schema", "full"],
			objects: [{ database: db }],
		});
		const first = await t.api.post<PrecheckDryRun>(`/projects/${p.id}/precheck`);
		const blocking = first.findings.find((f) => f.level === "error");
		expect(blocking).toMatchObject({ object: `${db}.t`, message: expect.stringContaining("already has 1 row") });
		expect(first.passes).toBe(false);

		const waived = await t.api.post<Project>(`/projects/${p.id}/findings/${blocking?.id}/waive`);
		expect(waived.waivedFindings).toEqual([blocking?.id]);
		expect(waived.state).toBe("new");
		const again = await t.api.post<PrecheckDryRun>(`/projects/${p.id}/precheck`);
		expect(again.passes).toBe(true);
		expect(again.findings.find((f) => f.id === blocking?.id)).toMatchObject({ level: "warning", waived: true });

		expect((await refusal(t.api.post(`/projects/${p.id}/findings/f-0000000000/waive`))).status).toBe(404);
	});
});
