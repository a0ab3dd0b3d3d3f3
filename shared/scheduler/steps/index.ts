import type { MigrationType, Step as ProjectStep } from "../../model/project.ts";
import type { Step } from "../step.ts";
import { finalize } from "./finalize.ts";
import { full } from "./full.ts";
import { incremental } from "./incremental.ts";
import { indexes } from "./indexes.ts";
import { position } from "./position.ts";
import { precheck } from "./precheck.ts";
import { reverse } from "./reverse.ts";
import { schema } from "./schema.ts";
import { switchCheck } from "./switch-check.ts";
import { switchDestination } from "./switch-destination.ts";
import { switchDrain } from "./switch-drain.ts";
import { switchSource } from "./switch-source.ts";
import { switchStopForward } from "./switch-stop-forward.ts";
import { switchWrites } from "./switch-writes.ts";
import { sync } from "./sync.ts";
import { syncPrecheck } from "./sync-precheck.ts";
import { verify } from "./verify.ts";

/**
 * Every step, in the order a project runs them (each only if `appliesTo` its migration types):
 * the capture position is recorded before the full copy reads its first row, so no change made
 * during the copy is missed; indexes and foreign keys come after the load; replay catches up
 * before verification, and verification before the switchover.
 */
export const STEPS: readonly Step[] = [
	precheck,
	schema,
	position,
	full,
	indexes,
	finalize,
	incremental,
	verify,
	switchCheck,
	switchWrites,
	switchDrain,
	switchStopForward,
	switchDestination,
	switchSource,
	reverse,
];

/**
 * A synchronization project's steps (its destination is a message queue): precheck the source
 * and the broker, record the capture start (incremental only: with "full", the snapshot's own
 * position is where streaming starts), then one stream sends the snapshot and the changes.
 */
export const SYNC_STEPS: readonly Step[] = [syncPrecheck, position, sync];

/** The step list a project follows: a migration's, or a synchronization's. */
export function stepListFor(project: { sync?: unknown }): readonly Step[] {
	return project.sync ? SYNC_STEPS : STEPS;
}

/** The steps a project runs, in order, given its migration types. */
export function stepsFor(types: readonly MigrationType[], steps: readonly Step[] = STEPS): ProjectStep[] {
	return steps.filter((s) => s.appliesTo(types)).map((s) => ({ name: s.name, state: "pending" }));
}

/** A step by its stored name. */
export function stepNamed(name: string, steps: readonly Step[] = STEPS): Step {
	const step = steps.find((s) => s.name === name);
	if (!step) throw new Error(`unknown step '${name}'`);
	return step;
}
