import { ConflictError } from "../aws/state-store.ts";
import { currentPosition } from "../binlog/position.ts";
import { checkCaptureSettings } from "../capture/precheck.ts";
import { planChunks } from "../copy/plan.ts";
import { type Connection, connect } from "../db/connect.ts";
import type { Engine } from "../model/datasource.ts";
import { differs, type Finding, type Project, type StepName } from "../model/project.ts";
import type { TableMapping } from "../model/rules.ts";
import { applySchemaPhase } from "../schema/apply.ts";
import { describeRows, existingObjects } from "../schema/inspect.ts";
import { planSchema, type SchemaPhase, type SchemaPlan } from "../schema/plan.ts";
import { checkSchemaPrerequisites } from "../schema/precheck.ts";
import { describeServer, readSchema } from "../schema/read.ts";
import { resolveObjects, resolveViews } from "../schema/resolve.ts";
import { currentAccount, readRoutines } from "../schema/routines.ts";
import { reverse, SWITCHOVER_RUNNERS } from "../switchover/steps.ts";
import { readTriggers } from "../switchover/triggers.ts";
import { boundStatements, queryTimeout } from "./chunk-sessions.ts";
import {
	type ChunkItem,
	chunkSk,
	chunksPk,
	copyJob,
	listChunks,
	listTables,
	MAX_ATTEMPTS,
	stripKey,
	type TableItem,
	tableSk,
	tablesPk,
	topUpQueue,
} from "./chunks.ts";
import type { Context } from "./context.ts";
import { credentialsFor, getDataSource, withConnections } from "./datasources.ts";
import { applyWaivers, blockingMessage } from "./findings.ts";
import { updateProject } from "./projects.ts";
import { replicationStatus } from "./replication.ts";
import { saveSchemaReport } from "./reports.ts";
import { caughtUp } from "./stream-state.ts";
import { startVerification } from "./verification.ts";

export interface StepRunner {
	/**
	 * Called when the step starts (or restarts after a retry) until it completes once: it must be
	 * safe to run again after a crash half-way.
	 */
	begin?(ctx: Context, project: Project): Promise<void>;
	/** Does what can be done now: "done" when the step is complete, "waiting" to be called again. */
	run(ctx: Context, project: Project): Promise<"done" | "waiting">;
}

/**
 * The destination schema plan for a project: recomputed from the source each time a schema
 * phase runs (reading information_schema is cheap, and the plan is too large for one item).
 */
async function schemaPlan(
	source: Connection,
	destination: Connection,
	project: Project,
	mappings: TableMapping[],
	engine: Engine,
) {
	const views = await resolveViews(source, project.objects);
	const snapshot = await readSchema(
		source,
		mappings.map((m) => m.source),
		views.map((v) => v.source),
	);
	const server = await describeServer(destination);
	const plan = planSchema(snapshot, mappings, engine, {
		deferSecondaryIndexes: project.options.deferSecondaryIndexes,
		destinationVersion: server.version,
		views,
		routines: await readRoutines(
			source,
			project.objects,
			mappings.map((m) => m.source),
		),
		destinationAccount: await currentAccount(destination),
		switchover: project.types.includes("switchover"),
		reverse: project.types.includes("reverse"),
	});
	return { snapshot, plan };
}

/** Without schema migration the tables must already exist at the destination, empty. */
async function checkExistingTables(destination: Connection, mappings: TableMapping[]): Promise<Finding[]> {
	const findings: Finding[] = [];
	for (const m of mappings) {
		const object = `${m.destination.database}.${m.destination.table}`;
		const type = (await existingObjects(destination, m.destination.database)).get(m.destination.table);
		if (type !== "BASE TABLE") {
			findings.push({
				level: "error",
				object,
				message: "does not exist at the destination",
				fix: "tick schema migration, or create the table first",
			});
			continue;
		}
		const rows = await describeRows(destination, m.destination);
		if (rows !== null)
			findings.push({
				level: "error",
				object,
				message: `destination table ${object} already has ${rows}`,
				fix: "empty it, exclude it or rename it",
			});
	}
	return findings;
}

/** Resolves the objects, checks what would fail later, and records the tables to migrate. */
const precheck: StepRunner = {
	async run(ctx, project) {
		const engine = (await getDataSource(ctx, project.destinationId)).engine;
		return withConnections(ctx, project, async (source, destination) => {
			const mappings = await resolveObjects(source, project.objects);
			let findings: Finding[];
			if (project.types.includes("schema")) {
				const { snapshot, plan } = await schemaPlan(source, destination, project, mappings, engine);
				findings = await checkSchemaPrerequisites(destination, snapshot, plan);
			} else {
				findings = await checkExistingTables(destination, mappings);
			}
			// binlog format, row image and metadata, GTIDs, retention, replication privileges
			if (project.types.includes("incremental")) findings.push(...(await checkCaptureSettings(source)));
			if (project.options.twoWay) {
				findings.push(
					...(await checkCaptureSettings(destination)).map((f) => ({ ...f, object: `destination ${f.object}` })),
				);
				for (const t of await readTriggers(
					source,
					mappings.map((m) => m.source),
				)) {
					findings.push({
						level: "error",
						object: `${t.table.database}.${t.table.table}`,
						message: `has trigger ${t.name}: in two-way sync its effects, written inside replayed transactions, would be skipped on one side or applied twice`,
						fix: "drop the trigger while two-way sync runs, or use one-way migration with switchover",
					});
				}
			}
			findings = applyWaivers(findings, project.waivedFindings ?? []);
			await updateProject(ctx, project.id, (p) => ({ ...p, findings }));
			const errors = findings.filter((f) => f.level === "error");
			if (errors.length > 0) throw new Error(blockingMessage(project, errors));
			for (const [index, mapping] of mappings.entries()) {
				const [rows] = await source.query(
					"SELECT COALESCE(TABLE_ROWS, 0) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
					[mapping.source.database, mapping.source.table],
				);
				const item: TableItem = {
					index,
					mapping,
					rowsEstimate: Number((rows as { n: string }[])[0]?.n ?? 0),
					planned: false,
					chunks: 0,
				};
				await ctx.store.create({ pk: tablesPk(project.id), sk: tableSk(index) }, item).catch(ignoreConflict);
			}
			return "done" as const;
		});
	},
};

function ignoreConflict(err: unknown): void {
	if (!(err instanceof ConflictError)) throw err;
}

/** Applies schema phases; each phase skips what already exists, so a retry is harmless. */
function schemaPhases(phases: SchemaPhase[]): StepRunner {
	return {
		async run(ctx, project) {
			const engine = (await getDataSource(ctx, project.destinationId)).engine;
			const mappings = (await listTables(ctx, project.id)).map((t) => t.mapping);
			return withConnections(ctx, project, async (source, destination) => {
				const { plan } = await schemaPlan(source, destination, project, mappings, engine);
				if (phases.includes("tables")) await saveSchemaReport(ctx, project.id, plan.report);
				for (const phase of phases) {
					if (phase === "indexes") await applyIndexesInParallel(ctx, project, plan);
					else
						await applySchemaPhase(destination, plan, phase, {
							uncheckedForeignKeys: project.types.includes("incremental"),
						});
				}
				return "done" as const;
			});
		},
	};
}

/**
 * Secondary indexes held back for the load, built one table per connection with up to
 * `parallelism` tables at once: each build is one pass over a table, and the destination has
 * idle cores while a single ALTER runs.
 */
async function applyIndexesInParallel(ctx: Context, project: Project, plan: SchemaPlan): Promise<void> {
	const tables = [...new Set(plan.indexes.map((i) => `${i.table.database}.${i.table.table}`))];
	const queue = tables.map((name) => ({
		...plan,
		indexes: plan.indexes.filter((i) => `${i.table.database}.${i.table.table}` === name),
	}));
	const creds = await credentialsFor(ctx, project.destinationId);
	const builders = Array.from({ length: Math.min(project.options.parallelism, queue.length) }, async () => {
		const conn = await connect(creds);
		try {
			for (let next = queue.shift(); next; next = queue.shift()) await applySchemaPhase(conn, next, "indexes");
		} finally {
			await conn.end();
		}
	});
	await Promise.all(builders);
}

/** Plans every table into chunks (resumably), keeps the queue topped up, and waits for the last chunk. */
const full: StepRunner = {
	async begin(ctx, project) {
		// after a ticket's retry, chunks that ran out of attempts get a fresh set
		for (const c of await listChunks(ctx, project.id)) {
			if (c.state !== "done" && c.attempts >= MAX_ATTEMPTS) {
				await ctx.store
					.replace<ChunkItem>(c, { ...stripKey(c), attempts: 0, deadline: undefined }, c.version)
					.catch(ignoreConflict);
			}
		}
	},
	async run(ctx, project) {
		const tables = await listTables(ctx, project.id);
		const unplanned = tables.filter((t) => !t.planned);
		if (unplanned.length > 0) {
			const source = await connect(await credentialsFor(ctx, project.sourceId));
			try {
				await boundStatements(source, queryTimeout(project));
				for (const t of unplanned) {
					let count = 0;
					for await (const spec of planChunks(source, t.mapping, {
						chunkRows: project.options.chunkRows,
					})) {
						const item: ChunkItem = {
							tableIndex: t.index,
							spec,
							state: "pending",
							attempts: 0,
						};
						await ctx.store
							.create({ pk: chunksPk(project.id), sk: chunkSk(t.index, count) }, item)
							.catch(ignoreConflict);
						count += 1;
					}
					await ctx.store.replace<TableItem>(t, { ...stripKey(t), planned: true, chunks: count }, t.version);
				}
			} finally {
				await source.end();
			}
		}
		const chunks = await listChunks(ctx, project.id);
		const stuck = chunks.find((c) => c.state !== "done" && c.attempts >= MAX_ATTEMPTS);
		if (stuck) {
			const t = tables.find((x) => x.index === stuck.tableIndex);
			const name = t ? `${t.mapping.source.database}.${t.mapping.source.table}` : `table #${stuck.tableIndex}`;
			const why = stuck.lastError ?? "no error recorded: the worker stopped while copying (see the copy worker's log)";
			throw new Error(`copying ${name} failed ${stuck.attempts} times, last with: ${why}`);
		}
		if (chunks.every((c) => c.state === "done")) {
			if (project.types.includes("incremental") && !project.incremental?.safeUntil) {
				// every chunk's snapshot was read before this position: after it, replay can be exact
				const source = await connect(await credentialsFor(ctx, project.sourceId));
				const safeUntil = await currentPosition(source).finally(() => source.end());
				await updateProject(ctx, project.id, (p) => ({ ...p, incremental: { ...p.incremental, safeUntil } }));
			}
			return "done";
		}
		await topUpQueue(ctx, project, copyJob(ctx, project.id));
		return "waiting";
	},
};

/** Records where capture will start, before the first chunk is read. */
const position: StepRunner = {
	async run(ctx, project) {
		if (project.incremental?.startPosition) return "done";
		const source = await connect(await credentialsFor(ctx, project.sourceId));
		try {
			const startPosition = await currentPosition(source);
			await updateProject(ctx, project.id, (p) => ({ ...p, incremental: { ...p.incremental, startPosition } }));
		} finally {
			await source.end();
		}
		return "done";
	},
};

/** Replay latency under which incremental migration counts as caught up. */
const CAUGHT_UP_SECONDS = 5;

/**
 * Incremental migration: from this step on the scheduler keeps the replication task running
 * (see supervise.ts); the step itself is done once replay has caught up in exact mode, and
 * replay goes on until switchover stops it. In two-way mode it also records where reverse
 * capture starts (the destination's position now: the copy is over, and every later
 * transaction there is either the application's or marked as forward replay's) and turns
 * reverse replication on.
 */
const incremental: StepRunner = {
	async begin(ctx, project) {
		if (!project.options.twoWay || project.reverse?.startPosition) return;
		const destination = await connect(await credentialsFor(ctx, project.destinationId));
		const startPosition = await currentPosition(destination).finally(() => destination.end());
		await updateProject(ctx, project.id, (p) => ({ ...p, reverse: { startPosition, active: true } }));
	},
	async run(ctx, project) {
		// a ticket retried after the switch: forward replay is over, there is nothing to catch up
		if (project.switchover?.forwardStopped) return "done";
		const status = await replicationStatus(ctx, project.id);
		return caughtUp(project, "forward", status, CAUGHT_UP_SECONDS) ? "done" : "waiting";
	},
};

/**
 * Full verification after the copy (and, with incremental, once replay has caught up: it goes
 * on during the run, and differences are rechecked after replay passes them). A run with
 * differences opens a ticket: correct them (and the ticket's retry verifies again) or skip.
 */
const verify: StepRunner = {
	async begin(ctx, project) {
		const v = project.verification;
		if (v && ["running", "paused", "correcting"].includes(v.state)) return;
		await startVerification(ctx, project.id);
	},
	async run(_ctx, project) {
		const v = project.verification;
		if (v?.state === "failed") throw new Error(`verification run ${v.run} failed: ${v.error}`);
		if (v?.state !== "done") return "waiting";
		const t = v.totals;
		if (t && differs(t)) {
			throw new Error(
				`verification run ${v.run} found differences in ${t.tablesDiffering} table(s): ${t.missing} missing, ${t.extra} extra, ${t.different} different rows${t.schema ? `, ${t.schema} in the tables themselves (a table or column at one end only)` : ""}; see the verification results, apply the correction and retry, or skip to accept them`,
			);
		}
		return "done";
	},
};

export const STEPS: Record<StepName, StepRunner> = {
	precheck,
	schema: schemaPhases(["tables"]),
	position,
	full,
	incremental,
	verify,
	indexes: schemaPhases(["indexes"]),
	finalize: schemaPhases(["foreignKeys", "routines", "views", "events"]),
	...SWITCHOVER_RUNNERS,
	reverse,
};
