import { z } from "zod";
import type { SourcePosition } from "../capture/change.ts";
import { ObjectRules } from "./rules.ts";

/** The migration types a user ticks per project, in OMS's terms. */
export const MigrationType = z.enum(["schema", "full", "incremental", "verification", "switchover", "reverse"]);
export type MigrationType = z.infer<typeof MigrationType>;

/** Migration types this release carries out; the others are accepted by the model but refused at create. */
export const IMPLEMENTED_TYPES: readonly MigrationType[] = ["schema", "full", "incremental"];

export const ProjectOptions = z
	.object({
		/** Chunks copied at once for this project. */
		parallelism: z.number().int().min(1).max(64).default(4),
		/** Rows per full-migration chunk. */
		chunkRows: z.number().int().min(100).max(1_000_000).default(100_000),
		/** Throttle for the whole project; absent means as fast as the databases allow. */
		maxRowsPerSecond: z.number().int().positive().optional(),
		maxBytesPerSecond: z.number().int().positive().optional(),
		/** Create secondary indexes after the load (faster for large tables). */
		deferSecondaryIndexes: z.boolean().default(true),
	})
	.strict();
export type ProjectOptions = z.infer<typeof ProjectOptions>;

export const ProjectInput = z
	.object({
		name: z.string().min(1).max(128),
		sourceId: z.string().min(1),
		destinationId: z.string().min(1),
		types: z.array(MigrationType).min(1),
		objects: ObjectRules,
		options: ProjectOptions.default(ProjectOptions.parse({})),
		tags: z.array(z.string().min(1).max(64)).max(50).default([]),
	})
	.strict();
export type ProjectInput = z.infer<typeof ProjectInput>;

/** new -> running <-> paused; running -> completed | failed (a ticket is open); any but running -> released. */
export type ProjectState = "new" | "running" | "paused" | "failed" | "completed" | "released";

export type StepName = "precheck" | "schema" | "position" | "full" | "indexes" | "finalize" | "incremental";
export type StepState = "pending" | "running" | "done" | "failed" | "skipped";

export interface Step {
	name: StepName;
	state: StepState;
	startedAt?: string;
	finishedAt?: string;
	error?: string;
}

/** A failed step waiting for the user: retry it or skip it (OMS's O&M ticket). */
export interface Ticket {
	id: string;
	step: StepName;
	message: string;
	openedAt: string;
}

/** Where incremental replay starts, and until where it must run in safe (idempotent) mode. */
export interface IncrementalState {
	/** The source position recorded before the full copy read its first row. */
	startPosition?: SourcePosition;
	/** The source position after the last chunk was copied: changes before it may already be at the destination. */
	safeUntil?: SourcePosition;
	/** A transaction the user chose to skip (ticket "skip" on an unsupported DDL). */
	skipGtid?: string;
}

/** A precheck result: errors block the project, warnings are kept for the user to read. */
export interface Finding {
	level: "error" | "warning";
	object: string;
	message: string;
	fix: string;
}

export interface Project extends ProjectInput {
	id: string;
	state: ProjectState;
	steps: Step[];
	ticket?: Ticket;
	findings?: Finding[];
	incremental?: IncrementalState;
	createdAt: string;
	updatedAt: string;
}

/** The steps a project runs, in order, given its migration types. */
export function stepsFor(types: readonly MigrationType[]): Step[] {
	const names: StepName[] = ["precheck"];
	if (types.includes("schema")) names.push("schema");
	// the capture position is recorded before the first chunk is read, so no change made during the copy is missed
	if (types.includes("incremental")) names.push("position");
	if (types.includes("full")) names.push("full");
	if (types.includes("schema")) names.push("indexes", "finalize");
	// never "done": replay keeps the destination in sync until switchover
	if (types.includes("incremental")) names.push("incremental");
	return names.map((name) => ({ name, state: "pending" }));
}
