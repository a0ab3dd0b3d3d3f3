import { describe, expect, it } from "vitest";
import { compareDatabases } from "../../cli/demo/compare.ts";
import { quoteId } from "../../shared/db/sql.ts";
import {
	destinationCredentials,
	execute,
	occupiedTable,
	sourceCredentials,
	uniqueDatabase,
} from "../support/databases.ts";
import { useTestStack, waitForProject } from "../support/stack.ts";

describe("a failed step becomes a ticket that can be retried or skipped", () => {
	const db = uniqueDatabase("ticket");
	const t = useTestStack({ workers: 1, databases: [db] });

	it("retry after the cause is fixed completes the project; with no ticket open, retry or skip is refused", async () => {
		await occupiedTable(db, 9);

		const projectId = await t.startProject({
			name: "t",
			types: ["schema", "full"],
			objects: [{ database: db }],
		});
		const failed = await waitForProject(t.api, projectId, 30_000);
		expect(failed.state).toBe("failed");
		expect(failed.ticket?.step).toBe("precheck");

		await execute(destinationCredentials, `DELETE FROM ${quoteId(db)}.t`); // the DBA fixes the cause
		await t.api.post(`/projects/${projectId}/ticket`, { decision: "retry" });
		const done = await waitForProject(t.api, projectId, 60_000);
		expect(done.state, JSON.stringify(done.ticket)).toBe("completed");
		expect((await compareDatabases(sourceCredentials, destinationCredentials, db)).identical).toBe(true);

		const none = await t.api.post(`/projects/${projectId}/ticket`, { decision: "skip" }).catch((e: Error) => e);
		expect((none as Error).message).toMatch(/no open ticket/);
	});
});
