import type { Direction, Project } from "../model/project.ts";

/**
 * Whether forward replay has started and no switchover has stopped it. A synchronization
 * project's stream runs from its "sync" step on; with "full" only, until that step is done.
 */
export function forwardReplicating(project: Project): boolean {
	const step = project.steps.find((s) => s.name === "incremental" || s.name === "sync");
	if (step?.name === "sync" && !project.types.includes("incremental")) return step.state === "running";
	return (step?.state === "running" || step?.state === "done") && !project.switchover?.forwardStopped;
}

/**
 * Whether a replication task should run for this project and direction now. Replay keeps
 * going while a later step waits for the user (a verification or switchover ticket), so the
 * destination never falls behind while a person decides; it stops when the project is paused
 * or released, or when the ticket is about replication itself (`Ticket.stopsReplication`: its
 * task stopped, or a replication step failed).
 */
export function replicationWanted(project: Project, direction: Direction): boolean {
	const live =
		project.state === "running" || (project.state === "failed" && !!project.ticket && !project.ticket.stopsReplication);
	if (!live) return false;
	return direction === "forward" ? forwardReplicating(project) : project.reverse?.active === true;
}
