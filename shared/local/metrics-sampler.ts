import type { Context } from "../context.ts";
import { sampleOf } from "../control/metrics.ts";
import { projectStatus } from "../control/status.ts";
import type { LocalMetricsHistory } from "../metrics/local-history.ts";
import type { Project } from "../model/project.ts";
import { logger } from "../observability.ts";
import { runProgress } from "../scheduler/verification.ts";
import { listProjects } from "../state/projects.ts";

/**
 * Local mode's metrics history is fed here: every `everyMs` (10 s: the store's finest step, and
 * a state-table read per project that a status poll makes anyway) the main process reads the
 * status of each project that runs, or waits with replay possibly running, and records it.
 */
export const SAMPLE_EVERY_MS = 10_000;

const SAMPLED_STATES = new Set(["running", "paused", "failed"]);

/**
 * A sample reads the copy's totals from the status without a table (the summary item) and a
 * verification run's progress from its window: never every table and chunk, which a sample every
 * 10 s of a 2,000-table project would read thousands of times.
 */
async function sample(ctx: Context, project: Project, now: number) {
	const status = await projectStatus(ctx, project.id, { from: 0, limit: 0 });
	return sampleOf(project, status, now, await runProgress(ctx, project));
}

export async function sampleProjects(ctx: Context, history: LocalMetricsHistory, now = Date.now()): Promise<void> {
	for (const project of await listProjects(ctx)) {
		if (!SAMPLED_STATES.has(project.state)) continue;
		try {
			history.record(project.id, await sample(ctx, project, now));
		} catch (err) {
			logger.warn("could not sample a project's metrics", { project: project.id, error: (err as Error).message });
		}
	}
}

/** Samples every `everyMs` until stopped; a sample never overlaps the one before. */
export function startMetricsSampler(ctx: Context, history: LocalMetricsHistory, everyMs = SAMPLE_EVERY_MS) {
	let busy: Promise<void> | null = null;
	const timer = setInterval(() => {
		if (busy) return;
		busy = sampleProjects(ctx, history).finally(() => {
			busy = null;
		});
	}, everyMs);
	return {
		async stop() {
			clearInterval(timer);
			await busy;
		},
	};
}
