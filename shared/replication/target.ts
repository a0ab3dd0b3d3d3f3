import type { SourcePosition } from "../binlog/position.ts";
import type { TransactionPart } from "../capture/change.ts";
import type { Project } from "../model/project.ts";
import type { TableName } from "../model/rules.ts";
import type { TableCounts } from "../replay/table-counts.ts";

/*
 * Where a replication stream writes. The stream (stream.ts) reads the source's binlog and hands
 * its transactions to a target; the target alone knows how to write them and how far it got.
 * The MySQL applier is the first target (mysql-target.ts); a message queue is meant to be
 * another, so nothing here assumes a database: no SQL, no DDL translation, no checkpoint table.
 * Choosing the target is the only place the stream knows what it writes to.
 */

/** How far a target got since it opened, as the stream reports it (status.ts). */
export interface TargetProgress {
	/** Source transactions the target holds (a queue: sent and acknowledged). */
	transactions: number;
	/** Their row changes. */
	rows: number;
	/** Their size in the source binlog (throughput). */
	bytes: number;
	/** Rows found not as the change expected them (MySQL exact mode); 0 for a target that cannot tell. */
	inconsistencies: number;
	/** Source commit time of the last transaction the target holds, epoch ms: latency. */
	lastCommitTime: number | null;
	/** The position after the last transaction the target holds: where the stream stands. */
	position: SourcePosition | null;
	/**
	 * "safe" while writes must be idempotent (the changes overlap the full copy), "exact" after;
	 * reported as the stream's phase. A target that writes every change as it comes is "exact".
	 */
	mode: "safe" | "exact";
	/** Per source table: the changes it holds (MySQL replay; table-counts.ts). */
	tables?: TableCounts;
	/** The runtime parameters the session applies with now (MySQL replay). */
	tuning?: ReplayTuning;
}

export interface ReplayTuning {
	parallelApply: number;
	replayBatchSize: number;
}

/** What a target did with changed project parameters: nothing to do, applied at once, or a new session needed. */
export type Retune = "unchanged" | "applied" | "restart";

export interface ReplicationTarget {
	/**
	 * Takes the project's runtime parameters as they are now (read every second by the status
	 * reporter): what can change live applies at once; "restart" asks the stream for a new
	 * session, which resumes from the checkpoint. Absent: the target has no such parameters.
	 */
	retune?(project: Project): Retune;
	/**
	 * Connects and returns the target's checkpoint: the position after the last source
	 * transaction it holds, null when it holds none yet. The stream resumes capture there, so the
	 * target must record it with the data it writes (MySQL: a row in the same transaction; a
	 * queue: in its own offset store, or with the messages): after a crash, nothing is lost or
	 * written twice.
	 */
	open(): Promise<SourcePosition | null>;
	/**
	 * Where the stream stands while the target holds no checkpoint: capture's start (the end of
	 * the full copy). A source untouched since then is caught up, and past the copy's end, before
	 * any transaction arrives.
	 */
	startAt(position: SourcePosition): void;
	/**
	 * Whether the target takes rows of a source table. Capture decodes the rows of these tables
	 * only, so the answer must include tables the rules will take once created.
	 */
	captures(table: TableName): boolean;
	/**
	 * Sends what must go before the first change, while the stream reports (a synchronization
	 * project's snapshot, shared/sinks/snapshot.ts); the binlog is read only after it.
	 */
	snapshot?(signal: AbortSignal): Promise<void>;
	/**
	 * Writes the transaction parts in source order (row changes and DDL; TransactionPart says
	 * how a large transaction is cut) until they end or `signal` aborts, then waits for what it
	 * started. It takes the stream rather than one part at a time because a target batches across
	 * transactions (group commit, a producer's batch) and must notice the input pausing to flush.
	 * Rejects on an error it cannot recover from; a FatalReplicationError (replay/fatal.ts) stops
	 * the stream for a person to decide, any other error ends the session, and the next one resumes
	 * from `open`'s checkpoint.
	 */
	run(parts: AsyncIterable<TransactionPart>, signal: AbortSignal): Promise<void>;
	/** Running totals since `open` (a copy): the stream's status report reads them every second. */
	readonly progress: TargetProgress;
	/**
	 * Fails what it has in flight on its server at once and closes its connections, when that
	 * server stopped answering (probe.ts): its statements would otherwise wait forever. Absent: the
	 * target bounds its own requests (a broker client's timeouts).
	 */
	sever?(reason: string): void;
	/** Closes its connections; what it has not committed is dropped (and delivered again from the checkpoint). */
	close(): Promise<void>;
}
