import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ALERT_NAMES, CATALOGUE, effectiveSettings, unknownThresholds } from "../../shared/alerts/catalogue.ts";
import { type AlertInputs, deadLetterConditions, evaluateAlerts } from "../../shared/alerts/evaluate.ts";
import type { Direction, Project } from "../../shared/model/project.ts";
import { SyncOptions } from "../../shared/model/sync.ts";
import { streamLiveness } from "../../shared/replication/liveness.ts";
import { replicationWanted } from "../../shared/replication/wanted.ts";
import { STEPS, SYNC_STEPS, stepsFor } from "../../shared/scheduler/steps/index.ts";
import type { ReplicationStatus } from "../../shared/state/streams.ts";

const NOW = Date.parse("2026-12-06T10:00:00Z");

function migration(change: Partial<Project> = {}): Project {
	const types: Project["types"] = ["schema", "full", "incremental", "verification"];
	return {
		id: "pr-1",
		name: "shop",
		sourceId: "a",
		destinationId: "b",
		types,
		objects: [{ database: "shop", table: "*", exclude: false }],
		options: { parallelism: 1, chunkRows: 100, deferSecondaryIndexes: true, twoWay: false },
		tags: [],
		state: "running",
		steps: stepsFor(types, STEPS).map((s) =>
			s.name === "incremental" ? { ...s, state: "running" } : { ...s, state: s.name === "verify" ? "pending" : "done" },
		),
		createdAt: "2026-12-06T09:00:00Z",
		updatedAt: "2026-12-06T09:00:00Z",
		...change,
	};
}

function status(change: Partial<ReplicationStatus> = {}): ReplicationStatus {
	return {
		owner: "task-1",
		leaseUntil: NOW + 30_000,
		heartbeatAt: NOW - 500,
		phase: "exact",
		session: "running",
		latencySeconds: 0,
		transactions: 10,
		rows: 10,
		bytes: 100,
		inconsistencies: 0,
		rowsPerSecond: 1,
		bytesPerSecond: 10,
		...change,
	};
}

function inputs(project: Project, forward?: ReplicationStatus, extra: Partial<AlertInputs> = {}): AlertInputs {
	const direction: Direction = "forward";
	return {
		project,
		streams: [
			{
				direction,
				status: forward,
				wanted: replicationWanted(project, direction),
				liveness: streamLiveness(project, direction, forward, NOW),
			},
		],
		now: NOW,
		...extra,
	};
}

const names = (i: AlertInputs, settings = effectiveSettings()) => evaluateAlerts(i, settings).map((c) => c.name);

describe("the alert catalogue", () => {
	it("has OMS's names and Ferry's two, each saying what it watches", () => {
		expect(ALERT_NAMES.filter((n) => n.startsWith("oms_"))).toHaveLength(7);
		for (const name of ALERT_NAMES) expect(CATALOGUE[name].watches.length).toBeGreaterThan(10);
		expect(Object.keys(CATALOGUE.oms_host_threshold.thresholds)).toEqual(["memoryPercent", "cpuPercent"]);
	});

	it("is documented in docs/alerts.md, every name and threshold", () => {
		const doc = readFileSync(new URL("../../docs/alerts.md", import.meta.url), "utf8");
		for (const name of ALERT_NAMES) {
			expect(doc).toContain(`\`${name}\``);
			for (const [key, t] of Object.entries(CATALOGUE[name].thresholds))
				expect(doc).toContain(`\`${key}\` (${t.default})`);
		}
	});

	it("takes a project's setting over the defaults' over the catalogue's, and refuses unknown thresholds", () => {
		const s = effectiveSettings(
			{ evaluationSeconds: 10, alerts: { oms_migration_delay: { thresholds: { delaySeconds: 30 } } } },
			{ alerts: { oms_migration_delay: { enabled: false }, oms_sync_delay: { thresholds: { delaySeconds: 5 } } } },
		);
		expect(s.evaluationSeconds).toBe(10);
		expect(s.alerts.oms_migration_delay).toEqual({ enabled: false, thresholds: { delaySeconds: 30 } });
		expect(s.alerts.oms_sync_delay.thresholds.delaySeconds).toBe(5);
		expect(s.alerts.oms_host_down.thresholds.heartbeatSeconds).toBe(
			CATALOGUE.oms_host_down.thresholds.heartbeatSeconds?.default,
		);
		expect(unknownThresholds({ alerts: { oms_migration_delay: { thresholds: { delay: 1 } } } })).toEqual([
			"oms_migration_delay.delay",
		]);
	});
});

describe("evaluating a project's alerts", () => {
	it("is quiet for a healthy running migration", () => {
		expect(names(inputs(migration(), status()))).toEqual([]);
	});

	it("fires migration delay above the threshold only, with the value and the threshold", () => {
		const settings = effectiveSettings({ alerts: { oms_migration_delay: { thresholds: { delaySeconds: 10 } } } });
		expect(names(inputs(migration(), status({ latencySeconds: 10 })), settings)).toEqual([]);
		const [c] = evaluateAlerts(inputs(migration(), status({ latencySeconds: 11 })), settings);
		expect(c).toMatchObject({ name: "oms_migration_delay", subject: "forward", value: 11, threshold: 10 });
		const off = effectiveSettings({
			alerts: { oms_migration_delay: { enabled: false, thresholds: { delaySeconds: 10 } } },
		});
		expect(names(inputs(migration(), status({ latencySeconds: 11 })), off)).toEqual([]);
	});

	it("calls a synchronization's failure and delay by the sync names", () => {
		const sync = migration({
			types: ["full", "incremental"],
			sync: SyncOptions.parse({}),
			steps: stepsFor(["full", "incremental"], SYNC_STEPS).map((s) => ({
				...s,
				state: s.name === "sync" ? "running" : "done",
			})),
		});
		expect(names(inputs(sync, status({ latencySeconds: 120 })))).toEqual(["oms_sync_delay"]);
		const failed = {
			...sync,
			state: "failed" as const,
			ticket: { id: "tk-1", step: "sync", message: "too big", openedAt: "", stopsReplication: true },
		};
		// (its task stopped with the ticket)
		const ended = status({ session: "ended" });
		expect(names(inputs(failed, ended))).toEqual(["oms_sync_failed"]);
		expect(names(inputs({ ...failed, sync: undefined }, ended))).toEqual(["oms_migration_failed"]);
	});

	it("fires host down once a wanted task's heartbeat is older than the threshold, not while it is paused", () => {
		const dead = status({ heartbeatAt: NOW - 20_000 });
		const settings = effectiveSettings({ alerts: { oms_host_down: { thresholds: { heartbeatSeconds: 15 } } } });
		expect(names(inputs(migration(), dead), settings)).toEqual(["oms_host_down"]);
		expect(names(inputs(migration(), status({ heartbeatAt: NOW - 10_000 })), settings)).toEqual([]);
		expect(names(inputs(migration({ state: "paused" }), dead), settings)).toEqual([]);
	});

	it("fires status inconsistent when a task keeps reporting long after its project was paused", () => {
		const paused = migration({ state: "paused", updatedAt: new Date(NOW - 120_000).toISOString() });
		expect(names(inputs(paused, status()))).toEqual(["oms_sync_status_inconsistent"]);
		expect(names(inputs({ ...paused, updatedAt: new Date(NOW - 10_000).toISOString() }, status()))).toEqual([]);
		expect(names(inputs(paused, status({ session: "ended" })))).toEqual([]);
	});

	it("fires the host threshold per measure over its limit", () => {
		const hot = status({ host: { memoryPercent: 95, cpuPercent: 40 } });
		expect(evaluateAlerts(inputs(migration(), hot), effectiveSettings()).map((c) => c.subject)).toEqual([
			"forward:memoryPercent",
		]);
		const both = effectiveSettings({ alerts: { oms_host_threshold: { thresholds: { cpuPercent: 30 } } } });
		expect(evaluateAlerts(inputs(migration(), hot), both)).toHaveLength(2);
	});

	it("fires verification inconsistent for a done run with differences, not for a clean or running one", () => {
		const run = {
			run: 2,
			state: "done" as const,
			startedAt: "",
			totals: { rowsChecked: 10, missing: 1, extra: 0, different: 2, tablesDiffering: 1 },
		};
		const [c] = evaluateAlerts(inputs(migration({ verification: run }), status()), effectiveSettings());
		expect(c).toMatchObject({ name: "ferry_verification_inconsistent", value: 3 });
		expect(c?.message).toMatch(/1 missing, 0 extra and 2 different/);
		const clean = { ...run, totals: { ...run.totals, missing: 0, different: 0 } };
		expect(names(inputs(migration({ verification: clean }), status()))).toEqual([]);
		expect(names(inputs(migration({ verification: { ...run, state: "running" } }), status()))).toEqual([]);
	});

	it("fires chunk stuck for exhausted chunks, and for dead letters (the stack's) at the threshold", () => {
		expect(
			names(inputs(migration(), status(), { exhaustedChunks: { count: 2, example: "000000#000000001" } })),
		).toEqual(["ferry_chunk_stuck"]);
		const settings = effectiveSettings({ alerts: { ferry_chunk_stuck: { thresholds: { deadLetters: 3 } } } });
		expect(deadLetterConditions(2, settings)).toEqual([]);
		expect(deadLetterConditions(3, settings)).toMatchObject([{ name: "ferry_chunk_stuck", value: 3, threshold: 3 }]);
		expect(deadLetterConditions(1, effectiveSettings())).toHaveLength(1);
		expect(deadLetterConditions(0, effectiveSettings())).toEqual([]);
	});
});
