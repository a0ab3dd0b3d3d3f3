import { describe, expect, it } from "vitest";
import { compareDatabases } from "../../cli/demo/compare.ts";
import { runWriteLoad } from "../../cli/demo/load.ts";
import type { FerryClient } from "../../shared/api/client.ts";
import { connect } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import type { VerificationResults } from "../../shared/scheduler/verification-results.ts";
import type { RowDiff } from "../../shared/verify/diff.ts";
import { destinationCredentials, sampleDatabases, sourceCredentials, uniqueDatabase } from "../support/databases.ts";
import { refusal, useTestStack, waitFor, waitForProject } from "../support/stack.ts";

/** Waits until the given verification run is over and returns its results. */
function runOver(api: FerryClient, id: string, run: number): Promise<VerificationResults> {
	return waitFor(`verification run ${run}`, async () => {
		const r = await api.get<VerificationResults>(`/projects/${id}/verification`).catch(() => undefined);
		return r && r.run.run === run && (r.run.state === "done" || r.run.state === "failed") ? r : undefined;
	});
}

const byTable = (r: VerificationResults, table: string) => r.tables.find((t) => t.table.endsWith(`.${table}`));

describe("full verification and correction through the API (local stack, real MariaDB, SQS and DynamoDB)", () => {
	const db = uniqueDatabase("ver");
	const live = uniqueDatabase("verlive");
	const t = useTestStack({
		workers: 2,
		seed: () => sampleDatabases(sourceCredentials, 0.02, db, live),
		databases: [db, live],
	});

	it("reports zero after a clean migration, finds each injected difference, corrects it and re-verifies clean", async () => {
		const projectId = await t.startProject({
			name: "verify",
			types: ["schema", "full", "verification"],
			objects: [{ database: db }],
			options: { parallelism: 2, chunkRows: 300 },
		});
		const first = await waitForProject(t.api, projectId, 180_000);
		expect(first.state, JSON.stringify(first.ticket)).toBe("completed");
		expect(first.verification?.run.totals).toMatchObject({ missing: 0, extra: 0, different: 0 });
		expect(first.verification?.run.totals?.rowsChecked).toBeGreaterThan(1000);

		// differences made behind Ferry's back, at the destination
		const dst = await connect(destinationCredentials);
		const q = (sql: string) => dst.query(sql.replaceAll("$db", quoteId(db)));
		await q("SET SESSION foreign_key_checks = 0");
		await q("DELETE FROM $db.customers WHERE id = 17"); // missing
		await q("INSERT INTO $db.customers (id, email, name) VALUES (900001, 'x@example.com', 'extra')"); // extra
		await q("UPDATE $db.customers SET balance = balance + 0.0001 WHERE id = 21"); // one column
		await q("UPDATE $db.customers SET notes = '' WHERE id = 3"); // NULL at the source (3 % 3 = 0) vs ''
		await q("UPDATE $db.products SET weight = weight + 1 WHERE sku = 'SKU-000002'");
		await q("UPDATE $db.audit_log SET message = 'changed' LIMIT 1"); // a table without a key
		await dst.end();

		const rerun = await t.api.post<{ verification: { run: number } }>(`/projects/${projectId}/verification`, {});
		const second = await runOver(t.api, projectId, rerun.verification.run);
		expect(second.run.state).toBe("done");
		expect(byTable(second, "customers")).toMatchObject({ missing: 1, extra: 1, different: 2 });
		expect(byTable(second, "customers")?.columns.sort()).toEqual(["balance", "notes"]);
		expect(byTable(second, "products")).toMatchObject({ different: 1, columns: ["weight"] });
		expect(byTable(second, "audit_log")).toMatchObject({ missing: 1, extra: 1 });
		expect(byTable(second, "orders")).toMatchObject({ missing: 0, extra: 0, different: 0 });

		const diffs = await t.api.get<{ tables: { table: string; rows: RowDiff[] }[] }>(
			`/projects/${projectId}/verification/differences`,
		);
		const customerRows = diffs.tables.find((x) => x.table.endsWith(".customers"))?.rows ?? [];
		expect(customerRows.find((r) => r.kind === "missing")?.key).toEqual(["17"]);
		expect(customerRows.find((r) => r.kind === "extra")?.key).toEqual(["900001"]);

		const { script } = await t.api.get<{ script: string }>(`/projects/${projectId}/verification/correction`);
		expect(script).toMatch(/DELETE FROM `[^`]+`\.`customers` WHERE `id` = 900001/);
		expect(script).toContain("`notes` = NULL");

		const correcting = await t.api.post<{ verification: { state: string } }>(
			`/projects/${projectId}/verification/correction`,
		);
		expect(correcting.verification.state).toBe("correcting");
		const third = await runOver(t.api, projectId, rerun.verification.run + 1);
		expect(third.run.totals).toMatchObject({ missing: 0, extra: 0, different: 0 });
		expect(third.tables.map((x) => x.table.split(".")[1]).sort()).toEqual(["audit_log", "customers", "products"]);
		const report = await compareDatabases(sourceCredentials, destinationCredentials, db);
		expect(report.identical, report.lines.join("\n")).toBe(true);

		// pause and resume, for chosen tables; an unknown table is refused by name
		await expect(t.api.post(`/projects/${projectId}/verification`, { tables: [`${db}.nope`] })).rejects.toThrow(/nope/);
		const chosen = await t.api.post<{ verification: { run: number; tables: string[] } }>(
			`/projects/${projectId}/verification`,
			{ tables: [`${db}.orders`] },
		);
		await t.api.post(`/projects/${projectId}/verification/pause`);
		expect((await t.api.get<VerificationResults>(`/projects/${projectId}/verification`)).run.state).toBe("paused");
		await t.api.post(`/projects/${projectId}/verification/resume`);
		const fourth = await runOver(t.api, projectId, chosen.verification.run);
		expect(fourth.tables).toHaveLength(1);
		expect(fourth.run.totals).toMatchObject({ missing: 0, extra: 0, different: 0 });
	}, 300_000);

	it("verifies during a write load with replay running: zero false differences, and finds one made at the destination", async () => {
		const load = new AbortController();
		const writes = runWriteLoad(sourceCredentials, live, { signal: load.signal, connections: 2, pauseMs: 5 });
		const projectId = await t.startProject({
			name: "verify live",
			types: ["schema", "full", "incremental", "verification"],
			objects: [{ database: live }],
			options: { parallelism: 2, chunkRows: 300 },
		});
		// once the copy is over and replay runs, tamper with a row the load never writes
		await waitFor("replay", async () => {
			const s = await t.status(projectId);
			if (s.state !== "running") throw new Error(`project stopped: ${JSON.stringify(s.ticket)}`);
			return s.steps.find((x) => x.name === "incremental")?.state === "running" ? s : undefined;
		});
		const dst = await connect(destinationCredentials);
		await dst.query(`UPDATE ${quoteId(live)}.customers SET name = 'tampered' WHERE id = 777`);
		await dst.end();
		const results = await runOver(t.api, projectId, 1).catch(async (err) => {
			throw new Error(`${err}: ${JSON.stringify(await t.api.get(`/projects/${projectId}/status`))}`);
		});
		load.abort();
		expect((await writes).transactions).toBeGreaterThan(20);

		expect(results.run.state).toBe("done");
		expect(results.run.totals).toMatchObject({ missing: 0, extra: 0, different: 1, tablesDiffering: 1 });
		expect(byTable(results, "customers")?.columns).toEqual(["name"]);
		// the difference opens a ticket; replay keeps running meanwhile
		const status = await waitFor("the verify ticket", async () => {
			const s = await t.status(projectId);
			return s.ticket ? s : undefined;
		});
		expect(status.ticket?.step).toBe("verify");
		expect(status.incremental?.heartbeatAgeSeconds).toBeLessThan(10);

		// the correction of a run the caller did not read is refused
		const stale = await refusal(t.api.post(`/projects/${projectId}/verification/correction`, { run: 99 }));
		expect(stale).toMatchObject({ status: 409, code: "RUN_CHANGED" });
		await t.api.post(`/projects/${projectId}/verification/correction`, { run: results.run.run });
		const corrected = await runOver(t.api, projectId, 2);
		expect(corrected.run.totals).toMatchObject({ missing: 0, extra: 0, different: 0 });
		await t.api.post(`/projects/${projectId}/ticket`, { decision: "retry" });
		const verified = await waitFor("the verify step", async () => {
			const s = await t.status(projectId);
			return s.steps.find((x) => x.name === "verify")?.state === "done" ? s : undefined;
		});
		expect(verified.state).toBe("running");
		expect(verified.verification?.run.totals).toMatchObject({ missing: 0, extra: 0, different: 0 });
	}, 300_000);
});
