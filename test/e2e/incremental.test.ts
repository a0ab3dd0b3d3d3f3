import { describe, expect, it } from "vitest";
import { runWriteLoad } from "../../cli/demo/load.ts";
import type { ProjectStatus } from "../../shared/control/status.ts";
import { connect } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import { destinationCredentials, sampleDatabases, sourceCredentials, uniqueDatabase } from "../support/databases.ts";
import { useTestStack, waitForIdentical } from "../support/stack.ts";

describe("schema + full + incremental migration under a write load", () => {
	const db = uniqueDatabase("inc");
	const t = useTestStack({ workers: 2, seed: () => sampleDatabases(sourceCredentials, 0.05, db), databases: [db] });

	it("keeps the destination in sync through the copy, DDL and a write load; identical once caught up; pause and resume", async () => {
		const load = new AbortController();
		const writes = runWriteLoad(sourceCredentials, db, { signal: load.signal, connections: 2 });
		const projectId = await t.startProject({
			name: "incremental",
			types: ["schema", "full", "incremental"],
			objects: [{ database: db }],
			options: { parallelism: 2, chunkRows: 500 },
		});

		// wait until replay runs, then change the schema under load
		let status: ProjectStatus | undefined;
		for (let i = 0; i < 240; i++) {
			status = await t.status(projectId);
			if (status.state !== "running" || (status.incremental?.transactions ?? 0) > 0) break;
			await new Promise((r) => setTimeout(r, 500));
		}
		expect(status?.state, JSON.stringify(status?.ticket)).toBe("running");
		const ddl = await connect(sourceCredentials);
		await ddl.query(
			`ALTER TABLE ${quoteId(db)}.customers ADD COLUMN loyalty INT NOT NULL DEFAULT 7 COMMENT 'added during replay'`,
		);
		await ddl.query(`CREATE TABLE ${quoteId(db)}.coupons (code VARCHAR(20) PRIMARY KEY, pct TINYINT)`);
		await ddl.query(`INSERT INTO ${quoteId(db)}.coupons VALUES ('HELLO', 10), ('BYE', 5)`);
		await ddl.query(`UPDATE ${quoteId(db)}.customers SET loyalty = 3 WHERE id < 10`);
		await ddl.end();
		await new Promise((r) => setTimeout(r, 4000));
		load.abort();
		const done = await writes;
		expect(done.transactions).toBeGreaterThan(50);

		const report = await waitForIdentical(sourceCredentials, destinationCredentials, db);
		expect(report.identical, report.lines.join("\n")).toBe(true);
		// other tests write to the same source server, so "caught up" is a moment: wait for it
		let final = await t.status(projectId);
		for (let i = 0; i < 60 && final.incremental?.latencySeconds !== 0; i++) {
			await new Promise((r) => setTimeout(r, 1000));
			final = await t.status(projectId);
		}
		expect(final.state).toBe("running");
		expect(final.incremental?.phase).toBe("exact");
		expect(final.incremental?.latencySeconds).toBe(0);
		expect(final.incremental?.inconsistencies).toBe(0);

		// pause: the replication task stops and changes wait in the source's binlog; resume catches up
		await t.api.post(`/projects/${projectId}/actions/pause`);
		for (let i = 0; i < 40 && t.stack.tasks().some((p) => p.exitCode === null && p.signalCode === null); i++) {
			await new Promise((r) => setTimeout(r, 500));
		}
		expect(t.stack.tasks().filter((p) => p.exitCode === null && p.signalCode === null)).toHaveLength(0);
		const src = await connect(sourceCredentials);
		await src.query(`UPDATE ${quoteId(db)}.customers SET name = 'paused write' WHERE id = 1`);
		await new Promise((r) => setTimeout(r, 2000));
		const dst = await connect(destinationCredentials);
		const [before] = await dst.query(`SELECT name FROM ${quoteId(db)}.customers WHERE id = 1`);
		expect(before).not.toEqual([{ name: "paused write" }]);
		await t.api.post(`/projects/${projectId}/actions/resume`);
		const resumed = await waitForIdentical(sourceCredentials, destinationCredentials, db, 60_000);
		expect(resumed.identical, resumed.lines.join("\n")).toBe(true);
		await Promise.all([src.end(), dst.end()]);
	}, 240_000);
});
