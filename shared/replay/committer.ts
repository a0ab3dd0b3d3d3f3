import type mysql from "mysql2/promise";
import type { SourcePosition } from "../binlog/position.ts";
import type { BatchItem } from "./batch.ts";
import { checkpointStatements, markSql } from "./checkpoint.ts";
import type { Group } from "./group.ts";
import type { Prepared } from "./prepare.ts";
import type { Inconsistency } from "./statements.ts";

/**
 * Runs prepared groups on the destination connections (applier.ts explains the rules): each in
 * its own destination transaction with the checkpoint, commits in source order, groups whose
 * conflict keys do not meet on several connections at once, and a group that fails on a lock
 * wait, deadlock or duplicate key is run again (the later ones waiting to commit roll back too).
 */

const RETRYABLE = new Set([1205, 1213, 1062, 1020]);
const MAX_ATTEMPTS = 6;

function errno(err: unknown): number | undefined {
	return (err as { errno?: number })?.errno;
}

/** A destination connection that writes groups. */
export interface Worker {
	id: number;
	conn: mysql.Connection;
}

/** A group dispatched to a worker: `committed` settles when it commits or fails for good. */
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

/** Whether two groups' conflict keys meet (null: the group meets every other). */
function conflicts(a: Set<string> | null, b: Set<string> | null): boolean {
	if (!a || !b) return true;
	const [small, large] = a.size <= b.size ? [a, b] : [b, a];
	for (const k of small) if (large.has(k)) return true;
	return false;
}

export class Committer {
	readonly workers: Worker[] = [];
	private free: Worker[] = [];
	private freeWaiters: (() => void)[] = [];
	/** Groups dispatched and not yet committed (or failed). */
	inflight: Flight[] = [];
	private last: Flight | null = null;
	private seq = 0;
	private epoch = 0;
	private epochWaiters: (() => void)[] = [];
	private failedSeq = Number.POSITIVE_INFINITY;
	/** The first unrecoverable error: every later step throws it. */
	failure: unknown = null;
	private readonly failedInFlight = Promise.withResolvers<void>();
	/** Characters of statements sent in one packet, at most (from the server's max_allowed_packet). */
	packetBytes = 4 * 1024 * 1024;
	/**
	 * A statement as it runs under the lax mode (`BatchItem.lax`), in the destination's syntax:
	 * set by the applier once it has read the destination (destination-session.ts), before any
	 * statement runs.
	 */
	laxStatement: (sql: string) => string = (sql) => sql;

	constructor(
		/** The stream's name: its checkpoint row's key. */
		private readonly stream: string,
		private readonly metaDatabase: string,
		/** Destination connections applying groups at once. */
		private readonly parallel: number,
		/** Running totals: retries are counted here. */
		private readonly stats: { retries: number },
		/** Called once a group has committed, with the inconsistencies its checks found. */
		private readonly committed: (g: Group, found: Inconsistency[]) => void,
	) {}

	/** A connection that writes groups. */
	add(w: Worker): void {
		this.workers.push(w);
		this.free.push(w);
	}

	throwIfFailed(): void {
		if (this.failure) throw this.failure;
	}

	/**
	 * Settles once a group committing in the background has failed for good (`failure` holds the
	 * error): the applier waits for input racing it, so a quiet input does not hide the failure.
	 */
	get failed(): Promise<void> {
		return this.failedInFlight.promise;
	}

	/**
	 * Runs statements on a worker, in as few packets as `max_allowed_packet` allows. With
	 * `begin`, the transaction starts with the checkpoint (its position known: `commit` given) or
	 * else the stream's mark, unless `mark` is false; with `commit`, COMMIT goes in the last
	 * packet, after the checkpoint if it was not written first. Returns the inconsistencies the
	 * checks found.
	 */
	async execute(
		w: Worker,
		items: BatchItem[],
		begin: boolean,
		commit: { position: SourcePosition | null; commitTime: number | null } | null,
		mark = true,
	): Promise<Inconsistency[]> {
		const statements: { sql: string; check?: BatchItem["check"] }[] = [];
		const checkpoint = commit?.position
			? checkpointStatements(this.stream, commit.position, commit.commitTime, this.metaDatabase)
			: null;
		let checkpointWritten = false;
		if (begin) {
			statements.push({ sql: "START TRANSACTION" });
			if (checkpoint) {
				for (const sql of checkpoint) statements.push({ sql });
				checkpointWritten = true;
			} else if (mark) {
				statements.push({ sql: markSql(this.stream, this.metaDatabase) });
			}
		}
		for (const item of items) statements.push(item.lax ? { ...item, sql: this.laxStatement(item.sql) } : item);
		if (commit) {
			if (checkpoint && !checkpointWritten) for (const sql of checkpoint) statements.push({ sql });
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

	async takeWorker(): Promise<Worker> {
		for (;;) {
			this.throwIfFailed();
			const w = this.free.pop();
			if (w) return w;
			await new Promise<void>((resolve) => this.freeWaiters.push(resolve));
		}
	}

	release(w: Worker): void {
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

	/** Waits until every group in flight has committed. */
	async drain(): Promise<void> {
		while (this.inflight.length > 0) {
			await Promise.allSettled(this.inflight.map((f) => f.committed));
		}
		this.throwIfFailed();
	}

	async dispatch(prepared: Prepared, g: Group): Promise<void> {
		const w = await this.takeWorker();
		if (this.parallel > 1) {
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
				this.failedInFlight.resolve();
				return;
			}
		}
	}
}
