import { describe, expect, it } from "vitest";
import { runWriteLoad } from "../../cli/demo/load.ts";
import type { ProjectStatus } from "../../shared/control/status.ts";
import { type Connection, connect } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import type { Credentials } from "../../shared/model/datasource.ts";
import type { VerificationResults } from "../../shared/scheduler/verification-results.ts";
import {
	destinationCredentials,
	execute,
	sampleDatabases,
	sourceCredentials,
	uniqueDatabase,
} from "../support/databases.ts";
import { type StackFixture, useTestStack, verified, waitFor, waitForIdentical } from "../support/stack.ts";

/** Polls the status until `ready` holds; fails at once on a ticket the test did not expect. */
async function statusWhen(
	t: StackFixture,
	id: string,
	what: string,
	ready: (s: ProjectStatus) => boolean,
): Promise<ProjectStatus> {
	let last: ProjectStatus | undefined;
	return waitFor(what, async () => {
		last = await t.status(id);
		if (last.ticket) throw new Error(`ticket while waiting for ${what}: ${last.ticket.step}: ${last.ticket.message}`);
		return ready(last) ? last : undefined;
	}).catch((err) => {
		throw new Error(`${(err as Error).message}; last status: ${JSON.stringify({ ...last, verification: undefined })}`);
	});
}

const stepState = (s: ProjectStatus, name: string) => s.steps.find((x) => x.name === name)?.state;

/** Kills every replication task process (SIGKILL: no lease release, no last checkpoint write). */
function killReplicationTasks(t: StackFixture): number {
	const live = t.stack.tasks().filter((p) => p.exitCode === null && p.signalCode === null);
	for (const p of live) p.kill("SIGKILL");
	return live.length;
}

async function triggersOf(creds: Credentials, db: string): Promise<string[]> {
	const c = await connect(creds);
	try {
		const [rows] = await c.query("SELECT TRIGGER_NAME AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?", [
			db,
		]);
		return (rows as { n: string }[]).map((r) => r.n);
	} finally {
		await c.end();
	}
}

/**
 * Writes rows of its own (ids from `base`) on one side until aborted: the other side's load
 * never touches them. Returns the row changes committed (each statement changes one row).
 */
async function writeOwnRows(creds: Credentials, db: string, base: number, signal: AbortSignal): Promise<number> {
	const c: Connection = await connect(creds);
	let n = 0;
	let changes = 0;
	try {
		while (!signal.aborted) {
			const id = base + n;
			await c.query("START TRANSACTION");
			await c.query(`INSERT INTO ${quoteId(db)}.customers (id, email, name, country) VALUES (?, ?, ?, 'DE')`, [
				id,
				`side${id}@example.com`,
				`side ${id}`,
			]);
			if (n % 3 === 2)
				await c.query(`UPDATE ${quoteId(db)}.customers SET balance = balance + 1 WHERE id = ?`, [id - 1]);
			if (n % 5 === 4) await c.query(`DELETE FROM ${quoteId(db)}.customers WHERE id = ?`, [id - 3]);
			await c.query("COMMIT");
			changes += 1 + (n % 3 === 2 ? 1 : 0) + (n % 5 === 4 ? 1 : 0);
			n += 1;
			await new Promise((r) => setTimeout(r, 10));
		}
	} finally {
		await c.end();
	}
	return changes;
}

describe("switchover, reverse incremental and two-way sync (local stack, real MariaDB binlogs, SQS and DynamoDB)", () => {
	const db = uniqueDatabase("sw");
	const both = uniqueDatabase("twoway");
	const t = useTestStack({
		workers: 2,
		seed: async () => {
			await sampleDatabases(sourceCredentials, 0.02, db, both);
			// a trigger: held back at the destination during replay, created there at the switch, dropped at the source
			await execute(
				sourceCredentials,
				`CREATE TRIGGER ${quoteId(db)}.order_audit AFTER INSERT ON ${quoteId(db)}.orders FOR EACH ROW
			INSERT INTO audit_log (at, actor, message) VALUES ('2024-01-01 00:00:00', 'trigger', CONCAT('order ', NEW.id))`,
			);
		},
		databases: [db, both],
	});

	it("schema, full, incremental, verification, switchover and reverse under a load that moves to the destination; tasks killed mid-switch", async () => {
		const sourceLoad = new AbortController();
		const sourceWrites = runWriteLoad(sourceCredentials, db, { signal: sourceLoad.signal, connections: 2, pauseMs: 5 });
		const id = await t.startProject({
			name: "switchover",
			types: ["schema", "full", "incremental", "verification", "switchover", "reverse"],
			objects: [{ database: db }],
			options: { parallelism: 2, chunkRows: 300 },
		});
		await statusWhen(t, id, "a clean verification", (s) => stepState(s, "verify") === "done");
		expect(await triggersOf(destinationCredentials, db)).toEqual([]);

		// the check waits for the user
		const waiting = await statusWhen(
			t,
			id,
			"the switchover to wait for the user",
			(s) => !!s.switchover?.blocked || stepState(s, "switch-check") === "running",
		);
		expect(stepState(waiting, "switch-check")).toBe("running");
		await t.api.post(`/projects/${id}/switchover`, { maxLatencySeconds: 30 });
		await statusWhen(t, id, "the switchover to wait for writes to stop", (s) =>
			/stop writes/.test(s.switchover?.blocked ?? ""),
		);

		// the application stops writing to the source ...
		sourceLoad.abort();
		expect((await sourceWrites).transactions).toBeGreaterThan(20);
		await t.api.post(`/projects/${id}/switchover/writes-stopped`);
		// ... and a crash in the middle of the switch costs nothing
		await new Promise((r) => setTimeout(r, 300));
		killReplicationTasks(t);
		await statusWhen(t, id, "forward replay to stop", (s) => stepState(s, "switch-stop-forward") === "done");
		const stopped = await t.status(id);
		expect(stopped.switchover?.forwardStopped).toBe(true);

		// ... then writes to the destination, which reverse replay carries back to the source
		const destinationLoad = new AbortController();
		const destinationWrites = runWriteLoad(destinationCredentials, db, {
			signal: destinationLoad.signal,
			connections: 2,
			pauseMs: 5,
			idOffset: 500_000,
		});
		const reversing = await statusWhen(t, id, "reverse replay", (s) => (s.reverse?.transactions ?? 0) > 10);
		expect(reversing.state).toBe("running");
		expect(await triggersOf(destinationCredentials, db)).toEqual(["order_audit"]);
		expect(await triggersOf(sourceCredentials, db)).toEqual([]);
		killReplicationTasks(t);
		await new Promise((r) => setTimeout(r, 4000));
		destinationLoad.abort();
		expect((await destinationWrites).transactions).toBeGreaterThan(20);

		const report = await waitForIdentical(sourceCredentials, destinationCredentials, db, 120_000);
		expect(report.identical, report.lines.join("\n")).toBe(true);
		const final = await statusWhen(t, id, "reverse to catch up", (s) => stepState(s, "reverse") === "done");
		expect(final.state).toBe("running");
		expect(final.reverse?.inconsistencies).toBe(0);
		expect(final.reverse?.bytesPerSecond).toBeTypeOf("number");
		// the order trigger fired once per order at the destination, and the source did not fire it again
		const src = await connect(sourceCredentials);
		const [dupes] = await src.query(
			`SELECT message, COUNT(*) AS n FROM ${quoteId(db)}.audit_log WHERE actor = 'trigger' GROUP BY message HAVING n > 1`,
		);
		await src.end();
		expect(dupes).toEqual([]);

		// DDL at the destination, which takes the writes now, reaches the source with every value
		const dst = await connect(destinationCredentials);
		const q = (c: Connection, sql: string) => c.query(sql.replaceAll("$db", quoteId(db)));
		await q(dst, "ALTER TABLE $db.customers ADD COLUMN loyalty INT NOT NULL DEFAULT 7");
		await q(dst, "UPDATE $db.customers SET loyalty = 42 ORDER BY id LIMIT 1");
		await q(dst, "CREATE TABLE $db.coupons (id INT PRIMARY KEY, code VARCHAR(20) NOT NULL)");
		await q(dst, "INSERT INTO $db.coupons VALUES (1, 'WELCOME'), (2, 'BACK')");
		await dst.end();
		const afterDdl = await waitForIdentical(sourceCredentials, destinationCredentials, db, 120_000);
		expect(afterDdl.identical, afterDdl.lines.join("\n")).toBe(true);

		// verification after the switch covers the new column and table, with the destination as the truth
		const source = await connect(sourceCredentials);
		await q(source, "UPDATE $db.customers SET loyalty = 0 ORDER BY id LIMIT 1");
		await q(source, "DELETE FROM $db.coupons WHERE id = 2");
		const checked = await verified(t, id);
		expect(checked.run.truth).toBe("destination");
		expect(checked.tables.find((x) => x.table === `${db}.customers`)).toMatchObject({
			different: 1,
			columns: ["loyalty"],
		});
		expect(checked.tables.find((x) => x.table === `${db}.coupons`)).toMatchObject({ missing: 1, extra: 0 });
		const correction = await t.api.get<{ script: string }>(`/projects/${id}/verification/correction`);
		expect(correction.script).toMatch(/^-- run at the source/);
		await t.api.post(`/projects/${id}/verification/correction`);
		const clean = await waitFor("the corrected tables verified again", async () => {
			const r = await t.api.get<VerificationResults>(`/projects/${id}/verification`);
			return r.run.run > checked.run.run && r.run.state === "done" ? r : undefined;
		});
		expect(clean.run.totals).toMatchObject({ missing: 0, extra: 0, different: 0, schema: 0 });
		const [corrected] = await source.query(`SELECT loyalty FROM ${quoteId(db)}.customers ORDER BY id LIMIT 1`);
		await source.end();
		expect(corrected).toEqual([{ loyalty: 42 }]);
		const same = await waitForIdentical(sourceCredentials, destinationCredentials, db, 60_000);
		expect(same.identical, same.lines.join("\n")).toBe(true);
	}, 600_000);

	it("two-way sync: both sides written at once (different rows) end identical, and no change loops", async () => {
		const id = await t.startProject({
			name: "two-way",
			types: ["schema", "full", "incremental"],
			objects: [{ database: both }],
			options: { parallelism: 2, chunkRows: 500, twoWay: true },
		});
		await statusWhen(
			t,
			id,
			"both directions",
			(s) => stepState(s, "incremental") === "done" && s.reverse?.phase === "exact",
		);

		const stop = new AbortController();
		const [a, b] = await Promise.all([
			writeOwnRows(sourceCredentials, both, 5_000_000, stop.signal),
			writeOwnRows(destinationCredentials, both, 6_000_000, stop.signal),
			new Promise((r) => setTimeout(r, 15_000)).then(() => stop.abort()),
		]);
		expect(a).toBeGreaterThan(50);
		expect(b).toBeGreaterThan(50);

		const report = await waitForIdentical(sourceCredentials, destinationCredentials, both, 120_000);
		expect(report.identical, report.lines.join("\n")).toBe(true);
		// no loop: each direction applied exactly the row changes the other side's application made,
		// and once writes stop neither applies anything more (other tests write to the same servers,
		// so transactions of other databases still pass by)
		const settled = await waitFor("replay to settle", async () => {
			const s = await t.status(id);
			return s.incremental?.rows === a && s.reverse?.rows === b ? s : undefined;
		});
		await new Promise((r) => setTimeout(r, 5000));
		const later = await t.status(id);
		expect([later.incremental?.rows, later.reverse?.rows]).toEqual([settled.incremental?.rows, settled.reverse?.rows]);
		expect([later.incremental?.inconsistencies, later.reverse?.inconsistencies]).toEqual([0, 0]);
	}, 300_000);
});
