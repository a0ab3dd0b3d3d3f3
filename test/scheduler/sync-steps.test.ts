import { describe, expect, it } from "vitest";
import type { Project } from "../../shared/model/project.ts";
import { SyncOptions } from "../../shared/model/sync.ts";
import { forwardReplicating, replicationWanted } from "../../shared/replication/wanted.ts";
import { STEPS, SYNC_STEPS, stepListFor, stepsFor } from "../../shared/scheduler/steps/index.ts";

function project(types: Project["types"], sync: string): Project {
	return {
		id: "pr-1",
		name: "p",
		sourceId: "a",
		destinationId: "b",
		types,
		objects: [{ database: "shop", table: "*", exclude: false }],
		options: { parallelism: 1, chunkRows: 100, deferSecondaryIndexes: true, twoWay: false },
		sync: SyncOptions.parse({}),
		tags: [],
		state: "running",
		steps: stepsFor(types, SYNC_STEPS).map((s) =>
			s.name === "sync" ? { ...s, state: sync as "running" } : { ...s, state: "done" },
		),
		createdAt: "",
		updatedAt: "",
	};
}

describe("a synchronization project's steps", () => {
	it("runs precheck, position (incremental only) and sync; a migration its own list", () => {
		expect(stepsFor(["full", "incremental"], SYNC_STEPS).map((s) => s.name)).toEqual(["precheck", "position", "sync"]);
		expect(stepsFor(["full"], SYNC_STEPS).map((s) => s.name)).toEqual(["precheck", "sync"]);
		expect(stepListFor({ sync: SyncOptions.parse({}) })).toBe(SYNC_STEPS);
		expect(stepListFor({})).toBe(STEPS);
	});

	it("keeps the stream running after sync is done with incremental, stops it with full only", () => {
		expect(forwardReplicating(project(["full", "incremental"], "running"))).toBe(true);
		expect(forwardReplicating(project(["full", "incremental"], "done"))).toBe(true);
		expect(forwardReplicating(project(["full"], "running"))).toBe(true);
		expect(forwardReplicating(project(["full"], "done"))).toBe(false);
		expect(replicationWanted({ ...project(["full", "incremental"], "done"), state: "paused" }, "forward")).toBe(false);
	});
});
