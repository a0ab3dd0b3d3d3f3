import { createHash, randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { ConflictError } from "../../shared/aws/state-store.ts";
import type { DdlChange, SourcePosition, TransactionPart } from "../../shared/capture/change.ts";
import { currentPosition, openBinlogReader } from "../../shared/capture/reader.ts";
import { listTables, stripKey, type TableItem, tableSk, tablesPk } from "../../shared/control/chunks.ts";
import type { Context } from "../../shared/control/context.ts";
import { credentialsFor, getDataSource } from "../../shared/control/datasources.ts";
import { getProject } from "../../shared/control/projects.ts";
import {
	parseReplicationId,
	peerReplicationId,
	type ReplicationStatus,
	replicationId,
	replicationKey,
} from "../../shared/control/replication.ts";
import { replicationWanted } from "../../shared/control/supervise.ts";
import { type Connection, connect, createPool } from "../../shared/db/connect.ts";
import { describeTable, redactSql } from "../../shared/db/sql.ts";
import type { Credentials } from "../../shared/model/datasource.ts";
import type { Direction, Project } from "../../shared/model/project.ts";
import type { ObjectRules, TableMapping, TableName, TableRule } from "../../shared/model/rules.ts";
import { logger, metrics } from "../../shared/observability.ts";
import { Applier, type ApplyStats } from "../../shared/replay/applier.ts";
import { echoMarks, META_DATABASE } from "../../shared/replay/checkpoint.ts";
import { applyDdlEffects, type DdlContext, translateDdl } from "../../shared/replay/ddl.ts";
import { ddlIdentity, executeDdl } from "../../shared/replay/ddl-execute.ts";
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

/** A replica server id of our own per replication stream: a server refuses two readers with one id. */
function serverIdFor(replicationId: string): number {
	return 100_000 + (createHash("sha256").update(replicationId).digest().readUInt32BE(0) % 4_000_000_000);
}

/**
 * A replication task's loop for one stream (shared/control/replication.ts `replicationId`).
 * Forward: binlog capture from the project's source, replay into its destination. Reverse: the
 * way back, from the destination's binlog into the source, with the table mappings inverted, in
 * exact mode from `project.reverse.startPosition`. Either direction skips what the other one's
 * replay wrote (two-way sync, docs/decisions/2026-11-24-two-way-loop-prevention.md).
 *
 * It runs while the stream is wanted (shared/control/supervise.ts `replicationWanted`: not
 * when the project is paused or released, nor for reverse once `reverse.active` is off). A
 * failure (a restarted server, a cut network) ends the session; the next session resumes from
 * the checkpoint the stream's target holds, so nothing is lost or applied twice. Only one task
 * per stream runs: it holds the stream's lease.
 */
export async function runReplication(
	ctx: Context,
	replicationId: string,
	signal: AbortSignal,
): Promise<"stopped" | "fatal"> {
	const owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
	// A task killed without releasing its lease holds it until it lapses: wait that long, so the
	// scheduler sees one task starting rather than starting another each tick.
	const deadline = Date.now() + LEASE_MS + 5_000;
	while (!(await renewLease(ctx, replicationId, owner, {}))) {
		if (signal.aborted || Date.now() > deadline) {
			logger.info("another replication task holds this stream's lease", { replicationId });
			return "stopped";
		}
		await sleep(1000, signal);
	}
	try {
		return await replicateUntilStopped(ctx, replicationId, owner, signal);
	} finally {
		// the next task (after a resume or a ticket) need not wait for the lease to lapse
		await renewLease(ctx, replicationId, owner, { leaseUntil: 0 }).catch(() => {});
	}
}

async function replicateUntilStopped(
	ctx: Context,
	replicationId: string,
	owner: string,
	signal: AbortSignal,
): Promise<"stopped" | "fatal"> {
	let backoffMs = 1000;
	while (!signal.aborted) {
		try {
			const outcome = await session(ctx, replicationId, owner, signal);
			if (outcome === "stopped") return "stopped";
		} catch (err) {
			if (err instanceof FatalReplicationError) {
				logger.error("replication stopped: a person must decide", { replicationId, error: err.message });
				await renewLease(ctx, replicationId, owner, {
					fatal: { message: err.message, gtid: err.gtid, statement: err.statement },
				});
				return "fatal";
			}
			const message = (err as Error).message;
			logger.warn("replication session ended; resuming from the checkpoint", {
				replicationId,
				error: message,
				retryInMs: backoffMs,
			});
			metrics.addMetric("ReplicationErrors", "Count", 1);
			if (!(await renewLease(ctx, replicationId, owner, { lastError: message }).catch(() => true))) return "stopped";
			await sleep(backoffMs, signal);
			backoffMs = Math.min(backoffMs * 2, 30_000);
		}
	}
	return "stopped";
}

async function session(
	ctx: Context,
	replicationId: string,
	owner: string,
	signal: AbortSignal,
): Promise<"stopped" | "ended"> {
	const { projectId, direction } = parseReplicationId(replicationId);
	const project = await getProject(ctx, projectId);
	if (!replicationWanted(project, direction)) return "stopped";
	const reverse = direction === "reverse";
	// capture reads one side's binlog, replay writes into the other
	const [captureId, targetId] = reverse
		? [project.destinationId, project.sourceId]
		: [project.sourceId, project.destinationId];
	const [captureCreds, targetCreds, target] = await Promise.all([
		credentialsFor(ctx, captureId),
		credentialsFor(ctx, targetId),
		getDataSource(ctx, targetId),
	]);
	const capturePool = createPool(captureCreds, 2);
	const control = await connect(captureCreds);
	let applier: Applier | undefined;
	try {
		const captureServer = await describeServer(control);
		const targetServer = await connect(targetCreds).then(async (c) => {
			try {
				return await describeServer(c);
			} finally {
				await c.end();
			}
		});
		const tables = new Tables(ctx, project, direction, await listTables(ctx, projectId), {
			destinationEngine: target.engine,
			destinationVersion: targetServer.version,
			source: { flavor: captureServer.flavor, version: captureServer.version },
		});
		const skipGtid = reverse ? project.reverse?.skipGtid : project.incremental?.skipGtid;
		applier = new Applier({
			destination: targetCreds,
			stream: replicationId,
			mapping: (t) => tables.mapping(t),
			source: capturePool,
			// reverse replay starts where the destination took no more writes from forward replay: exact from the start
			safeUntil: reverse ? null : (project.incremental?.safeUntil ?? null),
			// one connection: each transaction's checkpoint row comes first, which two-way sync needs (applier.ts)
			parallel: 1,
			onDdl: async (change, { connection, part }) => {
				if (part.gtid && part.gtid === skipGtid) {
					logger.warn("skipping the DDL the user chose to skip", {
						replicationId,
						gtid: part.gtid,
						sql: redactSql(change.sql),
					});
					return;
				}
				await tables.applyDdl(change, part, connection);
			},
		});
		return await replicate(ctx, project, replicationId, owner, signal, { applier, tables, control, captureCreds });
	} finally {
		await applier?.close().catch(() => {});
		await Promise.allSettled([capturePool.end(), control.end()]);
	}
}

async function replicate(
	ctx: Context,
	project: Project,
	replicationId: string,
	owner: string,
	signal: AbortSignal,
	s: { applier: Applier; tables: Tables; control: Connection; captureCreds: Credentials },
): Promise<"stopped" | "ended"> {
	const { projectId, direction } = parseReplicationId(replicationId);
	const { applier, tables } = s;
	const stop = new AbortController();
	const onAbort = () => stop.abort();
	signal.addEventListener("abort", onAbort);
	let echoes = () => 0;
	// before the first transaction is applied, replay stands at its start: an idle source is caught up
	let startedAt: SourcePosition | null = null;
	const reporter = new StatusReporter(
		ctx,
		replicationId,
		owner,
		s.control,
		() => {
			const progress = applier.progress;
			return { ...progress, position: progress.position ?? startedAt, echoes: echoes() };
		},
		stop,
	);
	try {
		const checkpoint = await applier.open();
		let from: SourcePosition | undefined = checkpoint?.position;
		if (!from && direction === "reverse") {
			from = project.reverse?.startPosition;
			if (!from) {
				throw new FatalReplicationError(
					`reverse replication of project ${projectId} has no start position (reverse.startPosition is not recorded): it cannot know from where in the destination's binlog to replicate back`,
				);
			}
		}
		from ??= project.incremental?.startPosition;
		if (!from) throw new Error(`project ${projectId} has no capture start position: its position step did not run`);
		startedAt = from;
		const reader = await openBinlogReader(s.captureCreds, {
			from,
			serverId: serverIdFor(replicationId),
			include: (t) => t.database !== META_DATABASE && tables.captures(t),
			// what the other direction's replay wrote is not sent back (its checkpoint row marks it)
			skipEchoes: echoMarks(peerReplicationId(replicationId)),
		});
		echoes = () => reader.stats.echoes;
		reporter.start();
		// a stop must not wait for the next binlog event
		stop.signal.addEventListener("abort", () => void reader.close().catch(() => {}));
		try {
			await applier.run(reader, stop.signal);
		} finally {
			await reader.close();
		}
		return reporter.lostLease || !replicationWanted(await getProject(ctx, projectId), direction) ? "stopped" : "ended";
	} finally {
		await reporter.stop();
		signal.removeEventListener("abort", onAbort);
	}
}

/**
 * The project's migrated tables as replay sees them. Forward: as resolved at precheck, changed
 * by replayed DDL and kept in the state table. Reverse: the same mappings inverted (destination
 * table -> source table, the mapped columns only, renames swapped, no row filter), changed in
 * memory only by the DDL forward replay ran at the destination (its effect is already in the
 * state table for the next session).
 *
 * DDL captured in reverse that concerns a replicated table is not replayed: Ferry would have to
 * turn the destination's dialect back into the source's and change the forward mappings at the
 * same time. It stops reverse replication with a ticket naming the statement, unless the
 * translation ignores it (other tables) or it is forward replay's own (its mark, or for a
 * DROP TABLE, which MariaDB logs without it, tables the source no longer has).
 */
/** CREATE or DROP TRIGGER, after any leading comments (MariaDB logs CREATE TRIGGER with its DEFINER). */
const TRIGGER_DDL =
	/^\s*(?:\/\*[\s\S]*?\*\/\s*)*(?:CREATE\s+(?:OR\s+REPLACE\s+)?(?:DEFINER\s*=\s*\S+\s+)?|DROP\s+)TRIGGER\b/i;

class Tables {
	private byName = new Map<string, TableMapping>();
	private readonly rules: ObjectRules;

	constructor(
		private readonly ctx: Context,
		private readonly project: Project,
		private readonly direction: Direction,
		private items: (TableItem & { pk: string; sk: string; version: number })[],
		private readonly servers: Omit<DdlContext, "rules" | "mappings">,
	) {
		const forward = items.map((t) => t.mapping);
		if (direction === "forward") {
			this.rules = project.objects;
			for (const m of forward) this.byName.set(key(m.source), m);
			return;
		}
		const { mappings, rules } = invertMappings(forward, project.objects);
		this.rules = rules;
		for (const m of mappings) this.byName.set(key(m.source), m);
	}

	private get stream(): string {
		return replicationId(this.project.id, this.direction);
	}

	/** Tables whose rows capture reads. Forward: rules, not only today's tables: a table created later must not lose its first rows. */
	captures(t: TableName): boolean {
		if (this.byName.has(key(t))) return true;
		return this.direction === "forward" && includingRule(this.project.objects, t) !== undefined;
	}

	mapping(t: TableName): TableMapping | undefined {
		return this.byName.get(key(t));
	}

	async applyDdl(change: DdlChange, part: TransactionPart, conn: Connection): Promise<void> {
		const mappings = [...this.byName.values()];
		const decision = translateDdl(change, { rules: this.rules, mappings, ...this.servers });
		const log = { replicationId: this.stream, sql: redactSql(change.sql) };
		if (change.echo) {
			// the other direction's replay ran it here: follow its effect on the mappings, run nothing
			if (decision.action === "apply") this.byName = byName(applyDdlEffects(mappings, decision.effects));
			logger.info("DDL the other direction replayed: not sent back", log);
			return;
		}
		if (decision.action === "ignore") {
			logger.info("DDL ignored", { ...log, reason: redactSql(decision.reason) });
			return;
		}
		const statement = redactSql(change.sql);
		if (this.direction === "reverse" && TRIGGER_DDL.test(change.sql)) {
			// the switchover created the destination's triggers and dropped the source's, so that
			// reverse replay's rows do not fire them twice: trigger DDL never goes back
			logger.info("trigger DDL at the destination: not replayed in reverse", log);
			return;
		}
		if (decision.action === "refuse") {
			throw new FatalReplicationError(
				`unsupported DDL: ${redactSql(decision.reason)}; statement: ${statement}`,
				part.gtid,
				statement,
			);
		}
		if (this.direction === "reverse") {
			if (await this.droppedAlready(decision.effects, conn)) {
				this.byName = byName(applyDdlEffects(mappings, decision.effects));
				logger.info("DROP TABLE of tables the source no longer has (forward replay's): not sent back", log);
				return;
			}
			throw new FatalReplicationError(
				`DDL at the destination on a table replicated back to the source is not replayed in reverse; make the change at the source by hand if it is wanted there, then skip the statement; statement: ${statement}`,
				part.gtid,
				statement,
			);
		}
		// in the source statement's session, marked as replay's, once even across a crash
		await executeDdl(conn, decision, {
			stream: this.stream,
			ddlId: ddlIdentity(change, part),
			session: change.session,
			destinationEngine: this.servers.destinationEngine,
		});
		await this.save(applyDdlEffects(mappings, decision.effects));
		logger.info("DDL replayed", { ...log, statements: decision.statements.map(redactSql) });
	}

	/** The decision only drops tables, and none of them exists in the stream's target. */
	private async droppedAlready(effects: readonly { kind: string }[], conn: Connection): Promise<boolean> {
		if (effects.length === 0 || effects.some((e) => e.kind !== "table-dropped")) return false;
		for (const e of effects as { kind: "table-dropped"; source: TableName }[]) {
			const target = this.byName.get(key(e.source))?.destination;
			if (!target) return false;
			const [rows] = await conn.query(
				"SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
				[target.database, target.table],
			);
			if ((rows as unknown[]).length > 0) return false;
		}
		return true;
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
		this.byName = byName(next);
	}
}

function byName(mappings: readonly TableMapping[]): Map<string, TableMapping> {
	return new Map(mappings.map((m) => [key(m.source), m]));
}

/**
 * The mappings of reverse replication: each forward mapping the other way round (its
 * destination table is replicated into its source table; only the mapped columns, renames
 * swapped; no row filter), and one rule per table that says the same, for DDL translation. A
 * rule that selects columns selects the mapped ones; one that does not, selects all (a column
 * forward replay adds is replicated back too).
 */
export function invertMappings(
	forward: readonly TableMapping[],
	rules: ObjectRules,
): { mappings: TableMapping[]; rules: ObjectRules } {
	const seen = new Map<string, TableMapping>();
	const mappings: TableMapping[] = [];
	const inverted: TableRule[] = [];
	for (const m of forward) {
		const other = seen.get(key(m.destination));
		if (other) {
			throw new FatalReplicationError(
				`${describeTable(other.source)} and ${describeTable(m.source)} are both migrated into ${describeTable(m.destination)}: reverse replication cannot tell which of them a change of it belongs to`,
			);
		}
		seen.set(key(m.destination), m);
		const columns = m.columns.map((c) => ({ source: c.destination, destination: c.source }));
		mappings.push({ source: m.destination, destination: m.source, columns });
		const renamed = columns.filter((c) => c.source !== c.destination);
		const selects = includingRule(rules, m.source)?.rule.columns !== undefined;
		inverted.push({
			database: m.destination.database,
			table: m.destination.table,
			exclude: false,
			renameDatabase: m.source.database,
			renameTable: m.source.table,
			...(selects ? { columns: columns.map((c) => c.source) } : {}),
			...(renamed.length > 0
				? { renameColumns: Object.fromEntries(renamed.map((c) => [c.source, c.destination])) }
				: {}),
		});
	}
	return { mappings, rules: inverted.length > 0 ? inverted : rules };
}

/**
 * Writes the task's status every second (heartbeat, lease, latency, throughput), and stops the
 * session when the stream is no longer wanted or another task took the lease.
 */
class StatusReporter {
	private timer?: NodeJS.Timeout;
	private last = { at: Date.now(), rows: 0, bytes: 0 };
	private busy: Promise<void> | null = null;
	lostLease = false;

	constructor(
		private readonly ctx: Context,
		private readonly replicationId: string,
		private readonly owner: string,
		/** The server capture reads: how far its binlog is (latency). */
		private readonly source: Connection,
		private readonly progress: () => ApplyStats & { echoes: number },
		private readonly abort: AbortController,
	) {}

	start(): void {
		this.timer = setInterval(() => {
			if (this.busy) return;
			this.busy = this.report()
				.catch((err) => logger.warn("could not write replication status", { error: (err as Error).message }))
				.finally(() => {
					this.busy = null;
				});
		}, STATUS_EVERY_MS);
	}

	/** Stops reporting, once a report under way is written (a fatal stop written after it must not meet it). */
	async stop(): Promise<void> {
		clearInterval(this.timer);
		await this.busy;
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
		const kept = await renewLease(this.ctx, this.replicationId, this.owner, {
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
			echoes: p.echoes,
			lastError: undefined,
		});
		const { projectId, direction } = parseReplicationId(this.replicationId);
		const wanted = replicationWanted(await getProject(this.ctx, projectId), direction);
		if (!kept || !wanted) {
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
 * Takes or renews the stream's replication lease and writes the status fields given. Returns
 * false when another live task holds it.
 */
async function renewLease(
	ctx: Context,
	replicationId: string,
	owner: string,
	fields: Partial<ReplicationStatus>,
): Promise<boolean> {
	const now = Date.now();
	const k = replicationKey(replicationId);
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
