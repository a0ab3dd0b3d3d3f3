import type { Context } from "../context.ts";
import { conflict } from "../errors.ts";
import { differs, type Project } from "../model/project.ts";
import { cancelStoppedChunks } from "../scheduler/chunks/sessions.ts";
import {
	corrected,
	fromTruth,
	results,
	tableCorrection,
	tableDiffs,
	type VerificationResults,
} from "../scheduler/verification-results.ts";
import { withConnections } from "../state/datasources.ts";
import { getProject, updateProject } from "../state/projects.ts";
import { correctionScript } from "../verify/correct.ts";
import type { RowDiff } from "../verify/diff.ts";

/** The user's verification commands (pause, resume, correct) and the results they read. */

/** Pause or resume the current run: its chunks stop being queued, and the statements of chunks being checked are killed. */
export async function pauseVerification(ctx: Context, id: string, pause: boolean): Promise<Project> {
	const project = await updateProject(ctx, id, (p) => {
		const v = p.verification;
		const from = pause ? "running" : "paused";
		if (v?.state !== from) {
			throw conflict(
				"BAD_STATE",
				`project '${p.name}' has no ${from} verification (it is ${v?.state ?? "not started"})`,
			);
		}
		return { ...p, verification: { ...v, state: pause ? "paused" : "running" } };
	});
	if (pause) await cancelStoppedChunks(ctx, project);
	return project;
}

/** Applies the correction SQL for the last run's differences, then re-verifies the corrected tables. */
export async function requestCorrection(ctx: Context, id: string, run?: number): Promise<Project> {
	return updateProject(ctx, id, (p) => {
		const v = p.verification;
		if (v?.state !== "done" || !v.totals) {
			throw conflict("BAD_STATE", `project '${p.name}' has no finished verification to correct`);
		}
		if (run !== undefined && run !== v.run) {
			throw conflict(
				"RUN_CHANGED",
				`the last verification run of '${p.name}' is run ${v.run}, not run ${run}: read its correction SQL, then apply it`,
			);
		}
		if (v.totals.missing + v.totals.extra + v.totals.different === 0) {
			if (differs(v.totals)) {
				throw conflict(
					"NOTHING_TO_CORRECT",
					`verification run ${v.run} of '${p.name}' found differences in the tables themselves only (see the results): correct those by hand`,
				);
			}
			throw conflict("NOTHING_TO_CORRECT", `verification run ${v.run} of '${p.name}' found no differences`);
		}
		return { ...p, verification: { ...v, state: "correcting", correcting: v.run } };
	});
}

/** The current (or last) run with its per-table results. */
export async function verificationResults(ctx: Context, id: string): Promise<VerificationResults> {
	const project = await getProject(ctx, id);
	const run = project.verification;
	if (!run) throw conflict("NOT_VERIFIED", `project '${project.name}' has not been verified yet`);
	return { run, tables: await results(ctx, project, run) };
}

/** The inconsistent rows of the last finished run (the downloadable list). */
export async function verificationDifferences(
	ctx: Context,
	id: string,
): Promise<{ run: number; tables: { table: string; destination: string; truncated: boolean; rows: RowDiff[] }[] }> {
	const project = await getProject(ctx, id);
	const run = project.verification;
	if (!run) throw conflict("NOT_VERIFIED", `project '${project.name}' has not been verified yet`);
	const tables = (await tableDiffs(ctx, project, run))
		.filter((t) => t.differences.length > 0)
		.map((t) => ({
			table: t.result.table,
			destination: t.result.destination,
			truncated: t.result.truncated,
			rows: t.differences.map((d) => fromTruth(run, d)),
		}));
	return { run: run.run, tables };
}

/** The correction SQL for the last run's differences, as a script a DBA can read and run. */
export async function correctionSql(ctx: Context, id: string): Promise<{ run: number; script: string }> {
	const project = await getProject(ctx, id);
	const run = project.verification;
	if (run?.state !== "done") {
		throw conflict("NOT_VERIFIED", `project '${project.name}' has no finished verification`);
	}
	const differing = (await tableDiffs(ctx, project, run)).filter((t) => t.differences.length > 0);
	const statements = await withConnections(ctx, project, async (s, d) => {
		const out: string[] = [];
		for (const t of differing) out.push(...(await tableCorrection(run, s, d, t)));
		return out;
	});
	return {
		run: run.run,
		script: correctionScript(statements, `run at the ${corrected(run, "source", "destination")}`),
	};
}
