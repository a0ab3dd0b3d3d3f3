import { ConflictError, type Stored } from "../aws/state-store.ts";
import type { ChunkSpec } from "../copy/plan.ts";
import { planChunks } from "../copy/plan.ts";
import type { Connection } from "../db/connect.ts";
import { qualifiedName } from "../db/sql.ts";
import {
	type Direction,
	differs,
	type Project,
	type VerificationRun,
	type VerificationTotals,
} from "../model/project.ts";
import { logger, metrics } from "../observability.ts";
import { hasReached } from "../replay/position.ts";
import { applyCorrections, correctionScript, correctionStatements, mirrored } from "../verify/correct.ts";
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
import { withConnections } from "./datasources.ts";
import { conflict, invalid } from "./errors.ts";
import { getProject, updateProject } from "./projects.ts";
import { replicationId, replicationStatus } from "./replication.ts";
import { forwardReplicating } from "./supervise.ts";
import { tableSchema, type UnreplicatedTable, unreplicatedTables } from "./verification-schema.ts";

/** Rows per verification chunk: larger than a copy chunk, since only two aggregates come back. */
const VERIFY_CHUNK_ROWS = 200_000;

/** The plan item of a full run's tables that the rules include but the project does not replicate. */
const UNREPLICATED_SK = "unreplicated";

/** A table's plan item: its chunk count, and the differences in the table itself. */
interface PlanItem {
	chunks: number;
	schema?: string[];
}

/**
 * The side whose data is right: the destination once the switchover stopped forward replay (the
 * application writes there), else the source.
 */
function truthOf(p: Project): "source" | "destination" {
	return p.switchover?.forwardStopped && !p.options.twoWay ? "destination" : "source";
}

/** One table's verification result in a run. */
export interface TableResult {
	table: string;
	destination: string;
	rowsChecked: number;
	/** Rows the run's truth side has (`VerificationRun.truth`, the source unless switched over) and the other side lacks. */
	missing: number;
	/** Rows the other side has and the truth side lacks. */
	extra: number;
	different: number;
	/** Differences in the table itself: the table or a column at one end only. */
	schema: string[];
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
	return run.tables ? tables.filter((t) => run.tables?.includes(qualifiedName(t.mapping.source))) : tables;
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

/**
 * Plans the run's tables into chunk items; each table once, resumable. A table whose ends differ
 * in the table itself says so in its plan item (and is not chunked when a side is missing); a
 * full run also lists the tables the rules include that the project does not replicate.
 */
async function planRun(ctx: Context, project: Project, run: VerificationRun): Promise<void> {
	const planned = new Set((await ctx.store.list(planPk(project.id, run.run))).map((i) => i.sk));
	const tables = await runTables(ctx, project, run);
	const todo = tables.filter((t) => !planned.has(tableSk(t.index)));
	const listUnreplicated = !run.tables && !planned.has(UNREPLICATED_SK);
	if (todo.length === 0 && !listUnreplicated) return;
	await withConnections(ctx, project, async (source, destination) => {
		await boundStatements(source, queryTimeout(project));
		await boundStatements(destination, queryTimeout(project));
		const job = verifyJob(ctx, project.id, run.run);
		if (listUnreplicated) {
			const mappings = tables.map((t) => t.mapping);
			const found = await unreplicatedTables(source, destination, project.objects, mappings);
			await ctx.store
				.create({ pk: planPk(project.id, run.run), sk: UNREPLICATED_SK }, { tables: found })
				.catch(ignoreConflict);
		}
		for (const t of todo) {
			const { comparable, schema } = await tableSchema(source, destination, t.mapping, project.objects);
			let count = 0;
			if (comparable) {
				for await (const spec of planChunks(source, t.mapping, { chunkRows: VERIFY_CHUNK_ROWS })) {
					const item: ChunkItem = { tableIndex: t.index, spec, state: "pending", attempts: 0 };
					await ctx.store.create({ pk: job.pk, sk: chunkSk(t.index, count) }, item).catch(ignoreConflict);
					count += 1;
				}
			}
			const plan: PlanItem = { chunks: count, ...(schema.length > 0 ? { schema } : {}) };
			await ctx.store.create({ pk: planPk(project.id, run.run), sk: tableSk(t.index) }, plan).catch(ignoreConflict);
		}
	});
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

function tableDiffers(r: TableResult): boolean {
	return r.missing + r.extra + r.different + r.schema.length > 0;
}

function totalsOf(tables: TableResult[]): VerificationTotals {
	const t = { rowsChecked: 0, missing: 0, extra: 0, different: 0, schema: 0, tablesDiffering: 0 };
	for (const r of tables) {
		t.rowsChecked += r.rowsChecked;
		t.missing += r.missing;
		t.extra += r.extra;
		t.different += r.different;
		t.schema += r.schema.length;
		if (tableDiffers(r)) t.tablesDiffering += 1;
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
		ctx.store.list<PlanItem>(planPk(project.id, run.run)),
	]);
	// counted from the truth side: with the destination as the truth, a row missing at the source is "missing"
	const fromDestination = run.truth === "destination";
	return tables.map((table) => {
		const mine = chunks.filter((c) => c.tableIndex === table.index);
		const plan = planned.find((p) => p.sk === tableSk(table.index));
		const result: TableResult = {
			table: qualifiedName(table.mapping.source),
			destination: qualifiedName(table.mapping.destination),
			rowsChecked: 0,
			missing: 0,
			extra: 0,
			different: 0,
			schema: plan?.schema ?? [],
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
			result.missing += fromDestination ? v.extra : v.missing;
			result.extra += fromDestination ? v.missing : v.extra;
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
	const [tables, unreplicated] = await Promise.all([
		tableDiffs(ctx, project, run),
		ctx.store.get<{ tables: UnreplicatedTable[] }>({ pk: planPk(project.id, run.run), sk: UNREPLICATED_SK }),
	]);
	const none = { rowsChecked: 0, missing: 0, extra: 0, different: 0, columns: [], chunksDone: 0, chunksTotal: 0 };
	return [
		...tables.map((t) => t.result),
		...(unreplicated?.tables ?? []).map((t) => ({ ...none, ...t, chunksRechecking: 0, truncated: false })),
	];
}

/** A difference as the run counts it: from its truth side (see TableResult). */
function fromTruth(run: VerificationRun, d: RowDiff): RowDiff {
	if (run.truth !== "destination" || d.kind === "different") return d;
	return { ...d, kind: d.kind === "missing" ? "extra" : "missing" };
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

/**
 * Correction statements for one table's differences, from the truth side's data as it is now,
 * for the other side (`VerificationRun.truth`). The differences are checked again first, so
 * statements for a row that has become equal are not written, and running a correction twice
 * (after a crash) finds nothing left the second time.
 */
async function tableCorrection(
	run: VerificationRun,
	source: Connection,
	destination: Connection,
	t: TableDiffs,
): Promise<string[]> {
	const prepared = await prepareTable(source, destination, t.table.mapping);
	const persisting = await recheckDifferences(source, destination, prepared, t.key, t.differences);
	if (run.truth !== "destination") return correctionStatements(source, destination, prepared, t.key, persisting);
	// the source's own columns outside the comparison keep their values: updated, never replaced
	const back = mirrored(prepared, t.key, persisting);
	return correctionStatements(destination, source, back.table, back.key, back.diffs, "update");
}

/** Where a run's corrections are applied: the side that is not its truth. */
const corrected = <T>(run: VerificationRun, source: T, destination: T): T =>
	run.truth === "destination" ? source : destination;

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
