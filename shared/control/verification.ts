import { ConflictError, type Stored } from "../aws/state-store.ts";
import type { ChunkSpec } from "../copy/plan.ts";
import { planChunks } from "../copy/plan.ts";
import { type Connection, connect } from "../db/connect.ts";
import { describeTable } from "../db/sql.ts";
import type { Direction, Project, VerificationRun, VerificationTotals } from "../model/project.ts";
import { logger, metrics } from "../observability.ts";
import { hasReached } from "../replay/position.ts";
import { applyCorrections, correctionScript, correctionStatements } from "../verify/correct.ts";
import { type RowDiff, recheckDifferences } from "../verify/diff.ts";
import { prepareTable } from "../verify/normalise.ts";
import { boundStatements, cancelStoppedChunks, queryTimeout } from "./chunk-sessions.ts";
import {
	type ChunkItem,
	chunkSk,
	listTables,
	listVerifyChunks,
	MAX_ATTEMPTS,
	verifyPlanPk as planPk,
	stripKey,
	type TableItem,
	tableSk,
	topUpQueue,
	verifyJob,
} from "./chunks.ts";
import type { Context } from "./context.ts";
import { credentialsFor, withConnections } from "./datasources.ts";
import { conflict, invalid } from "./errors.ts";
import { getProject, updateProject } from "./projects.ts";
import { replicationId, replicationStatus } from "./replication.ts";
import { forwardReplicating } from "./supervise.ts";

/** Rows per verification chunk: larger than a copy chunk, since only two aggregates come back. */
const VERIFY_CHUNK_ROWS = 200_000;

/** One table's verification result in a run. */
export interface TableResult {
	table: string;
	destination: string;
	rowsChecked: number;
	missing: number;
	extra: number;
	different: number;
	/** Source names of the columns that differ in at least one row. */
	columns: string[];
	chunksDone: number;
	chunksTotal: number;
	/** Chunks waiting for replay to pass them before their differences are checked again. */
	chunksRechecking: number;
	/** Not every difference is listed (the counts are complete). */
	truncated: boolean;
}

export interface VerificationResults {
	run: VerificationRun;
	tables: TableResult[];
}

/** The tables a run covers, as resolved at precheck. */
async function runTables(ctx: Context, project: Project, run: VerificationRun): Promise<Stored<TableItem>[]> {
	const tables = await listTables(ctx, project.id);
	return run.tables ? tables.filter((t) => run.tables?.includes(describeTable(t.mapping.source))) : tables;
}

/**
 * Starts a verification run (or re-runs one) over every table of the project or the chosen
 * ones (source names). Refused while a run is going on, and before the project's data is there.
 */
export async function startVerification(ctx: Context, id: string, tables?: string[]): Promise<Project> {
	await getProject(ctx, id);
	const known = new Set((await listTables(ctx, id)).map((t) => describeTable(t.mapping.source)));
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
	const bad = tables.filter((t) => t.missing + t.extra + t.different > 0).map((t) => t.table);
	if (!run.tables) return { fullRun: run.run, differing: bad };
	const checked = new Set(tables.map((t) => t.table));
	return { fullRun: run.fullRun, differing: [...(run.differing ?? []).filter((t) => !checked.has(t)), ...bad] };
}

/** True when every table has been verified and none differs by its latest check (what switchover requires). */
export function verifiedClean(v: VerificationRun | undefined): boolean {
	return v?.state === "done" && v.fullRun !== undefined && (v.differing ?? []).length === 0;
}

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
export async function requestCorrection(ctx: Context, id: string): Promise<Project> {
	return updateProject(ctx, id, (p) => {
		const v = p.verification;
		if (v?.state !== "done" || !v.totals) {
			throw conflict("BAD_STATE", `project '${p.name}' has no finished verification to correct`);
		}
		if (v.totals.missing + v.totals.extra + v.totals.different === 0) {
			throw conflict("NOTHING_TO_CORRECT", `verification run ${v.run} of '${p.name}' found no differences`);
		}
		return { ...p, verification: { ...v, state: "correcting", correcting: v.run } };
	});
}

/** Plans the run's tables into chunk items; each table once, resumable. */
async function planRun(ctx: Context, project: Project, run: VerificationRun): Promise<void> {
	const planned = new Set((await ctx.store.list(planPk(project.id, run.run))).map((i) => i.sk));
	const todo = (await runTables(ctx, project, run)).filter((t) => !planned.has(tableSk(t.index)));
	if (todo.length === 0) return;
	const source = await connect(await credentialsFor(ctx, project.sourceId));
	try {
		await boundStatements(source, queryTimeout(project));
		const job = verifyJob(ctx, project.id, run.run);
		for (const t of todo) {
			let count = 0;
			for await (const spec of planChunks(source, t.mapping, { chunkRows: VERIFY_CHUNK_ROWS })) {
				const item: ChunkItem = { tableIndex: t.index, spec, state: "pending", attempts: 0 };
				await ctx.store.create({ pk: job.pk, sk: chunkSk(t.index, count) }, item).catch(ignoreConflict);
				count += 1;
			}
			await ctx.store
				.create({ pk: planPk(project.id, run.run), sk: tableSk(t.index) }, { chunks: count })
				.catch(ignoreConflict);
		}
	} finally {
		await source.end();
	}
}

function ignoreConflict(err: unknown): void {
	if (!(err instanceof ConflictError)) throw err;
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
		await ctx.store
			.replace<ChunkItem>(c, { ...stripKey(c), state: "pending", attempts: 0 }, c.version)
			.catch(ignoreConflict);
	}
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
		await planRun(ctx, project, run);
		const chunks = await listVerifyChunks(ctx, project.id, run.run);
		const stuck = chunks.find((c) => c.state !== "done" && c.attempts >= MAX_ATTEMPTS);
		if (stuck) throw new Error(`a chunk failed ${stuck.attempts} times, last with: ${stuck.lastError ?? "no error"}`);
		await releaseRechecks(ctx, project, chunks);
		if (chunks.every((c) => c.state === "done")) {
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
								totals,
								finishedAt: new Date().toISOString(),
							},
						}
					: p,
			);
		}
		await topUpQueue(ctx, project, verifyJob(ctx, project.id, run.run));
		return project;
	} catch (err) {
		if (err instanceof ConflictError) return project;
		const error = (err as Error).message;
		logger.error("verification failed", { projectId: project.id, run: run.run, error });
		return updateProject(ctx, project.id, (p) =>
			p.verification?.run === run.run
				? { ...p, verification: { ...p.verification, state: "failed", error, finishedAt: new Date().toISOString() } }
				: p,
		);
	}
}

function totalsOf(tables: TableResult[]): VerificationTotals {
	const t: VerificationTotals = { rowsChecked: 0, missing: 0, extra: 0, different: 0, tablesDiffering: 0 };
	for (const r of tables) {
		t.rowsChecked += r.rowsChecked;
		t.missing += r.missing;
		t.extra += r.extra;
		t.different += r.different;
		if (r.missing + r.extra + r.different > 0) t.tablesDiffering += 1;
	}
	return t;
}

interface TableDiffs {
	table: Stored<TableItem>;
	result: TableResult;
	differences: RowDiff[];
	/** The chunk key (for corrections), or null for a table without one. */
	key: (ChunkSpec & { kind: "range" })["key"]["columns"] | null;
}

async function tableDiffs(ctx: Context, project: Project, run: VerificationRun): Promise<TableDiffs[]> {
	const [tables, chunks, planned] = await Promise.all([
		runTables(ctx, project, run),
		listVerifyChunks(ctx, project.id, run.run),
		ctx.store.list<{ chunks: number }>(planPk(project.id, run.run)),
	]);
	return tables.map((table) => {
		const mine = chunks.filter((c) => c.tableIndex === table.index);
		const plan = planned.find((p) => p.sk === tableSk(table.index));
		const result: TableResult = {
			table: describeTable(table.mapping.source),
			destination: describeTable(table.mapping.destination),
			rowsChecked: 0,
			missing: 0,
			extra: 0,
			different: 0,
			columns: [],
			chunksDone: 0,
			chunksTotal: plan?.chunks ?? mine.length,
			chunksRechecking: 0,
			truncated: false,
		};
		const differences: RowDiff[] = [];
		const columns = new Set<string>();
		let key: TableDiffs["key"] = null;
		for (const c of mine) {
			if (c.spec.kind === "range") key = c.spec.key.columns;
			if (c.state === "recheck") result.chunksRechecking += 1;
			if (c.state !== "done") continue;
			result.chunksDone += 1;
			result.rowsChecked += c.rows ?? 0;
			const v = c.verification;
			if (!v) continue;
			result.missing += v.missing;
			result.extra += v.extra;
			result.different += v.different;
			result.truncated ||= v.truncated;
			differences.push(...v.differences);
			for (const d of v.differences) for (const col of d.columns ?? []) columns.add(col);
		}
		result.columns = [...columns];
		return { table, result, differences, key };
	});
}

async function results(ctx: Context, project: Project, run: VerificationRun): Promise<TableResult[]> {
	return (await tableDiffs(ctx, project, run)).map((t) => t.result);
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
			rows: t.differences,
		}));
	return { run: run.run, tables };
}

/**
 * Correction statements for one table's differences, from the source's data as it is now. The
 * differences are checked again first, so statements for a row that has become equal are not
 * written, and running a correction twice (after a crash) finds nothing left the second time.
 */
async function tableCorrection(source: Connection, destination: Connection, t: TableDiffs): Promise<string[]> {
	const prepared = await prepareTable(source, destination, t.table.mapping);
	const persisting = await recheckDifferences(source, destination, prepared, t.key, t.differences);
	return correctionStatements(source, destination, prepared, t.key, persisting);
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
		for (const t of differing) out.push(...(await tableCorrection(s, d, t)));
		return out;
	});
	return { run: run.run, script: correctionScript(statements) };
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
	const corrected = { ...run, run: run.correcting ?? run.run };
	const differing = (await tableDiffs(ctx, project, corrected)).filter((t) => t.differences.length > 0);
	await withConnections(ctx, project, async (s, d) => {
		for (const t of differing) {
			const { applied } = await applyCorrections(d, await tableCorrection(s, d, t));
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
			tables: differing.map((t) => t.result.table),
		};
		return { ...p, verification: next };
	});
}
