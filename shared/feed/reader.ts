import {
	addTransaction,
	compareFilePositions,
	type FeedCursor,
	hasReached,
	includesTransaction,
	type SourcePosition,
	samePosition,
} from "../binlog/position.ts";
import { tsoTime } from "../binlog/tso.ts";
import type { Change, DdlChange, RowImage, TransactionPart } from "../capture/change.ts";
import type { BinlogReaderOptions } from "../capture/reader-types.ts";
import type { Queryable } from "../db/connect.ts";
import { type ColumnInfo, describeColumns } from "../db/introspect.ts";
import type { KafkaCredentials } from "../model/datasource.ts";
import type { ChangeFeed } from "../model/feed.ts";
import { FeedError, type FeedFormat, type FeedRow, type FeedTransaction } from "./event.ts";
import { feedFormat } from "./formats.ts";
import { FeedMerge, type MergedTransaction } from "./merge.ts";
import { FeedPartitions } from "./partitions.ts";

/*
 * The second kind of capture: a change feed in Kafka read as the transaction parts a binlog
 * reader gives (shared/capture/change.ts), so replay, its checkpoints, safe mode, verification
 * and switchover work as for a binlog stream. Top to bottom: read every partition in rounds
 * (partitions.ts), decode each record (the feed's format, formats.ts), merge the partitions into
 * whole transactions in commit order (merge.ts), convert their values by the source table's
 * columns, and hand them out with a position that holds where to read each partition again.
 *
 * Positions: a TiCDC feed's is the commit TSO (`tso`); Ferry's own output carries the source's
 * GTIDs and binlog places, so its position is the source's, extended transaction by transaction
 * (`addTransaction`): comparing it with the source server's current position works as for a
 * binlog stream. Either way `feed` holds the cursor, and a session resumes from it.
 */

/** Records read from one partition in one round at most. */
const RECORDS_PER_ROUND = 2000n;

/** What a reader of changes gives the replication stream, binlog or feed. */
export interface ChangeReader extends AsyncIterable<TransactionPart> {
	close(): Promise<void>;
	readonly stats: { rows: number; transactions: number; echoes: number };
}

export interface FeedReaderOptions {
	feed: ChangeFeed;
	creds: KafkaCredentials;
	/** Where to start: the checkpoint (with its cursor), or the project's start position. */
	from: SourcePosition;
	/** The source database: its tables' columns type the values. */
	source: Queryable;
	include?: BinlogReaderOptions["include"];
	includeDdl?: BinlogReaderOptions["includeDdl"];
	/** Changes per part at most (default 1000). */
	maxPartChanges?: number;
	/** Pause after a round that read nothing, ms (default 100). */
	idleMs?: number;
	/** Least time between two idle position moves (a watermark, a synchronization's checkpoint), ms (default 1000). */
	idleMoveMs?: number;
}

export class FeedReader implements ChangeReader {
	readonly stats = { rows: 0, transactions: 0, echoes: 0, duplicates: 0, records: 0 };
	private closed = false;
	/** Where the last part handed out leaves the stream (the start until then). */
	private position: SourcePosition;
	private drained = false;
	private readonly columns = new Map<string, ColumnInfo[]>();
	private readonly format: FeedFormat;
	private readonly merge: FeedMerge;

	private constructor(
		private readonly options: FeedReaderOptions,
		private readonly partitions: FeedPartitions,
	) {
		this.format = feedFormat(options.feed);
		this.position = options.from;
		this.merge = new FeedMerge({
			completeness: this.format.completeness,
			partitions: partitions.partitions.map((p) => p.key),
			...(options.from.feed ? { cursor: options.from.feed } : {}),
			applied: (t) => isApplied(t, options.from),
		});
	}

	static async open(options: FeedReaderOptions): Promise<FeedReader> {
		return new FeedReader(options, await FeedPartitions.open(options.creds, options.feed.topics));
	}

	/**
	 * Where the source stands, as far as the feed tells: the position of the last part handed
	 * out once everything read so far has been handed out, else null (the stream is behind).
	 */
	head(): SourcePosition | null {
		return this.drained ? this.position : null;
	}

	async close(): Promise<void> {
		this.closed = true;
		await this.partitions.close();
	}

	async *[Symbol.asyncIterator](): AsyncIterator<TransactionPart> {
		const idleMs = this.options.idleMs ?? 100;
		let lastMove = 0;
		const sink = this.options.feed.synchronization;
		while (!this.closed) {
			const moveDue = Date.now() - lastMove >= (this.options.idleMoveMs ?? 1000);
			// read before the round: the round then reads every message committed with it
			const sent = sink && moveDue ? await this.partitions.sinkPosition(sink) : null;
			const { records: read, settled } = await this.readRound();
			const ready = this.merge.release();
			this.stats.duplicates = this.merge.duplicates;
			for (const t of ready) yield* this.parts(t);
			// handed out everything, and every partition was read to a settled end this round
			this.drained = this.merge.pending === 0 && settled;
			// an idle feed still moves: TiCDC's watermarks, or the synchronization's checkpoint, say
			// that nothing more was committed below them
			if (this.drained && moveDue) {
				lastMove = Date.now();
				const moved = this.options.from.tso !== undefined ? this.watermarkMove() : sent ? this.sinkMove(sent) : null;
				if (moved) yield moved;
			}
			if (read === 0 && ready.length === 0) await new Promise((r) => setTimeout(r, idleMs));
		}
	}

	/**
	 * One round: every partition read up to the last stable offset listed at its start, a bounded
	 * share each. Returns the records read, and whether every partition reached a settled end.
	 */
	private async readRound(): Promise<{ records: number; settled: boolean }> {
		this.merge.startRound();
		const ends = await this.partitions.ends();
		let records = 0;
		let settled = true;
		for (const p of this.partitions.partitions) {
			if (this.closed) return { records, settled: false };
			const end = ends.get(p.key);
			if (!end) {
				settled = false;
				continue;
			}
			const from = this.merge.startOffset(p.key) ?? end.earliest;
			if (from < end.earliest) {
				throw new FeedError(
					`partition ${p.partition} of topic '${p.topic}' no longer holds offset ${from} (its earliest is ${end.earliest}): the changes in between were deleted by the topic's retention before Ferry read them; raise the retention and start the migration again`,
				);
			}
			// a bounded share per round: a backlog is merged and handed out as it is read, not held whole
			const until = end.stable < from + RECORDS_PER_ROUND ? end.stable : from + RECORDS_PER_ROUND;
			const reached = await this.partitions.read(p, from, until, (record) => {
				records++;
				this.merge.add(p.key, record.offset, this.format.decode(record), record.value?.length ?? 0);
			});
			const atEnd = reached >= end.stable && end.settled;
			this.merge.readTo(p.key, reached, atEnd);
			settled &&= atEnd;
		}
		this.stats.records += records;
		return { records, settled };
	}

	/** A complete transaction as parts of at most `maxPartChanges` changes; the last carries its position. */
	private async *parts(t: MergedTransaction): AsyncGenerator<TransactionPart> {
		const max = this.options.maxPartChanges ?? 1000;
		const tx = t.transaction;
		const start = { file: tx.file ?? "", pos: tx.pos ?? 0 };
		let changes: Change[] = [];
		for (const event of t.events) {
			const change = event.kind === "ddl" ? this.ddl(event) : await this.row(event);
			if (!change) continue;
			changes.push(change);
			if (changes.length >= max) {
				yield {
					...(tx.gtid ? { gtid: tx.gtid } : {}),
					start,
					changes,
					final: false,
					commitTime: tx.commitTime,
					bytes: 0,
				};
				changes = [];
			}
		}
		this.position = this.after(tx, t.cursor);
		this.stats.transactions++;
		yield {
			...(tx.gtid ? { gtid: tx.gtid } : {}),
			start,
			changes,
			final: true,
			position: this.position,
			commitTime: tx.commitTime,
			bytes: t.bytes,
		};
	}

	private ddl(event: Extract<MergedTransaction["events"][number], { kind: "ddl" }>): DdlChange | null {
		const change: DdlChange = { kind: "ddl", database: event.database, sql: event.sql };
		if (this.options.includeDdl && !this.options.includeDdl(change)) return null;
		// the source's columns may have changed: read them again when next needed
		for (const id of this.columns.keys()) {
			if (id.startsWith(`${event.database}.`) && (!event.table || id === `${event.database}.${event.table}`)) {
				this.columns.delete(id);
			}
		}
		return change;
	}

	private async row(event: FeedRow): Promise<Change | null> {
		if (this.options.include && !this.options.include(event.table)) return null;
		if (event.op === "read") {
			// the migration's own copy holds the table as of its start; a snapshot after it may hide changes before it
			const { database, table } = event.table;
			throw new FeedError(
				`the change feed holds a snapshot of ${database}.${table} taken after the migration's start position: the changes to it between the two are not in the feed; start the migration again after the synchronization's snapshot has finished`,
			);
		}
		const columns = await this.tableColumns(event);
		const image = (raw: FeedRow["after"]): RowImage | undefined =>
			raw === undefined ? undefined : this.format.values(raw, columns, event);
		this.stats.rows++;
		return {
			kind: event.op,
			table: event.table,
			...(event.before ? { before: image(event.before) } : {}),
			...(event.after ? { after: image(event.after) } : {}),
		};
	}

	private async tableColumns(event: FeedRow): Promise<ColumnInfo[]> {
		const id = `${event.table.database}.${event.table.table}`;
		let columns = this.columns.get(id);
		if (!columns) {
			columns = await describeColumns(this.options.source, event.table);
			this.columns.set(id, columns);
		}
		return columns;
	}

	/** The stream's position after transaction `tx`, with the cursor to read the feed again from. */
	private after(tx: FeedTransaction, feed: FeedCursor): SourcePosition {
		if (tx.commitTs !== undefined) return { gtid: "", file: "", pos: 0, tso: tx.commitTs, feed };
		return {
			gtid: tx.gtid ? addTransaction(this.position.gtid, tx.gtid) : this.position.gtid,
			// just past the transaction's start: a transaction starting before it is applied (isApplied)
			file: tx.file ?? this.position.file,
			pos: tx.file !== undefined && tx.pos !== undefined ? tx.pos + 1 : this.position.pos,
			feed,
		};
	}

	/** An empty transaction moving a TiCDC stream up to its watermark, when the watermark has passed its position. */
	private watermarkMove(): TransactionPart | null {
		const low = this.merge.watermark();
		const at = this.position.tso === undefined ? null : BigInt(this.position.tso);
		if (low === null || at === null || low - 1n <= at) return null;
		return this.moveTo({ gtid: "", file: "", pos: 0, tso: (low - 1n).toString() }, tsoTime(low - 1n));
	}

	/**
	 * An empty transaction moving a stream of Ferry's output up to its synchronization's
	 * checkpoint: every transaction the synchronization sent up to there has been read and handed
	 * out, and the ones between it did not send.
	 */
	private sinkMove(sent: SourcePosition): TransactionPart | null {
		if (samePosition(sent, this.position) || !hasReached(sent, this.position)) return null;
		return this.moveTo({ gtid: sent.gtid, file: sent.file, pos: sent.pos }, Date.now());
	}

	private moveTo(position: SourcePosition, commitTime: number): TransactionPart {
		this.position = { ...position, feed: this.merge.cursor() };
		return { start: { file: "", pos: 0 }, changes: [], final: true, position: this.position, commitTime, bytes: 0 };
	}
}

/**
 * Whether a transaction is at the destination already, by the position the stream starts from:
 * at or below its TSO, in its GTID state, or (without GTIDs) starting before its binlog place.
 * A snapshot row of a synchronization carries no transaction of its own: the migration's copy
 * holds what it holds (a Debezium snapshot after the start is refused by the format's order).
 */
export function isApplied(t: FeedTransaction, from: SourcePosition): boolean {
	if (t.commitTs !== undefined || from.tso !== undefined) {
		// a TSO compares only with a TSO; without one on either side nothing is known applied
		return t.commitTs !== undefined && from.tso !== undefined && BigInt(t.commitTs) <= BigInt(from.tso);
	}
	if (t.gtid && from.gtid) return includesTransaction(from, t.gtid);
	if (t.file !== undefined && t.pos !== undefined && from.file) {
		return compareFilePositions({ gtid: "", file: t.file, pos: t.pos }, from) < 0;
	}
	return !t.gtid && t.file === undefined;
}
