import mysql, { type RowDataPacket } from "mysql2/promise";
import type { Change, DdlChange, RowChange, SourcePosition, TransactionPart } from "../capture/change.ts";
import { type Connection, connectionOptions, explainConnectError, type Pool } from "../db/connect.ts";
import type { Credentials } from "../model/datasource.ts";
import type { TableMapping, TableName } from "../model/rules.ts";
import { logger } from "../observability.ts";
import { tableKey } from "../schema/snapshot.ts";
import { type BatchItem, OrderedBatch, TableBatch } from "./batch.ts";
import { cascadeItems, mayCascade, type ReferencingKey, readReferencingKeys, referencedKey } from "./cascades.ts";
import {
	type Checkpoint,
	checkpointSql,
	ensureMetaSchema,
	META_DATABASE,
	markSql,
	readCheckpoint,
} from "./checkpoint.ts";
import { RowFilter, routeChange } from "./filter.ts";
import { completeImage, conflictKeys } from "./literals.ts";
import { hasReached, includesTransaction } from "./position.ts";
import { ReplayError } from "./replay-error.ts";
import type { ReplayTable } from "./replay-table.ts";
import { type ColumnRules, ReplayTables } from "./resolver.ts";
import type { Inconsistency, ReplayMode } from "./statements.ts";

/**
 * Applies the change stream to the destination.
 *
 * - Each source transaction lands in one destination transaction, together with the write of
 *   the stream's checkpoint row (checkpoint.ts): the destination alone tells which source
 *   transactions it holds, so a restart resumes capture at `readCheckpoint` and nothing is lost
 *   or doubled. A transaction already covered by the checkpoint (by its GTID) is skipped, should
 *   capture deliver it again.
 * - The checkpoint row is the first write of each destination transaction, so capture from the
 *   destination (the other direction of two-way sync) recognises replay's transactions before
 *   their first row (capture/reader.ts `skipEchoes`). A large transaction, whose position is
 *   known only at its end, starts with a mark on the same row (`markSql`) and writes its
 *   checkpoint before COMMIT. The exception: with parallel apply, a group that runs while its
 *   predecessor has not committed writes the checkpoint only once that one has (the row lock
 *   would otherwise serialise them), so its mark comes last. Two-way sync uses one connection.
 * - An empty part capture flags as the echo of the peer's checkpoint-only transaction
 *   (`echo: "checkpoint"`) moves the position without a destination transaction of its own (it
 *   goes with the next one): writing one would be echoed back by the peer, forever.
 * - Group commit: consecutive small transactions share one destination transaction (up to
 *   `groupTransactions` of them, `groupRows` row changes, or until the input pauses or the group
 *   is `groupDelayMs` old), in source order. Inside it, changes are compacted per row key and
 *   written with multi-row statements (statements.ts), and the whole group (statements,
 *   checkpoint, COMMIT) travels in one multi-statement packet: one round trip per group.
 *   While a group executes, the next one is being built.
 * - A large transaction arrives in parts: each part (or `groupRows` of changes) is written into
 *   the open destination transaction as it comes and committed with the final part: memory holds
 *   one part, never the whole transaction.
 * - Parallel apply (`parallel` > 1): groups run on several connections when their conflict keys
 *   (every primary and unique key value of every row image, per table; the whole table for
 *   tables without key) do not meet those of any group in flight; a group that conflicts waits
 *   for the ones it meets to commit. Commits stay in source order (a group writes its checkpoint
 *   and commits only after its predecessor committed), so the checkpoint is always a prefix of
 *   the stream. A group that fails on a lock wait, deadlock or duplicate key (a conflict the keys
 *   did not show, e.g. under a collation that folds more than the hash) is rolled back, later
 *   groups waiting to commit are rolled back too, and it runs again once its predecessors are
 *   committed.
 * - Sessions: foreign_key_checks=0, because the source already enforced the constraints and
 *   replay keeps their order within a group's commit (checks would only cost lookups, and would
 *   fail on the intermediate states of compacted batches and of the copy overlap); InnoDB then
 *   performs no cascades either, and the binlog does not carry the source's: replay redoes them
 *   itself (cascades.ts);
 *   sql_mode strict (a value the destination cannot hold fails instead of being truncated) with
 *   zero and invalid dates allowed and backslash escapes, as in the copy; READ COMMITTED, so no
 *   gap locks between parallel groups; time zone UTC.
 * - Safe mode until the position reaches `safeUntil` (where the full copy's last chunk
 *   finished), exact mode after (see statements.ts).
 * - DDL: the open group is committed and every group in flight awaited; then `onDdl` runs on a
 *   replay connection outside any transaction (DDL commits implicitly); then the checkpoint is
 *   written in its own transaction. A crash between the two runs the DDL again on restart:
 *   `onDdl` must accept a statement already applied. A statement capture flags as the peer's
 *   echo (`DdlChange.echo`) goes to `onDdl` too (to follow its effect on the mappings), or is
 *   passed over without one.
 *
 * Errors other than the retried ones end `run` with the error; the caller restarts replay
 * (with capture resumed at `readCheckpoint`), as after a crash.
 */

export interface DdlContext {
	/** A replay connection to the destination, outside any transaction. */
	connection: Connection;
	part: TransactionPart;
}

export interface ApplierOptions {
	destination: Credentials;
	/** The stream's name: its checkpoint row's key. */
	stream: string;
	/** The mapping of a source table, or null/undefined if the table is not replicated. */
	mapping: (table: TableName) => TableMapping | null | undefined | Promise<TableMapping | null | undefined>;
	/** The source server, to evaluate row filters (needed if a mapping has `where`) and to read its tables' columns (resolver.ts). */
	source?: Pool | Connection;
	/** The rules' say on a column row images carry that the mapping lacks (resolver.ts; default: the same name, selected). */
	columnRule?: ColumnRules;
	/** A mapping the applier changed to match both ends (resolver.ts), for the caller to keep. */
	onMappingChanged?: (mapping: TableMapping) => Promise<void> | void;
	/** Ferry's helper database at the destination (default `ferry_meta`). */
	metaDatabase?: string;
	/** Safe (idempotent) mode until the applied position reaches this; exact mode afterwards. */
	safeUntil?: SourcePosition | null;
	/** Applies a DDL change at the destination (the DDL translator). */
	onDdl?: (change: DdlChange, context: DdlContext) => Promise<void>;
	/** Destination connections applying groups at once (default 1). */
	parallel?: number;
	/** Source transactions per destination commit, at most (default 1000; 200 with parallel apply). */
	groupTransactions?: number;
	/** Row changes written per round trip, at most (default 10000); also the part size inside a large transaction. */
	groupRows?: number;
	/** A group is committed at the latest this long after its first transaction arrived (default 50). */
	groupDelayMs?: number;
	/** Target size of one multi-row statement (default 1 MiB). */
	statementBytes?: number;
	/** innodb_lock_wait_timeout of replay sessions, seconds (default 10; 3 with parallel apply). */
	lockWaitTimeout?: number;
	/**
	 * In exact mode, check each keyed change's precondition (row present for update and delete,
	 * absent for insert) and report inconsistencies (default true). Off, exact mode writes as safe
	 * mode does, a little faster, and finds nothing.
	 */
	exactChecks?: boolean;
	/** Skip transactions whose GTID the checkpoint already covers (default true). */
	skipApplied?: boolean;
	/** Called for each inconsistency found in exact mode (default: a warning in the log). */
	onInconsistency?: (inconsistency: Inconsistency) => void;
	/** Called after each destination commit with the running totals. */
	onCommit?: (stats: ApplyStats) => void;
}

export interface ApplyStats {
	/** Source transactions applied (committed at the destination). */
	transactions: number;
	/** Row changes of those transactions (before row filters). */
	rows: number;
	/** Their size in the source binlog (each transaction counted by its final part's `bytes`). */
	bytes: number;
	/** Destination commits. */
	commits: number;
	/** Transactions skipped because the checkpoint already covered them. */
	skipped: number;
	/** Positions moved past the peer's checkpoint-only transactions, written with the next transaction. */
	unwritten: number;
	/** Source commit time (epoch ms) of the last transaction applied: latency = now - this. */
	lastCommitTime: number | null;
	/** The position after the last transaction applied (the checkpoint). */
	position: SourcePosition | null;
	/** Inconsistencies found in exact mode. */
	inconsistencies: number;
	/**
	 * Exact once the position applied has reached `safeUntil` (whatever transactions brought it
	 * there, or none after it); safe before.
	 */
	mode: ReplayMode;
	/** Groups run again after a lock wait, deadlock or duplicate key. */
	retries: number;
	/** DDL statements applied. */
	ddl: number;
}

const IDLE = Symbol("idle");
const RETRYABLE = new Set([1205, 1213, 1062, 1020]);
const MAX_ATTEMPTS = 6;

function sleepImmediate(ms: number): Promise<typeof IDLE> {
	return new Promise((resolve) => {
		if (ms <= 0) setImmediate(() => resolve(IDLE));
		else setTimeout(() => resolve(IDLE), ms);
	});
}

function errno(err: unknown): number | undefined {
	return (err as { errno?: number })?.errno;
}

/** The transactions of one destination commit (or of one part of a large transaction). */
class Group {
	changes: RowChange[] = [];
	transactions = 0;
	rows = 0;
	bytes = 0;
	position: SourcePosition | null = null;
	commitTime: number | null = null;
	mode: ReplayMode = "exact";
	/** The last part taken was a transaction's final part. */
	atBoundary = true;
	/** `changes` up to here belong to complete transactions. */
	boundaryIndex = 0;
	/** Part of it was already written into an open destination transaction (a large transaction). */
	streaming = false;
	startedAt = 0;

	get empty(): boolean {
		return this.transactions === 0 && this.changes.length === 0 && !this.streaming && this.atBoundary;
	}
}

interface Prepared {
	items: BatchItem[];
	/** Conflict keys for parallel apply; null conflicts with everything. */
	keys: Set<string> | null;
}

interface Worker {
	id: number;
	conn: mysql.Connection;
}

class Flight {
	done = false;
	failed = false;
	readonly committed: Promise<void>;
	resolve!: () => void;
	reject!: (err: unknown) => void;
	constructor(
		readonly seq: number,
		readonly keys: Set<string> | null,
	) {
		this.committed = new Promise<void>((resolve, reject) => {
			this.resolve = () => {
				this.done = true;
				resolve();
			};
			this.reject = (err) => {
				this.done = true;
				this.failed = true;
				reject(err);
			};
		});
		this.committed.catch(() => {});
	}
}

function conflicts(a: Set<string> | null, b: Set<string> | null): boolean {
	if (!a || !b) return true;
	const [small, large] = a.size <= b.size ? [a, b] : [b, a];
	for (const k of small) if (large.has(k)) return true;
	return false;
}

function removeModes(mode: string, remove: string[]): string[] {
	return mode
		.split(",")
		.map((m) => m.trim().toUpperCase())
		.filter((m) => m && !remove.includes(m));
}

export class Applier {
	private readonly opts: Required<
		Pick<
			ApplierOptions,
			| "parallel"
			| "groupTransactions"
			| "groupRows"
			| "groupDelayMs"
			| "statementBytes"
			| "lockWaitTimeout"
			| "skipApplied"
			| "metaDatabase"
		>
	>;
	private workers: Worker[] = [];
	private free: Worker[] = [];
	private freeWaiters: (() => void)[] = [];
	private control: mysql.Connection | null = null;
	private packetBytes = 4 * 1024 * 1024;
	private readonly tables: ReplayTables;
	private referencing: Promise<Map<string, ReferencingKey[]>> | null = null;
	private readonly filter: RowFilter | null;
	private checkpoint: Checkpoint | null = null;
	private group = new Group();
	private exclusive: Worker | null = null;
	private inflight: Flight[] = [];
	private last: Flight | null = null;
	private seq = 0;
	private epoch = 0;
	private epochWaiters: (() => void)[] = [];
	private failedSeq = Number.POSITIVE_INFINITY;
	private failure: unknown = null;
	/** Position after the last transaction taken into a group (decides the mode of the next). */
	private assembled: SourcePosition | null = null;
	private exactReached = false;
	private skipping = false;
	private opened = false;
	private closed = false;
	private readonly stats: ApplyStats = {
		transactions: 0,
		rows: 0,
		bytes: 0,
		commits: 0,
		skipped: 0,
		unwritten: 0,
		lastCommitTime: null,
		position: null,
		inconsistencies: 0,
		mode: "exact",
		retries: 0,
		ddl: 0,
	};

	constructor(private readonly options: ApplierOptions) {
		this.opts = {
			parallel: Math.max(1, Math.floor(options.parallel ?? 1)),
			// With several connections, smaller groups meet fewer keys of the groups in flight.
			groupTransactions: Math.max(1, options.groupTransactions ?? ((options.parallel ?? 1) > 1 ? 200 : 1000)),
			groupRows: Math.max(1, options.groupRows ?? 10_000),
			groupDelayMs: Math.max(0, options.groupDelayMs ?? 50),
			statementBytes: Math.max(1024, options.statementBytes ?? 1024 * 1024),
			// With parallel apply a lock wait can hide a conflict between groups (see runFlight): shorter.
			lockWaitTimeout: Math.max(1, Math.floor(options.lockWaitTimeout ?? ((options.parallel ?? 1) > 1 ? 3 : 10))),
			skipApplied: options.skipApplied ?? true,
			metaDatabase: options.metaDatabase ?? META_DATABASE,
		};
		this.filter = options.source ? new RowFilter(options.source) : null;
		const { mapping, source: capture, columnRule, onMappingChanged } = options;
		this.tables = new ReplayTables(
			{ mapping, capture, columnRule, onMappingChanged },
			() => this.control as Connection,
		);
	}

	/** The destination session ids of the connections that write groups (for operators: KILL, processlist). */
	get sessionIds(): number[] {
		return this.workers.map((w) => w.conn.threadId ?? 0);
	}

	/** Running totals (a copy). */
	get progress(): ApplyStats {
		return { ...this.stats, position: this.stats.position ? { ...this.stats.position } : null };
	}

	/** Opens the connections, creates the helper schema, reads the checkpoint (returned: where capture must resume). */
	async open(): Promise<Checkpoint | null> {
		if (this.opened) return this.checkpoint;
		this.opened = true;
		const c = this.options.destination;
		const connect = async (multipleStatements: boolean) => {
			try {
				return await mysql.createConnection({ ...connectionOptions(c), multipleStatements });
			} catch (err) {
				throw explainConnectError(err, c);
			}
		};
		this.control = await connect(false);
		const [[state]] = await this.control.query<RowDataPacket[]>(
			"SELECT @@session.sql_mode AS mode, @@max_allowed_packet AS maxPacket",
		);
		let binlogFormat = "";
		try {
			const [[row]] = await this.control.query<RowDataPacket[]>("SELECT @@binlog_format AS f");
			binlogFormat = String(row?.f ?? "").toUpperCase();
		} catch {
			// No such variable: no binary log.
		}
		const mode = [
			...removeModes(String(state?.mode ?? ""), [
				"NO_ZERO_DATE",
				"NO_ZERO_IN_DATE",
				"NO_BACKSLASH_ESCAPES",
				"STRICT_TRANS_TABLES",
				"STRICT_ALL_TABLES",
				"ALLOW_INVALID_DATES",
				"NO_AUTO_VALUE_ON_ZERO",
				"TRADITIONAL",
				"ORACLE",
				"MSSQL",
				"DB2",
				"POSTGRESQL",
				"MAXDB",
				"PAD_CHAR_TO_FULL_LENGTH",
			]),
			"STRICT_ALL_TABLES",
			"NO_AUTO_VALUE_ON_ZERO",
			"ALLOW_INVALID_DATES",
		].join(",");
		// A JS character takes up to 3 bytes in UTF-8 (binary travels as hex): a quarter of the
		// server's limit, in characters, always fits.
		this.packetBytes = Math.max(64 * 1024, Math.min(Number(state?.maxPacket ?? 4 * 1024 * 1024) / 4, 16 * 1024 * 1024));
		const setup = async (conn: mysql.Connection) => {
			await conn.query(
				"SET SESSION time_zone = '+00:00', sql_mode = ?, foreign_key_checks = 0, unique_checks = 1, innodb_lock_wait_timeout = ?",
				[mode, this.opts.lockWaitTimeout],
			);
			// With statement-based binary logging InnoDB refuses writes under READ COMMITTED.
			if (binlogFormat !== "STATEMENT") await conn.query("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
		};
		await setup(this.control);
		await ensureMetaSchema(this.control, this.opts.metaDatabase, this.options.stream);
		this.checkpoint = await readCheckpoint(this.control, this.options.stream, this.opts.metaDatabase);
		this.assembled = this.checkpoint?.position ?? null;
		this.stats.position = this.checkpoint?.position ?? null;
		this.stats.mode = this.modeAt(this.stats.position);
		for (let i = 0; i < this.opts.parallel; i++) {
			const conn = await connect(true);
			await setup(conn);
			const w = { id: i, conn };
			this.workers.push(w);
			this.free.push(w);
		}
		return this.checkpoint;
	}

	/** Closes every connection (an open destination transaction is rolled back by the server). */
	async close(): Promise<void> {
		if (this.closed) return;
		this.closed = true;
		const all = [...this.workers.map((w) => w.conn), ...(this.control ? [this.control] : [])];
		await Promise.all(all.map((c) => c.end().catch(() => c.destroy())));
	}

	/** Destroys the connections at once (after a failure). */
	private destroy(): void {
		this.closed = true;
		for (const w of this.workers) w.conn.destroy();
		this.control?.destroy();
	}

	/** Forgets what it knows of tables (after DDL, or when the rules change). */
	invalidate(): void {
		this.tables.clear();
		this.referencing = null;
		this.filter?.invalidate();
	}

	/**
	 * Applies the parts in order until the input ends or `signal` aborts, then waits for every
	 * commit. A transaction left incomplete at the end is rolled back (capture delivers it again
	 * from the checkpoint). Returns the totals; rejects on the first unrecoverable error, after
	 * closing the connections.
	 */
	async run(
		parts: AsyncIterable<TransactionPart> | Iterable<TransactionPart>,
		signal?: AbortSignal,
	): Promise<ApplyStats> {
		await this.open();
		const it =
			Symbol.asyncIterator in parts
				? (parts as AsyncIterable<TransactionPart>)[Symbol.asyncIterator]()
				: (async function* () {
						yield* parts as Iterable<TransactionPart>;
					})();
		try {
			let next = it.next();
			for (;;) {
				let r: IteratorResult<TransactionPart> | typeof IDLE;
				if (!this.group.empty && this.group.atBoundary) {
					r = await Promise.race([next, sleepImmediate(0)]);
					if (r === IDLE) {
						await this.flush();
						r = await next;
					}
				} else {
					r = await next;
				}
				if (r.done) break;
				this.throwIfFailed();
				if (signal?.aborted) break;
				next = it.next();
				await this.accept(r.value);
				if (signal?.aborted) break;
			}
			if (!this.group.empty) {
				if (this.group.atBoundary) await this.flush();
				else await this.abandonOpenTransaction();
			}
			await this.drain();
			this.throwIfFailed();
			return this.progress;
		} catch (err) {
			this.failure ??= err;
			await Promise.allSettled(this.inflight.map((f) => f.committed));
			this.destroy();
			throw err;
		} finally {
			void it.return?.()?.catch?.(() => {});
		}
	}

	private throwIfFailed(): void {
		if (this.failure) throw this.failure;
	}

	/**
	 * Where capture starts when the target holds no checkpoint yet: the stream stands there, so a
	 * source quiet since the copy ended is already past `safeUntil` (exact mode) without an event.
	 */
	startAt(position: SourcePosition): void {
		if (this.checkpoint?.position || this.assembled) return;
		this.assembled = position;
		this.stats.position = position;
		this.stats.mode = this.modeAt(position);
	}

	/** The mode replay is in once `position` is applied. */
	private modeAt(position: SourcePosition | null): ReplayMode {
		const until = this.options.safeUntil;
		return !until || hasReached(position, until) ? "exact" : "safe";
	}

	private modeFor(): ReplayMode {
		const until = this.options.safeUntil;
		if (!until || this.exactReached) return "exact";
		if (hasReached(this.assembled, until)) {
			this.exactReached = true;
			return "exact";
		}
		return "safe";
	}

	private async accept(part: TransactionPart): Promise<void> {
		const g = this.group;
		const starts = g.atBoundary;
		if (
			this.skipping ||
			(starts && this.opts.skipApplied && includesTransaction(this.checkpoint?.position, part.gtid))
		) {
			this.skipping = !part.final;
			if (part.final) this.stats.skipped += 1;
			return;
		}
		if (part.changes.some((c) => c.kind === "ddl")) {
			await this.applyDdlPart(part);
			return;
		}
		if (part.echo === "checkpoint" && part.final && part.changes.length === 0 && g.empty && part.position) {
			// The peer's checkpoint-only transaction: the position moves, nothing is written for it.
			this.assembled = part.position;
			this.stats.position = part.position;
			this.stats.mode = this.modeAt(part.position);
			this.stats.lastCommitTime = part.commitTime;
			this.stats.unwritten += 1;
			return;
		}
		if (starts) {
			const mode = this.modeFor();
			if (!g.empty && g.mode !== mode) await this.flush();
			if (this.group.empty) {
				this.group.mode = mode;
				this.group.startedAt = Date.now();
			}
		}
		const group = this.group;
		for (const c of part.changes) group.changes.push(c as RowChange);
		group.rows += part.changes.length;
		if (part.final) {
			group.transactions += 1;
			group.bytes += part.bytes;
			group.commitTime = part.commitTime;
			if (part.position) {
				group.position = part.position;
				this.assembled = part.position;
			}
			group.atBoundary = true;
			group.boundaryIndex = group.changes.length;
		} else {
			group.atBoundary = false;
		}
		if (group.changes.length >= this.opts.groupRows) {
			if (group.atBoundary) await this.flush();
			else await this.flushPart();
		} else if (
			group.atBoundary &&
			(group.transactions >= this.opts.groupTransactions || Date.now() - group.startedAt >= this.opts.groupDelayMs)
		) {
			await this.flush();
		}
	}

	// --- Tables and statements

	/** The target's foreign keys that act on children, by referenced table (cascades.ts); read again after DDL. */
	private referencingKeys(): Promise<Map<string, ReferencingKey[]>> {
		if (!this.referencing) {
			const p = readReferencingKeys(this.control as Connection);
			p.catch(() => {
				if (this.referencing === p) this.referencing = null;
			});
			this.referencing = p;
		}
		return this.referencing;
	}

	/** A keyed table with full images is compacted; others are applied change by change. */
	private newBatch(table: ReplayTable, mode: ReplayMode, incomplete: boolean): TableBatch | OrderedBatch {
		return table.key && !table.keepUnmapped && !incomplete
			? new TableBatch(table, mode, this.opts.statementBytes, this.options.exactChecks ?? true)
			: new OrderedBatch(table, mode, this.opts.statementBytes);
	}

	/** Routes changes through row filters, compacts them and builds the statements. */
	private async prepare(changes: RowChange[], mode: ReplayMode, withKeys: boolean): Promise<Prepared> {
		const resolved = new Map<string, ReplayTable | null>();
		for (const c of changes) {
			const k = tableKey(c.table);
			if (!resolved.has(k)) resolved.set(k, await this.tables.resolve(c.table));
		}
		await this.tables.cover(changes, resolved);
		// Row filters: every image of a filtered table, evaluated per table in one batch.
		let routed: (RowChange | null)[] = changes;
		const filtered = [...resolved.entries()].filter(([, t]) => t?.mapping.where?.trim());
		if (filtered.length > 0) {
			if (!this.filter) {
				const t = filtered[0]?.[1] as ReplayTable;
				throw new ReplayError(
					`${t.label} has a row filter, which replay evaluates on the source: give the applier a source connection`,
					"NO_SOURCE_FOR_FILTER",
				);
			}
			routed = changes.slice();
			for (const [k, t] of filtered) {
				const table = t as ReplayTable;
				const images: { index: number; before: boolean }[] = [];
				const list = [];
				for (let i = 0; i < changes.length; i++) {
					const c = changes[i] as RowChange;
					if (tableKey(c.table) !== k) continue;
					if (c.before) {
						images.push({ index: i, before: true });
						list.push(c.before);
					}
					if (c.after) {
						images.push({ index: i, before: false });
						list.push(c.after);
					}
				}
				const passes = await this.filter.evaluate(table.mapping, list);
				const verdict = new Map<number, { before: boolean; after: boolean }>();
				images.forEach((img, j) => {
					const v = verdict.get(img.index) ?? { before: false, after: false };
					if (img.before) v.before = passes[j] as boolean;
					else v.after = passes[j] as boolean;
					verdict.set(img.index, v);
				});
				for (const [i, v] of verdict) routed[i] = routeChange(changes[i] as RowChange, v.before, v.after);
			}
		}
		// A table with images older than one of its mapped columns (completeImage) is applied change
		// by change in this group: compaction's REPLACE would reset the column an update lacks.
		const incomplete = new Set<string>();
		for (const c of changes) {
			const k = tableKey(c.table);
			const table = resolved.get(k);
			if (table && (!completeImage(table, c.before) || !completeImage(table, c.after))) incomplete.add(k);
		}
		const referencing = await this.referencingKeys();
		const batches = new Map<string, TableBatch | OrderedBatch>();
		const items: BatchItem[] = [];
		const takeBatches = () => {
			for (const b of batches.values()) for (const item of b.take()) items.push(item);
			batches.clear();
		};
		let keys: Set<string> | null = withKeys ? new Set() : null;
		for (let i = 0; i < changes.length; i++) {
			const original = changes[i] as RowChange;
			const k = tableKey(original.table);
			const table = resolved.get(k);
			if (!table) continue;
			if (keys) {
				conflictKeys(table, original.before, keys);
				conflictKeys(table, original.after, keys);
			}
			const change = routed[i];
			const children = referencing.get(referencedKey(table.mapping.destination));
			const cascade = mayCascade(children, original)
				? cascadeItems(table, children as ReferencingKey[], original, mode)
				: [];
			if (cascade.length > 0) {
				// In source order around it (cascades.ts), and alone: the children it touches are no key of its group.
				takeBatches();
				keys = null;
				if (change) {
					const single = this.newBatch(table, mode, incomplete.has(k));
					single.add(change);
					items.push(...single.take());
				}
				items.push(...cascade);
				continue;
			}
			if (!change) continue;
			let batch = batches.get(k);
			if (!batch) {
				batch = this.newBatch(table, mode, incomplete.has(k));
				batches.set(k, batch);
			}
			batch.add(change);
		}
		takeBatches();
		return { items, keys };
	}

	// --- Execution

	/**
	 * Runs statements on a worker, in as few packets as `max_allowed_packet` allows. With
	 * `begin`, the transaction starts with the checkpoint (its position known: `commit` given) or
	 * else the stream's mark, unless `mark` is false; with `commit`, COMMIT goes in the last
	 * packet, after the checkpoint if it was not written first. Returns the inconsistencies the
	 * checks found.
	 */
	private async execute(
		w: Worker,
		items: BatchItem[],
		begin: boolean,
		commit: { position: SourcePosition | null; commitTime: number | null } | null,
		mark = true,
	): Promise<Inconsistency[]> {
		const statements: { sql: string; check?: BatchItem["check"] }[] = [];
		const checkpoint = commit?.position
			? checkpointSql(this.options.stream, commit.position, commit.commitTime, this.opts.metaDatabase)
			: null;
		let checkpointWritten = false;
		if (begin) {
			statements.push({ sql: "START TRANSACTION" });
			if (checkpoint) {
				statements.push({ sql: checkpoint });
				checkpointWritten = true;
			} else if (mark) {
				statements.push({ sql: markSql(this.options.stream, this.opts.metaDatabase) });
			}
		}
		for (const item of items) statements.push(item);
		if (commit) {
			if (checkpoint && !checkpointWritten) statements.push({ sql: checkpoint });
			statements.push({ sql: "COMMIT" });
		}
		const found: Inconsistency[] = [];
		let i = 0;
		while (i < statements.length) {
			let size = 0;
			let j = i;
			while (j < statements.length && (j === i || size + (statements[j]?.sql.length ?? 0) < this.packetBytes)) {
				size += (statements[j]?.sql.length ?? 0) + 2;
				j++;
			}
			const packet = statements.slice(i, j);
			const [result] = await w.conn.query(packet.map((s) => s.sql).join(";\n"));
			const results = packet.length === 1 ? [result] : (result as unknown[]);
			packet.forEach((s, n) => {
				if (s.check) for (const x of s.check(results[n])) found.push(x);
			});
			i = j;
		}
		return found;
	}

	private async takeWorker(): Promise<Worker> {
		for (;;) {
			this.throwIfFailed();
			const w = this.free.pop();
			if (w) return w;
			await new Promise<void>((resolve) => this.freeWaiters.push(resolve));
		}
	}

	private release(w: Worker): void {
		this.free.push(w);
		const waiter = this.freeWaiters.shift();
		waiter?.();
	}

	private wakeAll(): void {
		for (const waiter of this.freeWaiters.splice(0)) waiter();
	}

	private epochChanged(epoch: number): Promise<void> {
		if (this.epoch !== epoch) return Promise.resolve();
		return new Promise((resolve) => this.epochWaiters.push(resolve));
	}

	private bumpEpoch(seq: number): void {
		this.failedSeq = Math.min(this.failedSeq, seq);
		this.epoch += 1;
		for (const w of this.epochWaiters.splice(0)) w();
	}

	private committed(g: Group, found: Inconsistency[]): void {
		const s = this.stats;
		s.transactions += g.transactions;
		s.rows += g.rows;
		s.bytes += g.bytes;
		s.commits += 1;
		if (g.commitTime !== null) s.lastCommitTime = g.commitTime;
		if (g.position) s.position = g.position;
		s.mode = this.modeAt(s.position);
		if (found.length) {
			s.inconsistencies += found.length;
			const report =
				this.options.onInconsistency ??
				((x: Inconsistency) =>
					logger.warn("replay inconsistency", {
						table: `${x.table.database}.${x.table.table}`,
						kind: x.kind,
						key: x.key,
						detail: x.detail,
					}));
			for (const x of found) report(x);
		}
		this.options.onCommit?.(this.progress);
	}

	/** Commits the open group: in flight on a free worker (returns once dispatched), or on the exclusive one. */
	private async flush(): Promise<void> {
		const g = this.group;
		this.group = new Group();
		if (g.streaming) {
			const w = this.exclusive as Worker;
			const prepared = await this.prepare(g.changes, g.mode, false);
			g.changes = [];
			const found = await this.execute(w, prepared.items, false, g);
			this.exclusive = null;
			this.release(w);
			this.committed(g, found);
			return;
		}
		const prepared = await this.prepare(g.changes, g.mode, this.opts.parallel > 1);
		g.changes = [];
		await this.dispatch(prepared, g);
	}

	/** Writes the open group's changes into its destination transaction without committing (a large transaction). */
	private async flushPart(): Promise<void> {
		let g = this.group;
		if (!g.streaming && g.boundaryIndex > 0) {
			// Complete transactions ahead of the large one commit first, as a group of their own.
			const rest = new Group();
			rest.changes = g.changes.slice(g.boundaryIndex);
			rest.rows = rest.changes.length;
			rest.mode = g.mode;
			rest.atBoundary = false;
			rest.startedAt = g.startedAt;
			g.changes = g.changes.slice(0, g.boundaryIndex);
			g.rows = g.changes.length;
			await this.flush();
			this.group = rest;
			g = rest;
		}
		let begin = false;
		if (!g.streaming) {
			await this.drain();
			this.exclusive = await this.takeWorker();
			g.streaming = true;
			begin = true;
		}
		const prepared = await this.prepare(g.changes, g.mode, false);
		g.changes = [];
		g.boundaryIndex = 0;
		try {
			await this.execute(this.exclusive as Worker, prepared.items, begin, null);
		} catch (err) {
			this.failure ??= err;
			throw err;
		}
	}

	/** A transaction cut off by the end of the input: its destination transaction is rolled back. */
	private async abandonOpenTransaction(): Promise<void> {
		const g = this.group;
		if (g.streaming) {
			// Complete transactions written into the same destination transaction go too: the
			// checkpoint does not cover them, so capture delivers them again.
			this.group = new Group();
			if (this.exclusive) {
				await this.exclusive.conn.query("ROLLBACK");
				this.release(this.exclusive);
				this.exclusive = null;
			}
			return;
		}
		// The complete transactions of the group are applied; the partial one is dropped.
		g.changes = g.changes.slice(0, g.boundaryIndex);
		g.atBoundary = true;
		if (g.transactions > 0) await this.flush();
		else this.group = new Group();
	}

	/** Waits until every group in flight has committed. */
	private async drain(): Promise<void> {
		while (this.inflight.length > 0) {
			await Promise.allSettled(this.inflight.map((f) => f.committed));
		}
		this.throwIfFailed();
	}

	private async dispatch(prepared: Prepared, g: Group): Promise<void> {
		const w = await this.takeWorker();
		if (this.opts.parallel > 1) {
			for (const f of [...this.inflight]) {
				if (!f.done && conflicts(f.keys, prepared.keys)) await f.committed.catch(() => {});
			}
			this.throwIfFailed();
		}
		const prev = this.last;
		const flight = new Flight(++this.seq, prepared.keys);
		this.inflight.push(flight);
		this.last = flight;
		void this.runFlight(w, prepared, g, prev, flight).finally(() => {
			this.inflight = this.inflight.filter((f) => f !== flight);
			this.release(w);
		});
	}

	private async runFlight(w: Worker, prepared: Prepared, g: Group, prev: Flight | null, flight: Flight): Promise<void> {
		let attempts = 0;
		for (;;) {
			const epoch = this.epoch;
			let open = false;
			try {
				let found: Inconsistency[];
				if (!prev || prev.done) {
					if (prev) await prev.committed;
					open = true;
					found = await this.execute(w, prepared.items, true, g);
					open = false;
				} else {
					open = true;
					// no mark: it would wait for the predecessor's lock on the checkpoint row
					found = await this.execute(w, prepared.items, true, null, false);
					const outcome = await Promise.race([
						prev.committed.then(() => "go" as const),
						this.epochChanged(epoch).then(() => "retry" as const),
					]);
					if (outcome === "retry" && flight.seq > this.failedSeq) {
						// An earlier group failed and runs again: this one steps back so as not to hold locks it needs.
						await w.conn.query("ROLLBACK");
						open = false;
						await prev.committed;
						this.stats.retries += 1;
						continue;
					}
					await prev.committed;
					found = found.concat(await this.execute(w, [], false, g));
					open = false;
				}
				if (this.failedSeq === flight.seq) this.failedSeq = Number.POSITIVE_INFINITY;
				this.committed(g, found);
				flight.resolve();
				return;
			} catch (err) {
				// a failure between a cascade's SET foreign_key_checks = 1 and its reset leaves the session checking
				if (open) await w.conn.query("ROLLBACK; SET foreign_key_checks = 0").catch(() => {});
				const n = errno(err);
				if (n !== undefined && RETRYABLE.has(n) && ++attempts < MAX_ATTEMPTS && !this.failure) {
					this.stats.retries += 1;
					this.bumpEpoch(flight.seq);
					try {
						if (prev) await prev.committed;
					} catch (e) {
						flight.reject(e);
						return;
					}
					continue;
				}
				this.failure ??= err;
				flight.reject(err);
				this.wakeAll();
				return;
			}
		}
	}

	// --- DDL

	private async applyDdlPart(part: TransactionPart): Promise<void> {
		if (!this.group.empty) {
			if (this.group.atBoundary) await this.flush();
			else throw new ReplayError("a DDL statement arrived inside a multi-part transaction", "APPLY_FAILED");
		}
		await this.drain();
		const w = await this.takeWorker();
		try {
			const mode = this.modeFor();
			let rows: RowChange[] = [];
			const writeRows = async (commit: { position: SourcePosition | null; commitTime: number | null }) => {
				const prepared = await this.prepare(rows, mode, false);
				rows = [];
				return this.execute(w, prepared.items, true, commit);
			};
			const found: Inconsistency[] = [];
			for (const change of part.changes as Change[]) {
				if (change.kind !== "ddl") {
					rows.push(change);
					continue;
				}
				// Rows before a DDL in the same transaction commit ahead of it (the DDL would commit them anyway).
				if (rows.length) found.push(...(await writeRows({ position: null, commitTime: null })));
				const onDdl = this.options.onDdl;
				// the peer's replay ran it at the source of this stream: nothing to run here
				if (!onDdl && change.echo) continue;
				if (!onDdl) {
					throw new ReplayError(
						`DDL arrived (${change.sql.slice(0, 200)}) but the applier has no DDL handler`,
						"NO_DDL_HANDLER",
					);
				}
				await onDdl(change, { connection: w.conn, part });
				this.stats.ddl += 1;
				this.invalidate();
			}
			const g = new Group();
			g.mode = mode;
			if (part.final) {
				g.transactions = 1;
				// row changes only: a statement (ignored, or the peer's) is not one
				g.rows = part.changes.filter((c) => c.kind !== "ddl").length;
				g.bytes = part.bytes;
				g.commitTime = part.commitTime;
				g.position = part.position ?? null;
				if (part.position) this.assembled = part.position;
				found.push(...(await writeRows(g)));
				this.committed(g, found);
			} else if (rows.length) {
				found.push(...(await writeRows({ position: null, commitTime: null })));
			}
		} catch (err) {
			this.failure ??= err;
			throw err;
		} finally {
			this.release(w);
		}
	}
}
