import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { importCycles, importGraph, longFiles, MAX_LINES } from "../scripts/check-architecture.ts";

/** The layout a newcomer relies on (DEVELOPERS "Style"), checked on every run: scripts/check-architecture.ts. */

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

describe("the product's modules", () => {
	it("import one another without a cycle (type imports included)", () => {
		expect(importCycles(importGraph(root))).toEqual([]);
	});

	it(`are each at most ${MAX_LINES} lines`, () => {
		expect(longFiles(root)).toEqual([]);
	});

	it("the cycle check finds a cycle when there is one", () => {
		const graph = new Map([
			["a.ts", ["b.ts"]],
			["b.ts", ["c.ts"]],
			["c.ts", ["a.ts"]],
			["d.ts", ["a.ts"]],
		]);
		expect(importCycles(graph)).toEqual([["a.ts", "b.ts", "c.ts"]]);
	});

	it("the scheduler and the state layer never import the user's commands", () => {
		const graph = importGraph(root);
		const offending = [...graph.entries()].filter(
			([from, to]) =>
				(from.startsWith("shared/scheduler/") || from.startsWith("shared/state/")) &&
				to.some((t) => t.startsWith("shared/control/") || t.startsWith("shared/api/")),
		);
		expect(offending).toEqual([]);
	});
});
