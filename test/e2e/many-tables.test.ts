import { afterAll, describe, expect, it } from "vitest";
import { totalCalls } from "../support/aws-counter.ts";
import { destinationCredentials, dropDatabase, sourceCredentials, uniqueDatabase } from "../support/databases.ts";
import { runManyTables, STATUS_PAGE } from "../support/many-tables.ts";
import { shapeFor } from "../support/many-tables-seed.ts";

/**
 * Many tables at CI size (bench/many-tables.ts runs 2,000): a mix of small, large, keyless and
 * foreign-key tables and views through schema, full, incremental (under writes across the
 * tables), verification and switchover on a local stack, its DynamoDB and SQS traffic counted at
 * relays in front of the embedded servers. The bounds are per table, or fixed where a cost must
 * not grow with the tables at all; the figures they were set from are in
 * bench/results/many-tables-*.md.
 */
describe("a migration of many tables (local stack, real MariaDB binlogs, SQS and DynamoDB)", () => {
	const database = uniqueDatabase("many");
	afterAll(() => dropDatabase(database, sourceCredentials, destinationCredentials));

	it("completes clean, at a bounded cost per table, with a status page and a tick that read a fixed number of items", async () => {
		const r = await runManyTables({
			source: sourceCredentials,
			destination: destinationCredentials,
			database,
			shape: shapeFor(60, 1000, 4),
			workers: 2,
			parallelism: 4,
			chunkRows: 1000,
			schedulerIntervalMs: 300,
			idleWindowMs: 2000,
		});
		expect(r.ticket).toBeUndefined();
		expect(r.state).toBe("completed");
		expect(r.writes).toBeGreaterThan(10);
		expect(r.verification?.rowsChecked).toBeGreaterThan(60 * 4);
		expect(r.verification?.differences).toBe(0);

		const perTable = (n: number) => n / r.tables;
		const sqsWithoutPolls = totalCalls(r.sqs) - (r.sqs.calls.ReceiveMessage ?? 0);
		console.log(
			`many tables: ${r.tables} tables, ${r.chunks.copy} + ${r.chunks.verify} chunks; DynamoDB ${totalCalls(r.dynamo)} calls, ${r.dynamo.itemsRead} items read; SQS ${sqsWithoutPolls} calls; status ${JSON.stringify(r.status)}; page ${JSON.stringify(r.statusPage)}; tick ${JSON.stringify(r.tick)}; steps ${JSON.stringify(r.stepSeconds)}`,
		);
		// writes and queue calls come with the work, per chunk and per table; the reads of a tick and
		// of a worker's top-up are bounded in test/scheduler/chunk-window.test.ts and chunks.test.ts
		// (at 60 tables a tick's window is most of the job)
		expect((r.dynamo.calls.PutItem ?? 0) / (r.chunks.copy + r.chunks.verify)).toBeLessThan(12);
		expect(perTable(sqsWithoutPolls)).toBeLessThan(8);

		// one page of the status, mid-copy and later: its own tables' items, not the project's
		// (at this size a page is most of the tables; bench/many-tables.ts shows it flat up to 2,000)
		for (const moment of ["during full copy", "waiting at switch-check"]) {
			expect(r.statusPage[moment]?.items, moment).toBeLessThanOrEqual(3 * STATUS_PAGE);
		}
		// every table's status reads the verification's chunks too; a page does not
		const atCheck = "waiting at switch-check";
		expect(r.statusPage[atCheck]?.items).toBeLessThan((r.status[atCheck]?.items ?? 0) / 2);
		// a tick while replay runs and the switchover waits reads a few items, whatever the tables
		expect(r.tick["waiting at switch-check"]?.items).toBeLessThanOrEqual(20);
	}, 600_000);
});
