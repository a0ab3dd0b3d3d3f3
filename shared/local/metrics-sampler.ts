import type { Context } from "../context.ts";
import { sampleOf } from "../control/metrics.ts";
import { type ProjectStatus, projectStatus } from "../control/status.ts";
import { verificationResults } from "../control/verification.ts";
import type { LocalMetricsHistory } from "../metrics/local-history.ts";
import type { Project } from "../model/project.ts";
import { logger } from "../observability.ts";
import { listProjects } from "../state/projects.ts";

/**
 * Local mode's metrics history is fed here: every `everyMs` (10 s: the store's finest step, and
 * a state-table read per project that a status poll makes anyway) the main process reads the
 * status of each project that runs, or waits with replay possibly running, and records it.
 */
export const SAMPLE_EVERY_MS = 10_000;

const SAMPLED_STATES = new Set(["running", "paused", "failed"]);

/**
 * The status a sample needs: the copy's totals without a table (the summary item, not every table
 * and chunk: a sample every 10 s of a 2,000-table project read thousands of items), and the
 * verification's per-table results only while a run is under way (a finished run has its totals).
 */
async function sampledStatus(ctx: Context, project: Project): Promise<ProjectStatus> {
	const status = await projectStatus(ctx, project.id, { from: 0, limit: 0 });
	const run = project.verification;
	if (run && run.state !== "done") status.verification = await verificationResults(ctx, project.id);
	return status;
}

export async function sampleProjects(ctx: Context, history: LocalMetricsHistory, now = Date.now()): Promise<void> {
	for (const project of await listProjects(ctx)) {
		if (!SAMPLED_STATES.has(project.state)) continue;
		try {
			history.record(project.id, sampleOf(project, await sampledStatus(ctx, project), now));
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
