import type { MigrationType, Project } from "../../shared/model/project.ts";
import { ProjectInput } from "../../shared/model/project.ts";
import type { Step } from "../../shared/scheduler/step.ts";
import { STEPS, stepsFor } from "../../shared/scheduler/steps/index.ts";
import type { ChunkItem } from "../../shared/state/chunks.ts";
import { chunkSk, chunksPk } from "../../shared/state/keys.ts";
import { createProjectItem, getProject } from "../../shared/state/projects.ts";
import { createTable } from "../../shared/state/tables.ts";
import type { FakeContext } from "../support/fakes.ts";

let next = 0;

/** A project item as `createProject` leaves it, started (running) unless `state` says otherwise. */
export async function seedProject(
	ctx: FakeContext,
	types: MigrationType[],
	options: { steps?: readonly Step[]; state?: Project["state"]; parallelism?: number } = {},
): Promise<Project> {
	const input = ProjectInput.parse({
		name: `p${++next}`,
		sourceId: "ds-source",
		destinationId: "ds-destination",
		types,
		objects: [{ database: "shop" }],
		options: { parallelism: options.parallelism ?? 2 },
	});
	const now = new Date().toISOString();
	const id = `pr-test${next}`;
	await createProjectItem(ctx, id, {
		...input,
		state: options.state ?? "running",
		steps: stepsFor(types, options.steps ?? STEPS),
		createdAt: now,
		updatedAt: now,
	});
	return getProject(ctx, id);
}

/** One planned table (`shop.orders`) with `chunks` copy chunks in the states given. */
export async function seedCopy(ctx: FakeContext, projectId: string, chunks: Partial<ChunkItem>[]): Promise<void> {
	const table = { database: "shop", table: "orders" };
	await createTable(ctx, projectId, {
		index: 0,
		mapping: { source: table, destination: table, columns: [{ source: "id", destination: "id" }] },
		rowsEstimate: 100,
		planned: true,
		chunks: chunks.length,
	});
	for (const [i, c] of chunks.entries()) {
		const item: ChunkItem = {
			tableIndex: 0,
			spec: { kind: "whole", index: i, source: table, destination: table, reason: "a test's chunk" },
			state: "pending",
			attempts: 0,
			...c,
		};
		await ctx.store.create({ pk: chunksPk(projectId), sk: chunkSk(0, i) }, item);
	}
}

/** A step of the test's own, recording its calls; `run` answers from the script given, one answer per call. */
export function scriptedStep(
	name: string,
	script: Array<"done" | "waiting" | Error>,
	extra: Partial<Step> = {},
): Step & { calls: number } {
	const step: Step & { calls: number } = {
		name,
		calls: 0,
		appliesTo: () => true,
		async run(): Promise<"done" | "waiting"> {
			const answer: "done" | "waiting" | Error | undefined = script[Math.min(step.calls, script.length - 1)];
			step.calls += 1;
			if (answer instanceof Error) throw answer;
			return answer ?? "done";
		},
		...extra,
	};
	return step;
}
