import { describe, expect, it } from "vitest";
import type { Components, TableStatistics } from "../../shared/control/lists.ts";
import type { ProjectStatus } from "../../shared/control/status.ts";
import { connect } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import type { MetricsHistory } from "../../shared/metrics/series.ts";
import type { ProjectEvent } from "../../shared/state/events.ts";
import { createDatabase, destinationCredentials, sourceCredentials, uniqueDatabase } from "../support/databases.ts";
import { useTestStack, verified, waitFor, waitForIdentical } from "../support/stack.ts";

const ITEMS = 200;
/** How long the write load runs: long enough for several of the metrics store's 10 s samples. */
const LOAD_MS = 50_000;

describe("a running project's metrics history, per-table statistics, components and live parameters", () => {
	const db = uniqueDatabase("opsrun");
	const rows = Array.from({ length: ITEMS }, (_, i) => `(${i + 1}, 0)`).join(",");
	const t = useTestStack({
		workers: 2,
		seed: () =>
			createDatabase(
				sourceCredentials,
				db,
				"CREATE TABLE items (id INT PRIMARY KEY, v INT)",
				`INSERT INTO items VALUES ${rows}`,
				"CREATE TABLE notes (id INT PRIMARY KEY AUTO_INCREMENT, body VARCHAR(50))",
			),
		databases: [db],
	});

	it("returns the series the status showed, counts replay per table, and applies parameters without a restart", async () => {
		const id = await t.startProject({
			name: "ops running",
			types: ["schema", "full", "incremental"],
			objects: [{ database: db }],
			options: { parallelism: 2, chunkRows: 100 },
		});
		const from = new Date().toISOString();

		// what the status shows along the way, polled more often than the task reports (every second)
		const shown = { rowsPerSecond: new Set<number>(), latencySeconds: new Set<number>() };
		let polling = true;
		const poller = (async () => {
			while (polling) {
				const s = await t.status(id);
				if (s.incremental) {
					shown.rowsPerSecond.add(s.incremental.rowsPerSecond);
					if (s.incremental.latencySeconds !== undefined) shown.latencySeconds.add(s.incremental.latencySeconds);
				}
				await new Promise((r) => setTimeout(r, 200));
			}
		})();

		await waitFor("replay in exact mode", async () => {
			const s = await t.status(id);
			if (s.state !== "running") throw new Error(`project stopped: ${JSON.stringify(s.ticket)}`);
			return s.incremental?.phase === "exact" ? s : undefined;
		});
		const task = async () =>
			(await t.api.get<Components>("/components")).replicationTasks.find((r) => r.projectId === id);
		const owner = (await waitFor("the replication task listed", task)).owner;

		// a write load with known counts: one insert, one update and (every fifth round) one delete per round
		const src = await connect(sourceCredentials);
		await src.query(`USE ${quoteId(db)}`);
		const done = { inserts: 0, updates: 0, deletes: 0 };
		const end = Date.now() + LOAD_MS;
		let changed = false;
		for (let i = 0; Date.now() < end; i++) {
			await src.query("INSERT INTO notes (body) VALUES (?)", [`note ${i}`]);
			done.inserts += 1;
			await src.query("UPDATE items SET v = v + 1 WHERE id = ?", [(i % 100) + 1]);
			done.updates += 1;
			if (i % 5 === 0 && done.deletes < 90) {
				await src.query("DELETE FROM items WHERE id = ?", [ITEMS - done.deletes]);
				done.deletes += 1;
			}
			if (i === 20) await src.query("ALTER TABLE notes ADD COLUMN extra INT");
			if (!changed && Date.now() > end - LOAD_MS / 2) {
				// half-way: more apply connections (a new session) and smaller commits (applied at once)
				await t.api.patch(`/projects/${id}/parameters`, { parallelApply: 2, replayBatchSize: 50 });
				changed = true;
			}
			await new Promise((r) => setTimeout(r, 60));
		}
		await src.end();
		const tuned = await waitFor("the task applying the new parameters", async () => {
			const r = await task();
			return r?.tuning?.parallelApply === 2 ? r : undefined;
		});
		expect(tuned.tuning).toEqual({ parallelApply: 2, replayBatchSize: 50 });
		// the same task (its owner names its process) restarted its session itself
		expect(tuned.owner).toBe(owner);
		expect(tuned.state).toBe("running");
		const report = await waitForIdentical(sourceCredentials, destinationCredentials, db);
		expect(report.identical, report.lines.join("\n")).toBe(true);

		// per-table statistics: the copy, and every change replay applied, by kind
		const stats = await waitFor(
			"replay's counts",
			async () => {
				const all = await t.api.get<TableStatistics[]>(`/projects/${id}/tables`);
				// the stream reports every second: its counts may trail the destination's rows by that much
				const replay = (table: string) => all.find((s) => s.source === `${db}.${table}`)?.replay;
				const notes = replay("notes")?.inserts ?? 0;
				const items = (replay("items")?.updates ?? 0) + (replay("items")?.deletes ?? 0);
				return notes >= done.inserts && items >= done.updates + done.deletes ? all : undefined;
			},
			60_000,
		);
		const items = stats.find((s) => s.source === `${db}.items`);
		expect(items?.copy?.rows).toBe(ITEMS);
		expect(items?.copy?.chunksTotal).toBeGreaterThanOrEqual(2);
		expect(items?.copy?.chunksDone).toBe(items?.copy?.chunksTotal);
		expect(items?.copy?.bytes).toBeGreaterThan(0);
		expect(items?.replay).toEqual({ inserts: 0, updates: done.updates, deletes: done.deletes, ddl: 0 });
		expect(stats.find((s) => s.source === `${db}.notes`)?.replay).toEqual({
			inserts: done.inserts,
			updates: 0,
			deletes: 0,
			ddl: 1,
		});

		// a verification run: rows checked and differences per table
		const run = await verified(t, id);
		expect(run.run.totals).toMatchObject({ missing: 0, extra: 0, different: 0 });
		const checked = await t.api.get<TableStatistics[]>(`/projects/${id}/tables`);
		expect(checked.find((s) => s.source === `${db}.items`)?.verification).toMatchObject({
			rowsChecked: ITEMS - done.deletes,
			missing: 0,
			extra: 0,
			different: 0,
		});
		expect(checked.find((s) => s.source === `${db}.notes`)?.verification?.rowsChecked).toBe(done.inserts);
		// the next sample has the run's progress
		await waitFor(
			"a sample of the verification",
			async () => {
				const h = await t.api.get<MetricsHistory>(`/projects/${id}/metrics?from=${from}&step=10`);
				const v = h.series.find((x) => x.group === "verification" && x.metric === "percent");
				return v?.points.at(-1)?.value === 100 ? v : undefined;
			},
			30_000,
		);

		// the history: what the status showed, sampled every 10 s
		polling = false;
		await poller;
		const final: ProjectStatus = await t.status(id);
		const history = await t.api.get<MetricsHistory>(`/projects/${id}/metrics?from=${from}&step=10`);
		expect(history).toMatchObject({ projectId: id, source: "local", stepSeconds: 10 });
		const series = (group: string, metric: string) =>
			history.series.find((s) => s.group === group && s.metric === metric)?.points ?? [];
		const rates = series("forward", "rowsPerSecond");
		expect(rates.length).toBeGreaterThanOrEqual(4);
		for (const p of rates) expect(shown.rowsPerSecond, `rows/s ${p.value} at ${p.at}`).toContain(p.value);
		expect(Math.max(...rates.map((p) => p.value))).toBeGreaterThan(0);
		for (const p of series("forward", "latencySeconds")) expect(shown.latencySeconds).toContain(p.value);
		expect(series("copy", "percent").at(-1)?.value).toBe(100);
		expect(series("copy", "rowsCopied").at(-1)?.value).toBe(final.full?.rowsCopied);
		for (const s of history.series) {
			for (const p of s.points) expect(Date.parse(p.at)).toBeGreaterThanOrEqual(Date.parse(from));
		}
		expect(history.series.some((s) => s.group === "reverse" || s.group === "sink")).toBe(false);

		// the change is in the timeline with its old and new values
		const timeline = await t.api.get<ProjectEvent[]>(`/projects/${id}/events`);
		expect(timeline.find((e) => e.kind === "settings-changed")?.details).toEqual({
			changes: { parallelApply: { old: null, new: 2 }, replayBatchSize: { old: null, new: 50 } },
		});
	}, 240_000);
});
