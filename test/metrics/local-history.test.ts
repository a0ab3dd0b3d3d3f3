import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS, LocalMetricsHistory } from "../../shared/metrics/local-history.ts";

const HOUR = 3600_000;
const DAY = 24 * HOUR;

/** A store whose clock the test moves. */
function store(maxProjects = DEFAULT_LIMITS.maxProjects) {
	let now = Date.parse("2026-01-01T00:00:00Z");
	const history = new LocalMetricsHistory({ ...DEFAULT_LIMITS, maxProjects }, () => now);
	return {
		history,
		now: () => now,
		/** Samples `project` every 10 s for `ms`, its latency the clock's seconds modulo 100 (0, 10, ..., 90). */
		run(project: string, ms: number) {
			const end = now + ms;
			for (; now < end; now += 10_000) {
				history.record(project, {
					at: now,
					values: { "forward.latencySeconds": (now / 1000) % 100, "forward.rowsPerSecond": 50, "copy.percent": 100 },
				});
			}
		},
	};
}

describe("the local metrics history", () => {
	it("stays bounded however long projects run: fine points for 2 hours, coarse for 14 days, no more", () => {
		const s = store();
		s.run("pr-a", 30 * DAY);
		const fine = DEFAULT_LIMITS.fineRetentionMs / DEFAULT_LIMITS.fineStepMs + 1;
		const coarse = DEFAULT_LIMITS.coarseRetentionMs / DEFAULT_LIMITS.coarseStepMs + 1;
		expect(s.history.size()).toEqual({ projects: 1, buckets: fine + coarse });
		// twice as long a run holds no more
		s.run("pr-a", 30 * DAY);
		expect(s.history.size().buckets).toBe(fine + coarse);
	});

	it("answers the last hour at 10 s and the last days at 5 min, with the samples' values", async () => {
		const s = store();
		s.run("pr-a", 20 * DAY);
		const lastHour = await s.history.read("pr-a", { from: s.now() - HOUR, to: s.now(), stepSeconds: 10 });
		const latency = lastHour.find((x) => x.group === "forward" && x.metric === "latencySeconds");
		expect(latency?.points.length).toBe(360);
		for (const p of latency?.points ?? []) expect(p.value).toBe((Date.parse(p.at) / 1000) % 100);
		const days = await s.history.read("pr-a", { from: s.now() - 20 * DAY, to: s.now(), stepSeconds: 3600 });
		const rows = days.find((x) => x.group === "forward" && x.metric === "rowsPerSecond");
		// older than 14 days is gone; hourly points average the 10 s samples
		expect(rows?.points.length).toBe(14 * 24);
		expect(new Set(rows?.points.map((p) => p.value))).toEqual(new Set([50]));
		const worst = days.find((x) => x.metric === "latencySeconds");
		expect(Math.max(...(worst?.points.map((p) => p.value) ?? []))).toBe(90);
		expect(s.history.stepFor({ from: s.now() - 3 * HOUR, to: s.now(), stepSeconds: 10 })).toBe(300);
	});

	it("keeps at most maxProjects projects, dropping the one sampled least recently", async () => {
		const s = store(3);
		for (const p of ["pr-1", "pr-2", "pr-3", "pr-4"]) s.run(p, 10 * 60_000);
		expect(s.history.size().projects).toBe(3);
		const range = { from: s.now() - HOUR, to: s.now(), stepSeconds: 60 };
		expect(await s.history.read("pr-1", range)).toEqual([]);
		expect((await s.history.read("pr-4", range)).length).toBeGreaterThan(0);
	});
});
