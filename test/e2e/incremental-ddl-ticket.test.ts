import { describe, expect, it } from "vitest";
import { connect } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import type { ProjectEvent } from "../../shared/state/events.ts";
import { createDatabase, destinationCredentials, sourceCredentials, uniqueDatabase } from "../support/databases.ts";
import { startIncrementalProject, useTestStack, waitFor, waitForProject } from "../support/stack.ts";

describe("an unsupported DDL during incremental migration", () => {
	const db = uniqueDatabase("ddlticket");
	const t = useTestStack({
		workers: 1,
		seed: () =>
			createDatabase(
				sourceCredentials,
				db,
				"CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))",
				"INSERT INTO t VALUES (1, 'before')",
			),
		databases: [db],
	});

	it("stops replay with a ticket naming the statement; skip passes over it and replay goes on", async () => {
		const projectId = await startIncrementalProject(t.api, t.ids, db);
		const src = await connect(sourceCredentials);
		// sequences are not migrated: replay stops rather than guess
		await src.query(`CREATE SEQUENCE ${quoteId(db)}.order_numbers START WITH 1000`);
		const failed = await waitForProject(t.api, projectId, 60_000);
		expect(failed.state).toBe("failed");
		expect(failed.ticket?.step).toBe("incremental");
		expect(failed.ticket?.message).toMatch(/CREATE SEQUENCE .*order_numbers/i);
		expect(failed.incremental?.lastError).toMatch(/CREATE SEQUENCE/i);

		// the DBA decides the destination needs no sequence and skips the statement
		const dst = await connect(destinationCredentials);
		await t.api.post(`/projects/${projectId}/ticket`, { decision: "skip" });
		await src.query(`INSERT INTO ${quoteId(db)}.t VALUES (2, 'after the skip')`);
		let rows: unknown = [];
		for (let i = 0; i < 60; i++) {
			[rows] = await dst.query(`SELECT id, v FROM ${quoteId(db)}.t ORDER BY id`);
			if ((rows as unknown[]).length === 2) break;
			await new Promise((r) => setTimeout(r, 500));
		}
		expect(rows).toEqual([
			{ id: 1, v: "before" },
			{ id: 2, v: "after the skip" },
		]);
		const status = await t.status(projectId);
		expect(status.state).toBe("running");

		// the timeline: the task, the refused statement, the ticket and who skipped it, then DDL applied
		await src.query(`CREATE TABLE ${quoteId(db)}.t2 (id INT PRIMARY KEY)`);
		const events = await waitFor("the CREATE TABLE in the timeline", async () => {
			const all = await t.api.get<ProjectEvent[]>(`/projects/${projectId}/events`);
			return all.some((e) => e.kind === "ddl-applied") ? all : undefined;
		});
		const story = events
			.filter((e) =>
				["task-started", "ddl-refused", "ticket-opened", "ticket-resolved", "ddl-applied"].includes(e.kind),
			)
			.map((e) => `${e.kind} by ${e.actor.name}`);
		expect(story.slice(0, 3)).toEqual(["task-started by ferry", "ddl-refused by ferry", "ticket-opened by ferry"]);
		// the restart may come before the decision's event is written; the CREATE TABLE after both
		expect(story.slice(3, 5).sort()).toEqual(["task-started by ferry", "ticket-resolved by local admin"]);
		expect(story.slice(5)).toEqual(["ddl-applied by ferry"]);
		expect(events.find((e) => e.kind === "ddl-refused")?.details?.statement).toMatch(/CREATE SEQUENCE/i);
		expect(events.find((e) => e.kind === "ticket-resolved")?.details).toMatchObject({ decision: "skip" });
		expect(events.find((e) => e.kind === "ddl-applied")?.message).toMatch(/CREATE TABLE .*t2/);
		await Promise.all([src.end(), dst.end()]);
	});
});
