import { createHash, randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { ConflictError } from "../../shared/aws/state-store.ts";
import type { DdlChange, SourcePosition, TransactionPart } from "../../shared/capture/change.ts";
import { currentPosition, openBinlogReader } from "../../shared/capture/reader.ts";
import { listTables, stripKey, type TableItem, tableSk, tablesPk } from "../../shared/control/chunks.ts";
import type { Context } from "../../shared/control/context.ts";
import { credentialsFor, getDataSource } from "../../shared/control/datasources.ts";
import { getProject } from "../../shared/control/projects.ts";
import { type ReplicationStatus, replicationKey } from "../../shared/control/replication.ts";
import { type Connection, connect, createPool } from "../../shared/db/connect.ts";
import { quoteId, redactSql } from "../../shared/db/sql.ts";
import type { Project } from "../../shared/model/project.ts";
import type { TableMapping, TableName } from "../../shared/model/rules.ts";
import { logger, metrics } from "../../shared/observability.ts";
import { Applier, type ApplyStats } from "../../shared/replay/applier.ts";
import { applyDdlEffects, type DdlContext, translateDdl } from "../../shared/replay/ddl.ts";
import { includingRule } from "../../shared/replay/ddl-rules.ts";
import { describeServer } from "../../shared/schema/read.ts";

/** Replay stopped on something a person must decide; the scheduler turns it into a ticket. */
class FatalReplicationError extends Error {
	constructor(
		message: string,
		readonly gtid?: string,
		readonly statement?: string,
	) {
		super(message);
		this.name = "FatalReplicationError";
	}
}

const STATUS_EVERY_MS = 1000;
const LEASE_MS = 20_000;
const key = (t: TableName) => `${t.database}\u0000${t.table}`;

/** A replica server id of our own per project: the source refuses two readers with one id. */
function serverIdFor(projectId: string): number {
	return 100_000 + (createHash("sha256").update(projectId).digest().readUInt32BE(0) % 4_000_000_000);
}

/**
 * The replication task's loop: binlog capture from the project's source, replay to its
 * destination, until the project stops running. A failure (a restarted server, a cut network)
 * ends the session; the next session resumes from the checkpoint the destination holds, so
 * nothing is lost or applied twice. Only one task per project runs: it holds a lease.
 */
export async function runReplication(
	ctx: Context,
	projectId: string,
	signal: AbortSignal,
): Promise<"stopped" | "fatal"> {
	const owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
	// A task killed without releasing its lease holds it until it lapses: wait that long, so the
	// scheduler sees one task starting rather than starting another each tick.
	const deadline = Date.now() + LEASE_MS + 5_000;
	while (!(await renewLease(ctx, projectId, owner, {}))) {
		if (signal.aborted || Date.now() > deadline) {
			logger.info("another replication task holds this project's lease", { projectId });
			return "stopped";
		}
		await sleep(1000, signal);
	}
	try {
		return await replicateUntilStopped(ctx, projectId, owner, signal);
	} finally {
		// the next task (after a resume or a ticket) need not wait for the lease to lapse
		await renewLease(ctx, projectId, owner, { leaseUntil: 0 }).catch(() => {});
	}
}

async function replicateUntilStopped(
	ctx: Context,
	projectId: string,
	owner: string,
	signal: AbortSignal,
): Promise<"stopped" | "fatal"> {
	let backoffMs = 1000;
	while (!signal.aborted) {
		try {
			const outcome = await session(ctx, projectId, owner, signal);
			if (outcome === "stopped") return "stopped";
		} catch (err) {
			if (err instanceof FatalReplicationError) {
				await renewLease(ctx, projectId, owner, {
					fatal: { message: err.message, gtid: err.gtid, statement: err.statement },
				});
				return "fatal";
			}
			const message = (err as Error).message;
			logger.warn("replication session ended; resuming from the checkpoint", {
				projectId,
				error: message,
				retryInMs: backoffMs,
			});
			metrics.addMetric("ReplicationErrors", "Count", 1);
			if (!(await renewLease(ctx, projectId, owner, { lastError: message }).catch(() => true))) return "stopped";
			await sleep(backoffMs, signal);
			backoffMs = Math.min(backoffMs * 2, 30_000);
		}
	}
	return "stopped";
}

async function session(
	ctx: Context,
	projectId: string,
	owner: string,
	signal: AbortSignal,
): Promise<"stopped" | "ended"> {
	const project = await getProject(ctx, projectId);
	if (project.state !== "running") return "stopped";
	const [sourceCreds, destinationCreds, destination] = await Promise.all([
		credentialsFor(ctx, project.sourceId),
		credentialsFor(ctx, project.destinationId),
		getDataSource(ctx, project.destinationId),
	]);
	const sourcePool = createPool(sourceCreds, 2);
	const control = await connect(sourceCreds);
	const sourceServer = await describeServer(control);
	const destinationServer = await connect(destinationCreds).then(async (c) => {
		try {
			return await describeServer(c);
		} finally {
			await c.end();
		}
	});
	const tables = new Tables(ctx, project, await listTables(ctx, projectId), {
		destinationEngine: destination.engine,
		destinationVersion: destinationServer.version,
		source: { flavor: sourceServer.flavor, version: sourceServer.version },
	});
	const stop = new AbortController();
	const onAbort = () => stop.abort();
	signal.addEventListener("abort", onAbort);

	const applier = new Applier({
		destination: destinationCreds,
		stream: projectId,
		mapping: (t) => tables.mapping(t),
		source: sourcePool,
		safeUntil: project.incremental?.safeUntil ?? null,
		parallel: 1,
		onDdl: async (change, { connection, part }) => {
			if (part.gtid && part.gtid === project.incremental?.skipGtid) {
				logger.warn("skipping the DDL the user chose to skip", {
					projectId,
					gtid: part.gtid,
					sql: redactSql(change.sql),
				});
				return;
			}
			await tables.applyDdl(change, part, connection);
		},
	});
	const reporter = new StatusReporter(ctx, project, owner, control, () => applier.progress, stop);
	try {
		const checkpoint = await applier.open();
		const from: SourcePosition | undefined = checkpoint?.position ?? project.incremental?.startPosition;
		if (!from) throw new Error(`project ${projectId} has no capture start position: its position step did not run`);
		const reader = await openBinlogReader(sourceCreds, {
			from,
			serverId: serverIdFor(projectId),
			// rules, not only today's tables: a table created later must not lose its first rows
			include: (t) => tables.has(t) || includingRule(project.objects, t) !== undefined,
		});
		reporter.start();
		// a stop must not wait for the next binlog event
		stop.signal.addEventListener("abort", () => void reader.close().catch(() => {}));
		try {
			await applier.run(reader, stop.signal);
		} finally {
			await reader.close();
		}
		return reporter.lostLease || (await getProject(ctx, projectId)).state !== "running" ? "stopped" : "ended";
	} finally {
		reporter.stop();
		signal.removeEventListener("abort", onAbort);
		await applier.close().catch(() => {});
		await Promise.allSettled([sourcePool.end(), control.end()]);
	}
}

/** The project's migrated tables as replay sees them, changed by replayed DDL and kept in the state table. */
class Tables {
	private byName = new Map<string, TableMapping>();

	constructor(
		private readonly ctx: Context,
		private readonly project: Project,
		private items: (TableItem & { pk: string; sk: string; version: number })[],
		private readonly servers: Omit<DdlContext, "rules" | "mappings">,
	) {
		for (const t of items) this.byName.set(key(t.mapping.source), t.mapping);
	}

	has(t: TableName): boolean {
		return this.byName.has(key(t));
	}

	mapping(t: TableName): TableMapping | undefined {
		return this.byName.get(key(t));
	}

	async applyDdl(change: DdlChange, part: TransactionPart, conn: Connection): Promise<void> {
		const mappings = [...this.byName.values()];
		const decision = translateDdl(change, { rules: this.project.objects, mappings, ...this.servers });
		if (decision.action === "ignore") {
			logger.info("DDL ignored", {
				projectId: this.project.id,
				sql: redactSql(change.sql),
				reason: redactSql(decision.reason),
			});
			return;
		}
		if (decision.action === "refuse") {
			const statement = redactSql(change.sql);
			throw new FatalReplicationError(
				`unsupported DDL: ${redactSql(decision.reason)}; statement: ${statement}`,
				part.gtid,
				statement,
			);
		}
		// view definitions name their tables unqualified: they run in their database
		if (decision.useDatabase) await conn.query(`USE ${quoteId(decision.useDatabase)}`);
		for (const sql of decision.statements) {
			try {
				await conn.query(sql);
			} catch (err) {
				// A session killed after the DDL but before its checkpoint meets its own work again.
				if (!ALREADY_DONE.has((err as { errno?: number }).errno ?? 0)) throw err;
				logger.warn("DDL already applied at the destination; going on", {
					sql: redactSql(sql),
					error: (err as Error).message,
				});
			}
		}
		await this.save(applyDdlEffects(mappings, decision.effects));
		logger.info("DDL replayed", {
			projectId: this.project.id,
			sql: redactSql(change.sql),
			statements: decision.statements.map(redactSql),
		});
	}

	/** Writes the changed mappings back, so a restarted task replays with the tables as they are now. */
	private async save(next: TableMapping[]): Promise<void> {
		const nextKeys = new Set(next.map((m) => key(m.source)));
		for (const item of this.items) {
			if (!nextKeys.has(key(item.mapping.source))) await this.ctx.store.delete(item).catch(() => {});
		}
		let index = Math.max(-1, ...this.items.map((t) => t.index)) + 1;
		const kept: typeof this.items = [];
		for (const mapping of next) {
			const existing = this.items.find((t) => key(t.mapping.source) === key(mapping.source));
			if (existing) {
				kept.push(
					await this.ctx.store.replace<TableItem>(existing, { ...stripKey(existing), mapping }, existing.version),
				);
			} else {
				const item: TableItem = { index, mapping, rowsEstimate: 0, planned: true, chunks: 0 };
				kept.push(await this.ctx.store.create({ pk: tablesPk(this.project.id), sk: tableSk(index) }, item));
				index += 1;
			}
		}
		this.items = kept;
		this.byName = new Map(next.map((m) => [key(m.source), m]));
	}
}

/**
 * Errors a DDL statement meets when it already ran (table exists, duplicate column or key,
 * can't drop what is gone, unknown table or column after a rename, multiple primary keys).
 */
const ALREADY_DONE = new Set([1050, 1060, 1091, 1051, 1061, 1826, 1054, 1146, 1068]);

/**
 * Writes the task's status every second (heartbeat, lease, latency, throughput), and stops the
 * session when the project is no longer running or another task took the lease.
 */
class StatusReporter {
	private timer?: NodeJS.Timeout;
	private last = { at: Date.now(), rows: 0, bytes: 0 };
	private busy = false;
	lostLease = false;

	constructor(
		private readonly ctx: Context,
		private readonly project: Project,
		private readonly owner: string,
		private readonly source: Connection,
		private readonly progress: () => ApplyStats,
		private readonly abort: AbortController,
	) {}

	start(): void {
		this.timer = setInterval(() => {
			if (this.busy) return;
			this.busy = true;
			this.report()
				.catch((err) => logger.warn("could not write replication status", { error: (err as Error).message }))
				.finally(() => {
					this.busy = false;
				});
		}, STATUS_EVERY_MS);
	}

	stop(): void {
		clearInterval(this.timer);
	}

	private async report(): Promise<void> {
		const p = this.progress();
		const now = Date.now();
		const seconds = Math.max(0.001, (now - this.last.at) / 1000);
		const rowsPerSecond = Math.round((p.rows - this.last.rows) / seconds);
		const bytesPerSecond = Math.round((p.bytes - this.last.bytes) / seconds);
		this.last = { at: now, rows: p.rows, bytes: p.bytes };
		const sourceNow = await currentPosition(this.source);
		const caughtUp = p.position !== null && samePosition(p.position, sourceNow);
		const latencySeconds =
			caughtUp || p.lastCommitTime === null
				? caughtUp
					? 0
					: undefined
				: Math.max(0, Math.round((now - p.lastCommitTime) / 1000));
		if (latencySeconds !== undefined) metrics.addMetric("ReplicationLatencySeconds", "Seconds", latencySeconds);
		metrics.addMetric("ReplicatedRows", "Count", rowsPerSecond);
		metrics.publishStoredMetrics();
		const kept = await renewLease(this.ctx, this.project.id, this.owner, {
			phase: p.mode === "safe" ? "safe" : "exact",
			position: p.position ?? undefined,
			lastCommitTime: p.lastCommitTime ?? undefined,
			latencySeconds,
			transactions: p.transactions,
			rows: p.rows,
			bytes: p.bytes,
			rowsPerSecond,
			bytesPerSecond,
			inconsistencies: p.inconsistencies,
			lastError: undefined,
		});
		const state = (await getProject(this.ctx, this.project.id)).state;
		if (!kept || state !== "running") {
			this.lostLease = !kept;
			this.abort.abort();
		}
	}
}

function samePosition(a: SourcePosition, b: SourcePosition): boolean {
	if (a.gtid || b.gtid) return normaliseGtid(a.gtid) === normaliseGtid(b.gtid);
	return a.file === b.file && a.pos === b.pos;
}

function normaliseGtid(gtid: string): string {
	return gtid
		.split(",")
		.map((s) => s.trim())
		.filter(Boolean)
		.sort()
		.join(",");
}

/**
 * Takes or renews the project's replication lease and writes the status fields given. Returns
 * false when another live task holds it.
 */
async function renewLease(
	ctx: Context,
	projectId: string,
	owner: string,
	fields: Partial<ReplicationStatus>,
): Promise<boolean> {
	const now = Date.now();
	const k = replicationKey(projectId);
	const current = await ctx.store.get<ReplicationStatus>(k);
	if (!current) {
		const fresh: ReplicationStatus = {
			owner,
			leaseUntil: now + LEASE_MS,
			heartbeatAt: now,
			phase: "starting",
			transactions: 0,
			rows: 0,
			bytes: 0,
			rowsPerSecond: 0,
			bytesPerSecond: 0,
			inconsistencies: 0,
			...fields,
		};
		try {
			await ctx.store.create(k, fresh);
			return true;
		} catch (err) {
			if (err instanceof ConflictError) return false; // another task was faster
			throw err;
		}
	}
	if (current.owner !== owner && current.leaseUntil > now) return false;
	const { pk: _pk, sk: _sk, version, ...status } = current;
	try {
		await ctx.store.replace<ReplicationStatus>(
			k,
			{ ...status, owner, leaseUntil: now + LEASE_MS, heartbeatAt: now, ...fields },
			version,
		);
		return true;
	} catch (err) {
		if (err instanceof ConflictError) return false;
		throw err;
	}
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
	return new Promise((resolve) => {
		const t = setTimeout(resolve, ms);
		signal.addEventListener("abort", () => {
			clearTimeout(t);
			resolve();
		});
	});
}
