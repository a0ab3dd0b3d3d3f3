import type { Direction } from "../model/project.ts";

/**
 * A replication stream's id: the project id for forward replay (source -> destination),
 * `<project>.reverse` for the way back. It names the task, its lease and status item, and its
 * checkpoint stream.
 */
export function replicationId(projectId: string, direction: Direction): string {
	return direction === "forward" ? projectId : `${projectId}.reverse`;
}

/** The stream of the other direction of the same project: the one whose writes this one must not send back. */
export function peerReplicationId(id: string): string {
	const { projectId, direction } = parseReplicationId(id);
	return replicationId(projectId, direction === "forward" ? "reverse" : "forward");
}

/** The inverse of `replicationId`. */
export function parseReplicationId(id: string): { projectId: string; direction: Direction } {
	return id.endsWith(".reverse")
		? { projectId: id.slice(0, -".reverse".length), direction: "reverse" }
		: { projectId: id, direction: "forward" };
}
