import type { Context } from "../context.ts";
import { conflict } from "../errors.ts";
import type { Project } from "../model/project.ts";
import { updateProject } from "../state/projects.ts";

/** The user's switchover commands: the steps (scheduler/steps/switch-*.ts) wait for them. */

/** The user starts the switchover (once replay has caught up and verification is clean or waived). */
export async function requestSwitchover(
	ctx: Context,
	id: string,
	options: { maxLatencySeconds: number; waiveVerification: boolean },
): Promise<Project> {
	return updateProject(ctx, id, (p) => {
		if (!p.types.includes("switchover")) {
			throw conflict("NO_SWITCHOVER", `project '${p.name}' does not include switchover in its migration types`);
		}
		if (p.switchover?.writesStoppedAt) {
			throw conflict("BAD_STATE", `the switchover of '${p.name}' is past the point of changing its settings`);
		}
		return {
			...p,
			switchover: { ...p.switchover, ...options, requestedAt: p.switchover?.requestedAt ?? new Date().toISOString() },
		};
	});
}

/** The user confirms the application no longer writes to the source. */
export async function confirmWritesStopped(ctx: Context, id: string): Promise<Project> {
	return updateProject(ctx, id, (p) => {
		if (!p.switchover?.requestedAt) {
			throw conflict("BAD_STATE", `start the switchover of '${p.name}' before confirming writes stopped`);
		}
		return {
			...p,
			switchover: { ...p.switchover, writesStoppedAt: p.switchover.writesStoppedAt ?? new Date().toISOString() },
		};
	});
}
