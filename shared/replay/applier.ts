import type mysql from "mysql2/promise";
import type { SourcePosition } from "../binlog/position.ts";
import { hasReached, includesTransaction } from "../binlog/position.ts";
import type { Change, RowChange, TransactionPart } from "../capture/change.ts";
import { type Connection, sever } from "../db/connect.ts";
import { logger } from "../observability.ts";
import type { ApplierDefaults, ApplierOptions, ApplyStats } from "./applier-options.ts";
import { applierDefaults, emptyStats } from "./applier-options.ts";
import { type Checkpoint, ensureMetaSchema, readCheckpoint } from "./checkpoint.ts";
import { Committer, type Worker } from "./committer.ts";
import { connectDestination, replaySessions } from "./destination-session.ts";
import { RowFilter } from "./filter.ts";
import { Group } from "./group.ts";
import { GroupStatements } from "./prepare.ts";
import { ReplayError } from "./replay-error.ts";
import { ReplayTables } from "./resolver.ts";
import type { Inconsistency, ReplayMode } from "./statements.ts";
import { addCounts, countDdl } from "./table-counts.ts";

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
 *   their first row (capture/reader-types.ts `skipEchoes`). A large transaction, whose position is
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
 *   written with multi-row statements (batch.ts), and the whole group (statements,
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
 *   zero and invalid dates allowed and backslash escapes, as in the copy, except for a statement
 *   writing ENUM's error value, which strict mode refuses and the source holds (batch.ts
 *   `BatchItem.lax`); READ COMMITTED, so no gap locks between parallel groups; time zone UTC.
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

const IDLE = Symbol("idle");
const FAILED = Symbol("failed");

function sleepImmediate(ms: number): Promise<typeof IDLE> {
	return new Promise((resolve) => {
		if (ms <= 0) setImmediate(() => resolve(IDLE));
		else setTimeout(() => resolve(IDLE), ms);
	});
}

export class Applier {
	private readonly opts: ApplierDefaults;
	private control: mysql.Connection | null = null;
	private readonly statements: GroupStatements;
	private readonly committer: Committer;
	private checkpoint: Checkpoint | null = null;
	private group = new Group();
	private exclusive: Worker | null = null;
	/** Position after the last transaction taken into a group (decides the mode of the next). */
	private assembled: SourcePosition | null = null;
	private exactReached = false;
	private skipping = false;
	private opened = false;
	private closed = false;
	private readonly stats: ApplyStats = emptyStats();

	constructor(private readonly options: ApplierOptions) {
		this.opts = applierDefaults(options);
		const filter = options.source ? new RowFilter(options.source) : null;
		const { mapping, source: capture, columnRule, onMappingChanged } = options;
		const tables = new ReplayTables(
			{ mapping, capture, columnRule, onMappingChanged },
			() => this.control as Connection,
		);
		this.statements = new GroupStatements(
			tables,
			filter,
			() => this.control as Connection,
			this.opts.statementBytes,
			options.exactChecks ?? true,
		);
		this.committer = new Committer(options.stream, this.opts.metaDatabase, this.opts.parallel, this.stats, (g, found) =>
			this.committed(g, found),
		);
	}

	/** The destination session ids of the connections that write groups (for operators: KILL, processlist). */
	get sessionIds(): number[] {
		return this.committer.workers.map((w) => w.conn.threadId ?? 0);
	}

	/** Connections applying groups (fixed for the applier's life: a change needs a new session), transactions per commit. */
	get tuning(): { parallel: number; groupTransactions: number } {
		return { parallel: this.opts.parallel, groupTransactions: this.opts.groupTransactions };
	}

	/** Source transactions per destination commit from the next group on (undefined: the default). */
	setGroupTransactions(n: number | undefined): boolean {
		const before = this.opts.groupTransactions;
		this.opts.groupTransactions = applierDefaults({ ...this.options, groupTransactions: n }).groupTransactions;
		return this.opts.groupTransactions !== before;
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
		this.control = await connectDestination(c, false);
		const { packetBytes, setup, laxStatement } = await replaySessions(this.control, this.opts.lockWaitTimeout);
		this.committer.packetBytes = packetBytes;
		this.committer.laxStatement = laxStatement;
		await setup(this.control);
		await ensureMetaSchema(this.control, this.opts.metaDatabase, this.options.stream);
		this.checkpoint = await readCheckpoint(this.control, this.options.stream, this.opts.metaDatabase);
		this.assembled = this.checkpoint?.position ?? null;
		this.stats.position = this.checkpoint?.position ?? null;
		this.stats.mode = this.modeAt(this.stats.position);
		for (let i = 0; i < this.opts.parallel; i++) {
			const conn = await connectDestination(c, true);
			await setup(conn);
			this.committer.add({ id: i, conn });
		}
		return this.checkpoint;
	}

	/** Closes every connection (an open destination transaction is rolled back by the server). */
	async close(): Promise<void> {
		if (this.closed) return;
		this.closed = true;
		const all = [...this.committer.workers.map((w) => w.conn), ...(this.control ? [this.control] : [])];
		await Promise.all(all.map((c) => c.end().catch(() => c.destroy())));
	}

	/**
	 * Fails every statement in flight and closes the connections at once: after a failure, or when
	 * the destination stopped answering (replication/probe.ts), whose statements would otherwise
	 * wait forever (db/connect.ts `sever`).
	 */
	sever(reason: string): void {
		this.closed = true;
		for (const w of this.committer.workers) sever(w.conn, reason);
		if (this.control) sever(this.control, reason);
	}

	/** Forgets what it knows of tables (after DDL, or when the rules change). */
	invalidate(): void {
		this.statements.invalidate();
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
		// A group committing in the background may fail while the input is quiet: the wait for
		// the next part ends with its error then, not once the source writes again.
		const failed = this.committer.failed.then(() => FAILED);
		const input = async (next: Promise<IteratorResult<TransactionPart>>) => {
			const r = await Promise.race([next, failed]);
			if (r === FAILED) this.committer.throwIfFailed();
			return r as IteratorResult<TransactionPart>;
		};
		try {
			let next = it.next();
			for (;;) {
				let r: IteratorResult<TransactionPart> | typeof IDLE;
				if (!this.group.empty && this.group.atBoundary) {
					r = await Promise.race([next, sleepImmediate(0)]);
					if (r === IDLE) {
						await this.flush();
						r = await input(next);
					}
				} else {
					r = await input(next);
				}
				if (r.done) break;
				this.committer.throwIfFailed();
				if (signal?.aborted) break;
				next = it.next();
				await this.accept(r.value);
				if (signal?.aborted) break;
			}
			if (!this.group.empty) {
				if (this.group.atBoundary) await this.flush();
				else await this.abandonOpenTransaction();
			}
			await this.committer.drain();
			this.committer.throwIfFailed();
			return this.progress;
		} catch (err) {
			this.committer.failure ??= err;
			await Promise.allSettled(this.committer.inflight.map((f) => f.committed));
			this.sever(`replay failed: ${(err as Error).message}`);
			throw err;
		} finally {
			void it.return?.()?.catch?.(() => {});
		}
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

	private committed(g: Group, found: Inconsistency[]): void {
		const s = this.stats;
		s.transactions += g.transactions;
		s.rows += g.rows;
		s.bytes += g.bytes;
		s.commits += 1;
		if (g.commitTime !== null) s.lastCommitTime = g.commitTime;
		if (g.position) s.position = g.position;
		addCounts(s.tables, g.counts);
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
			const prepared = await this.statements.prepare(g.take(), g.mode, false);
			const found = await this.committer.execute(w, prepared.items, false, g);
			this.exclusive = null;
			this.committer.release(w);
			this.committed(g, found);
			return;
		}
		const prepared = await this.statements.prepare(g.take(), g.mode, this.opts.parallel > 1);
		await this.committer.dispatch(prepared, g);
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
			await this.committer.drain();
			this.exclusive = await this.committer.takeWorker();
			g.streaming = true;
			begin = true;
		}
		const prepared = await this.statements.prepare(g.take(), g.mode, false);
		g.boundaryIndex = 0;
		try {
			await this.committer.execute(this.exclusive as Worker, prepared.items, begin, null);
		} catch (err) {
			this.committer.failure ??= err;
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
				this.committer.release(this.exclusive);
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

	// --- DDL

	private async applyDdlPart(part: TransactionPart): Promise<void> {
		if (!this.group.empty) {
			if (this.group.atBoundary) await this.flush();
			else throw new ReplayError("a DDL statement arrived inside a multi-part transaction", "APPLY_FAILED");
		}
		await this.committer.drain();
		const w = await this.committer.takeWorker();
		try {
			const mode = this.modeFor();
			let rows: RowChange[] = [];
			const writeRows = async (commit: { position: SourcePosition | null; commitTime: number | null }) => {
				const prepared = await this.statements.prepare(rows, mode, false);
				rows = [];
				return this.committer.execute(w, prepared.items, true, commit);
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
				countDdl(this.stats.tables, change);
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
			this.committer.failure ??= err;
			throw err;
		} finally {
			this.committer.release(w);
		}
	}
}
