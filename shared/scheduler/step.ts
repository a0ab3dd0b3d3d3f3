import type { Context } from "../context.ts";
import type { Direction, Finding, MigrationType, Project } from "../model/project.ts";

/**
 * One step of a project's migration path, whole in one file under steps/. The scheduler's loop
 * (loop.ts) runs a project's steps in order; everything else about a step is read from here:
 * the order from steps/index.ts, whether a ticket on it may be skipped, whether it is
 * replication's own, and which alarm it raises.
 */
export interface Step {
	/** As stored in `Project.steps` and shown to the user. */
	name: string;
	/** Whether a project with these migration types runs it. */
	appliesTo(types: readonly MigrationType[]): boolean;
	/**
	 * Called when the step starts (or restarts after a retry) until it completes once: it must be
	 * safe to run again after a crash half-way.
	 */
	begin?(ctx: Context, project: Project): Promise<void>;
	/** The step's checks as a dry run, before the project starts: its findings, nothing changed (precheck only). */
	dryRun?(ctx: Context, project: Project): Promise<Finding[]>;
	/** Does what can be done now: "done" when the step is complete, "waiting" to be called again. Throws to open a ticket. */
	run(ctx: Context, project: Project): Promise<"done" | "waiting">;
	/**
	 * Why a ticket on this step cannot be skipped (skipping it would lose changes or leave nothing
	 * done), or undefined when it can. Absent: it can always be skipped.
	 */
	cannotSkip?(ctx: Context, project: Project): Promise<string | undefined>;
	/**
	 * The replication stream this step runs: its ticket stops that stream (`Ticket.stopsReplication`),
	 * a replication task's fatal stop opens its ticket here, and resolving it resumes replay
	 * rather than running the step again.
	 */
	replication?: Direction;
	/** The metric a ticket on this step raises besides MigrationFailed: the application waits on it. */
	alarm?: "SwitchoverBlocked";
}

/** For steps that can never be skipped. */
export const never =
	(why: string): Step["cannotSkip"] =>
	async () =>
		why;
