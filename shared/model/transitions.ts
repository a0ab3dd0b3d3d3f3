import type { ProjectState } from "./project.ts";

/*
 * Which user actions each project state allows, in one place for the API (control/projects.ts
 * refuses anything else with a 409) and the console (which enables only what the API allows).
 * Zod-free so the browser bundle can import it.
 */

export type ProjectAction = "start" | "pause" | "resume" | "release";

export const TRANSITIONS: Record<ProjectAction, { from: ProjectState[]; to: ProjectState }> = {
	start: { from: ["new"], to: "running" },
	pause: { from: ["running"], to: "paused" },
	resume: { from: ["paused"], to: "running" },
	release: { from: ["new", "paused", "failed", "completed"], to: "released" },
};

/** A running or paused project holds replication and chunks: release it before deleting. */
export const UNDELETABLE: ProjectState[] = ["running", "paused"];
