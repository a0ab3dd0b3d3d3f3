import { hasReached } from "../binlog/position.ts";
import { planChunks } from "../chunking/plan.ts";
import type { Context } from "../context.ts";
import { isNetworkError } from "../db/connect.ts";
import { qualifiedName } from "../db/sql.ts";
import { conflict, invalid } from "../errors.ts";
import type { Direction, Project, VerificationRun } from "../model/project.ts";
import { logger, metrics } from "../observability.ts";
import { replicationId } from "../replication/ids.ts";
import { forwardReplicating } from "../replication/wanted.ts";
import type { ChunkItem } from "../state/chunks.ts";
import { withConnections } from "../state/datasources.ts";
import type { PlannedJob } from "../state/progress.ts";
import { getProject, updateProject } from "../state/projects.ts";
import { ConflictError, type Stored } from "../state/store.ts";
import { replicationStatus } from "../state/streams.ts";
import { listTables } from "../state/tables.ts";
import { markTablePlanned, plannedTables, saveUnreplicated, unreplicatedOf } from "../state/verification.ts";
import { applyCorrections } from "../verify/correct.ts";
import { tableSchema, unreplicatedTables } from "../verify/schema-diff.ts";
import { boundStatements } from "./chunks/bound.ts";
import { MAX_ATTEMPTS, planTable, requeueRecheck, stuck, topUp } from "./chunks/lifecycle.ts";
import { publishProgress } from "./chunks/progress.ts";
import { queryTimeout } from "./chunks/sessions.ts";
import { verifyJob } from "./chunks/verify.ts";
import {
	chunksDone,
	chunksTotal,
	doneTables,
	moveWindow,
	openWindow,
	readWindow,
	rowsDone,
	setPlanned,
	sumsOf,
	windowDone,
} from "./chunks/window.ts";
import {
	corrected,
	results,
	runTables,
	type TableResult,
	tableCorrection,
	tableDiffers,
	tableDiffs,
	totalsOf,
} from "./verification-results.ts";

/**
 * The verification driver: a run (`project.verification`, numbered) goes running <-> paused ->
 * done, or correcting (apply the correction SQL, then a new run over the corrected tables). The
 * scheduler gives it a turn on every tick (`advanceVerification`); the verify step and the user
 * start runs (`startVerification`). Its chunks are a chunk job (chunks/verify.ts).
 */

/** Rows per verification chunk: larger than a copy chunk, since only two aggregates come back. */
const VERIFY_CHUNK_ROWS = 200_000;

/**
 * The side whose data is right: the destination once the switchover stopped forward replay (the
 * application writes there), else the source.
 */
function truthOf(p: Project): "source" | "destination" {
	return p.switchover?.forwardStopped && !p.options.twoWay ? "destination" : "source";
}

/**
 * Starts a verification run (or re-runs one) over every table of the project or the chosen
 * ones (source names). Refused while a run is going on, and before the project's data is there.
 */
export async function startVerification(ctx: Context, id: string, tables?: string[]): Promise<Project> {
	await getProject(ctx, id);
	const known = new Set((await listTables(ctx, id)).map((t) => qualifiedName(t.mapping.source)));
	const unknown = (tables ?? []).filter((t) => !known.has(t));
	if (unknown.length) {
		throw invalid(
			"UNKNOWN_TABLE",
			`not a table of this project: ${unknown.join(", ")}; use source names as database.table (${[...known].slice(0, 5).join(", ")}${known.size > 5 ? ", ..." : ""})`,
		);
	}
	return updateProject(ctx, id, (p) => {
		if (p.state !== "running" && p.state !== "completed" && p.state !== "failed") {
			throw conflict("BAD_STATE", `cannot verify project '${p.name}' while it is ${p.state}`);
		}
		const full = p.steps.find((s) => s.name === "full");
		if (full && full.state !== "done" && full.state !== "skipped") {
			throw conflict("NOT_READY", `project '${p.name}' is still copying: verify after the full migration`);
		}
		if (p.verification && ["running", "paused", "correcting"].includes(p.verification.state)) {
			throw conflict("BUSY", `verification run ${p.verification.run} of '${p.name}' is ${p.verification.state}`);
		}
		const verification: VerificationRun = {
			...coverage(p.verification),
			run: (p.verification?.run ?? 0) + 1,
			state: "running",
			startedAt: new Date().toISOString(),
			truth: truthOf(p),
		};
		if (tables?.length) verification.tables = [...new Set(tables)];
		return { ...p, verification };
	});
}

/** What a new run carries over from the last one: which tables are known clean. */
function coverage(v: VerificationRun | undefined): Pick<VerificationRun, "fullRun" | "differing"> {
	return { fullRun: v?.fullRun, differing: v?.differing };
}

/** The coverage after a run is done: a run over every table resets it, a partial one updates its tables. */
function coverageAfter(run: VerificationRun, tables: TableResult[]): Pick<VerificationRun, "fullRun" | "differing"> {
	const bad = tables.filter(tableDiffers).map((t) => t.table);
	if (!run.tables) return { fullRun: run.run, differing: bad };
	const checked = new Set(tables.map((t) => t.table));
	return { fullRun: run.fullRun, differing: [...(run.differing ?? []).filter((t) => !checked.has(t)), ...bad] };
}

/** True when every table has been verified and none differs by its latest check (what switchover requires). */
export function verifiedClean(v: VerificationRun | undefined): boolean {
	return v?.state === "done" && v.fullRun !== undefined && (v.differing ?? []).length === 0;
}

/**
 * Plans the run's tables into chunk items; each table once, resumable. A table whose ends differ
 * in the table itself says so in its plan item (and is not chunked when a side is missing); a
 * full run also lists the tables the rules include that the project does not replicate.
 */
async function planRun(ctx: Context, project: Project, run: VerificationRun): Promise<PlannedJob> {
	const planned = await plannedTables(ctx, project.id, run.run);
	const tables = await runTables(ctx, project, run);
	const todo = tables.filter((t) => !planned.has(t.index));
	const listUnreplicated = !run.tables && (await unreplicatedOf(ctx, project.id, run.run)) === undefined;
	if (todo.length > 0 || listUnreplicated) {
		await withConnections(ctx, project, async (source, destination) => {
			await boundStatements(source, queryTimeout(project));
			await boundStatements(destination, queryTimeout(project));
			const job = verifyJob(ctx, project.id, run.run);
			if (listUnreplicated) {
				const mappings = tables.map((t) => t.mapping);
				const found = await unreplicatedTables(source, destination, project.objects, mappings);
				await saveUnreplicated(ctx, project.id, run.run, found);
			}
			for (const t of todo) {
				const { comparable, schema } = await tableSchema(source, destination, t.mapping, project.objects);
				const chunks = comparable
					? await planTable(ctx, job, t.index, planChunks(source, t.mapping, { chunkRows: VERIFY_CHUNK_ROWS }))
					: 0;
				const item = { chunks, ...(schema.length > 0 ? { schema } : {}) };
				await markTablePlanned(ctx, project.id, run.run, t.index, item);
				planned.set(t.index, item);
			}
		});
	}
	const chunks = tables.reduce((n, t) => n + (planned.get(t.index)?.chunks ?? 0), 0);
	return { tables: tables.length, chunks, estimates: 0 };
}

/** Chunks waiting for a recheck go back to the queue once replay (each way it runs) has applied what they saw. */
async function releaseRechecks(ctx: Context, project: Project, chunks: Stored<ChunkItem>[]): Promise<void> {
	const waiting = chunks.filter((c) => c.state === "recheck");
	if (waiting.length === 0) return;
	const positionOf = async (direction: Direction, running: boolean) =>
		running ? (await replicationStatus(ctx, replicationId(project.id, direction)))?.position : undefined;
	const forward = forwardReplicating(project);
	const reverse = project.reverse?.active === true;
	const [forwardAt, reverseAt] = await Promise.all([positionOf("forward", forward), positionOf("reverse", reverse)]);
	for (const c of waiting) {
		const v = c.verification;
		if (forward && v?.recheckAfter && !hasReached(forwardAt, v.recheckAfter)) continue;
		if (reverse && v?.recheckAfterReverse && !hasReached(reverseAt, v.recheckAfterReverse)) continue;
		await requeueRecheck(ctx, c);
	}
}

/**
 * A running run's `error` says what it is retrying (a chunk that failed and waits for its next
 * attempt, say on a cut network), as the copy's tables show theirs; cleared once nothing is.
 */
async function showRetries(
	ctx: Context,
	project: Project,
	run: VerificationRun,
	chunks: Stored<ChunkItem>[],
): Promise<void> {
	const retrying = chunks.find((c) => c.state === "pending" && c.lastError);
	const note = retrying
		? `retrying chunk ${retrying.sk} (attempt ${retrying.attempts}/${MAX_ATTEMPTS}): ${retrying.lastError}`
		: undefined;
	if (note === run.error) return;
	await updateProject(ctx, project.id, (p) =>
		p.verification?.run === run.run && p.verification.state === "running"
			? { ...p, verification: { ...p.verification, error: note } }
			: p,
	);
}

/**
 * The scheduler's turn for a project's verification: plan, feed the verify queue, release
 * rechecks, apply a requested correction, and close the run with its totals. Every action
 * is idempotent; returns the project as it now is.
 */
export async function advanceVerification(ctx: Context, project: Project): Promise<Project> {
	const run = project.verification;
	if (!run || project.state === "released") return project;
	try {
		if (run.state === "correcting") return await correct(ctx, project, run);
		if (run.state !== "running") return project;
		const job = verifyJob(ctx, project.id, run.run);
		const start = await openWindow(ctx, job);
		if (!start.cursor.planned) setPlanned(start, await planRun(ctx, project, run));
		const window = await readWindow(ctx, job, start, job.concurrency(project));
		const chunks = window.chunks;
		await showRetries(ctx, project, run, chunks);
		publishProgress(project.id, "VerificationProgressPercent", chunksDone(window), chunksTotal(window));
		const joining = doneTables(window);
		await moveWindow(ctx, job, window, joining, sumsOf(joining));
		const failing = stuck(chunks);
		if (failing) {
			throw new Error(`a chunk failed ${failing.attempts} times, last with: ${failing.lastError ?? "no error"}`);
		}
		await releaseRechecks(ctx, project, chunks);
		if (windowDone(window)) {
			const tables = await results(ctx, project, run);
			const totals = totalsOf(tables);
			metrics.addMetric("VerificationDifferences", "Count", totals.missing + totals.extra + totals.different);
			logger.info("verification done", { projectId: project.id, run: run.run, ...totals });
			return updateProject(ctx, project.id, (p) =>
				p.verification?.run === run.run && p.verification.state === "running"
					? {
							...p,
							verification: {
								...p.verification,
								...coverageAfter(p.verification, tables),
								state: "done",
								error: undefined,
								totals,
								finishedAt: new Date().toISOString(),
							},
						}
					: p,
			);
		}
		await topUp(ctx, project, job, Date.now(), chunks);
		return project;
	} catch (err) {
		if (err instanceof ConflictError) return project;
		const error = (err as Error).message;
		if (isNetworkError(err)) {
			// a cut or an unreachable server is not the run's fault: it stays running, says why it
			// does not move, and the next tick tries again (its chunks retry on their own)
			logger.warn("verification waits for the network", { projectId: project.id, run: run.run, error });
			return updateProject(ctx, project.id, (p) =>
				p.verification?.run === run.run && p.verification.state === run.state
					? { ...p, verification: { ...p.verification, error: `retrying: ${error}` } }
					: p,
			);
		}
		logger.error("verification failed", { projectId: project.id, run: run.run, error });
		return updateProject(ctx, project.id, (p) =>
			p.verification?.run === run.run
				? { ...p, verification: { ...p.verification, state: "failed", error, finishedAt: new Date().toISOString() } }
				: p,
		);
	}
}

/** A run under way: its share of chunks done and the rows checked so far, from its window (not every chunk). */
export async function runProgress(
	ctx: Context,
	project: Project,
): Promise<{ percent: number; rowsChecked: number } | undefined> {
	const run = project.verification;
	if (!run || run.state === "done") return undefined;
	const job = verifyJob(ctx, project.id, run.run);
	const window = await readWindow(ctx, job, await openWindow(ctx, job), job.concurrency(project));
	const total = chunksTotal(window);
	return { percent: total === 0 ? 0 : Math.floor((chunksDone(window) / total) * 100), rowsChecked: rowsDone(window) };
}

/** A claim on applying a correction lasts this long (a scheduler killed while applying frees it then). */
const CORRECTION_CLAIM_MS = 10 * 60_000;

/**
 * Applies the corrections table by table, then starts a run over the corrected tables. One
 * scheduler at a time: it claims the correction with a conditional write first (a second one
 * applying at once could insert a keyless table's missing rows twice).
 */
async function correct(ctx: Context, project: Project, run: VerificationRun): Promise<Project> {
	const now = Date.now();
	let claimed = false;
	await updateProject(ctx, project.id, (p) => {
		claimed = false;
		const v = p.verification;
		if (v?.state !== "correcting" || (v.applyingSince && now - v.applyingSince < CORRECTION_CLAIM_MS)) return p;
		claimed = true;
		return { ...p, verification: { ...v, applyingSince: now } };
	});
	if (!claimed) return project;
	const done = { ...run, run: run.correcting ?? run.run };
	const differing = (await tableDiffs(ctx, project, done)).filter((t) => t.differences.length > 0);
	await withConnections(ctx, project, async (s, d) => {
		for (const t of differing) {
			const { applied } = await applyCorrections(corrected(run, s, d), await tableCorrection(run, s, d, t));
			logger.info("correction applied", { projectId: project.id, table: t.result.table, statements: applied });
		}
	});
	return updateProject(ctx, project.id, (p) => {
		if (p.verification?.state !== "correcting") return p;
		const next: VerificationRun = {
			...coverage(p.verification),
			run: p.verification.run + 1,
			state: "running",
			startedAt: new Date().toISOString(),
			truth: truthOf(p),
			tables: differing.map((t) => t.result.table),
		};
		return { ...p, verification: next };
	});
}
