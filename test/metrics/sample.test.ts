import { describe, expect, it } from "vitest";
import { sampleOf } from "../../shared/control/metrics.ts";
import type { ProjectStatus, StreamStatus } from "../../shared/control/status.ts";
import type { Project } from "../../shared/model/project.ts";

const stream = (latencySeconds: number | undefined, rowsPerSecond: number): StreamStatus => ({
	phase: "exact",
	state: "running",
	latencySeconds,
	rowsPerSecond,
	bytesPerSecond: rowsPerSecond * 100,
	transactions: 0,
	rows: 0,
	inconsistencies: 0,
});

const status = (over: Partial<ProjectStatus>): ProjectStatus => ({
	id: "pr-1",
	name: "p",
	state: "running",
	steps: [],
	...over,
});

describe("a sample of the metrics history", () => {
	it("takes a migration's forward and reverse streams, the copy and the verification's share of chunks", () => {
		const s = sampleOf(
			{ id: "pr-1" } as Project,
			status({
				incremental: stream(4, 30),
				reverse: stream(undefined, 0),
				full: {
					rowsCopied: 900,
					bytesCopied: 9000,
					rowsPerSecond: 90,
					bytesPerSecond: 900,
					percent: 90,
					rowsEstimate: 1000,
					tables: [],
					tablesFrom: 0,
					tablesTotal: 0,
					tablesDone: 0,
				},
				verification: { run: { run: 1, state: "running", startedAt: "" }, tables: [] },
			}),
			1000,
			{ percent: 37, rowsChecked: 15 },
		);
		expect(s).toEqual({
			at: 1000,
			values: {
				"forward.latencySeconds": 4,
				"forward.rowsPerSecond": 30,
				"forward.bytesPerSecond": 3000,
				// an unknown latency is no point, not zero
				"reverse.rowsPerSecond": 0,
				"reverse.bytesPerSecond": 0,
				"copy.percent": 90,
				"copy.rowsCopied": 900,
				"copy.rowsPerSecond": 90,
				"copy.bytesPerSecond": 900,
				"verification.percent": 37,
				"verification.rowsChecked": 15,
			},
		});
	});

	it("names a synchronization project's stream sink", () => {
		const s = sampleOf({ id: "pr-2", sync: {} } as Project, status({ incremental: stream(0, 5) }), 1);
		expect(Object.keys(s.values)).toEqual(["sink.rowsPerSecond", "sink.bytesPerSecond", "sink.latencySeconds"]);
	});
});
