import type { SourcePosition } from "../binlog/position.ts";
import type { TableName } from "../model/rules.ts";
import type { DdlChange, EchoMarks, TransactionPart } from "./change.ts";

/** What a binlog reader promises its consumer (reader.ts describes how it behaves): its options, its counters, its interface. */

export interface BinlogReaderOptions {
	/** Where to start: a position from `currentPosition` or a final part, or "now". */
	from: SourcePosition | "now";
	/** The replica server id the binlog connection announces; unique among the source's replicas. */
	serverId: number;
	/** Tables to capture (default: all). Applied before rows are decoded. */
	include?: (t: TableName) => boolean;
	/**
	 * Statements to deliver (default: all). A statement's default database does not say which
	 * tables it touches (`ALTER TABLE other.t` may run anywhere), so the caller decides, typically
	 * after parsing it. A left-out statement still ends its transaction (an empty final part).
	 */
	includeDdl?: (ddl: DdlChange) => boolean;
	/** Skip what the replay these marks describe wrote (the peer stream's, for two-way sync). */
	skipEchoes?: EchoMarks;
	/** Changes per part at most (default 1000). */
	maxPartChanges?: number;
	/** Parts waiting for the consumer before the connection is paused (default 8). */
	maxBufferedParts?: number;
	/** Heartbeat the server sends when it has nothing else to send, seconds (default 2). */
	heartbeatSeconds?: number;
	/** Silence (no data, no heartbeat) after which the connection counts as dead, ms (default 5 heartbeats + 5 s). */
	stallTimeoutMs?: number;
}

export interface CaptureStats {
	/** Row changes delivered into parts. */
	rows: number;
	/** Transactions completed (final parts, coalesced empty ones included). */
	transactions: number;
	/** Binlog events seen (after filtering). */
	events: number;
	/** How often the connection was paused for back-pressure. */
	pauses: number;
	/** Transactions recognised as echoes (skipped, or a DDL statement flagged `echo`). */
	echoes: number;
	/** Marked transactions recognised too late to skip (a part had gone out): delivered. */
	lateEchoes: number;
}

export interface BinlogReader extends AsyncIterableIterator<TransactionPart> {
	next(): Promise<IteratorResult<TransactionPart, undefined>>;
	/** Stops reading and closes the connections. Parts not yet taken are dropped. */
	close(): Promise<void>;
	return(): Promise<IteratorResult<TransactionPart, undefined>>;
	/** Where this reader started (resolved when `from` was "now"). */
	readonly startedAt: SourcePosition;
	readonly flavor: "mariadb" | "mysql";
	readonly stats: CaptureStats;
}
