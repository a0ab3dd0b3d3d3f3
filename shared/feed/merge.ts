import type { FeedCursor } from "../binlog/position.ts";
import type { FeedDdl, FeedEvent, FeedFormat, FeedRow, FeedTransaction } from "./event.ts";

/*
 * A change feed's partitions into one stream of whole transactions in commit order. Kafka keeps
 * order within a partition only, and a source transaction's rows are spread over partitions by
 * key, so events are held per transaction until the transaction is complete:
 *
 * - "watermarks" (TiCDC): a partition's watermark promises that everything ordered below it was
 *   written to it before; a transaction is complete once every partition's watermark is above
 *   its commit TSO. TiCDC delivers at least once, so an event seen twice in a transaction, or a
 *   transaction at or below what was already released, is a duplicate and dropped.
 * - "transactions" (Ferry's Kafka output): a source transaction is committed in one Kafka
 *   transaction, and Ferry writes each partition in source order. So a transaction is whole in a
 *   partition once that partition has given an event of a later transaction, or has been read
 *   to a last stable offset listed after the transaction was first seen (it was committed by
 *   then). Nothing is delivered twice: no deduplication (two identical updates in one
 *   transaction are both real).
 *
 * Pure: the reader (reader.ts) feeds it records and rounds; tests call it directly.
 */

/** A complete transaction, its events in the order to apply them. */
export interface MergedTransaction {
	transaction: FeedTransaction;
	events: (FeedRow | FeedDdl)[];
	/** Size of its records' values (throughput), shared out when a record holds several events. */
	bytes: number;
	/**
	 * Where to read again once it is applied: past its records, but not past those of the
	 * transactions still held or released after it (`release`).
	 */
	cursor: FeedCursor;
}

interface HeldEvent {
	event: FeedRow | FeedDdl;
	partition: string;
	offset: bigint;
	/** Arrival order, which breaks ties when the message names no row index. */
	seq: number;
}

interface Held {
	transaction: FeedTransaction;
	events: HeldEvent[];
	fingerprints: Set<string>;
	/** The reading round the transaction was first seen in. */
	round: number;
	bytes: number;
}

export interface MergeOptions {
	completeness: FeedFormat["completeness"];
	/** Every partition read ('topic:partition'). */
	partitions: readonly string[];
	/**
	 * Where an earlier session stopped (the checkpoint's cursor). Its offsets only: a watermark
	 * counts once its partition has been read up to it in this session, or a transaction below it
	 * could be released before all its rows are read again (TiCDC sends watermarks every second).
	 */
	cursor?: FeedCursor;
	/** Whether a transaction is already at the destination (at or before the checkpoint, or the copy's start). */
	applied: (t: FeedTransaction) => boolean;
}

export class FeedMerge {
	private readonly held = new Map<string, Held>();
	private readonly watermarks = new Map<string, bigint>();
	/** Per partition, the offset after the last record added. */
	private readonly next = new Map<string, bigint>();
	/** Per partition, the order of the last transaction it gave an event of ("transactions"). */
	private readonly lastOrder = new Map<string, bigint>();
	/** Per partition, the round whose last stable offset it was last read to. */
	private readonly reachedRound = new Map<string, number>();
	private round = 0;
	private seq = 0;
	/** The order of the last transaction released: anything at or below it is behind the stream. */
	private released: bigint | null = null;
	/** Events dropped as duplicates (or already applied). */
	duplicates = 0;

	constructor(private readonly options: MergeOptions) {
		for (const [partition, offset] of Object.entries(options.cursor?.offsets ?? {})) {
			this.next.set(partition, BigInt(offset));
		}
	}

	/** A reading round starts: the partitions' last stable offsets have just been listed. */
	startRound(): void {
		this.round++;
	}

	/**
	 * `partition` has been read up to `offset` (past control records that hold no event), and to
	 * the last stable offset listed for this round when `atEnd`.
	 */
	readTo(partition: string, offset: bigint, atEnd: boolean): void {
		if (offset > (this.next.get(partition) ?? -1n)) this.next.set(partition, offset);
		if (atEnd) this.reachedRound.set(partition, this.round);
	}

	/** One record's events, in the record's order. `bytes` is the record's size. */
	add(partition: string, offset: bigint, events: readonly FeedEvent[], bytes: number): void {
		this.next.set(partition, offset + 1n);
		const share = events.length === 0 ? 0 : bytes / events.length;
		for (const event of events) {
			if (event.kind === "watermark") {
				const mark = this.watermarks.get(partition);
				if (mark === undefined || event.order > mark) this.watermarks.set(partition, event.order);
				continue;
			}
			const t = event.transaction;
			const last = this.lastOrder.get(partition);
			if (last === undefined || t.order > last) this.lastOrder.set(partition, t.order);
			if ((this.released !== null && t.order <= this.released) || this.options.applied(t)) {
				this.duplicates++;
				continue;
			}
			let held = this.held.get(t.id);
			if (!held) {
				held = { transaction: t, events: [], fingerprints: new Set(), round: this.round, bytes: 0 };
				this.held.set(t.id, held);
			}
			// Ferry writes a statement to every partition of its table's topic (and to every topic of
			// its database): one transaction runs it once
			const ddlCopy = event.kind === "ddl" && this.options.completeness === "transactions";
			if (this.options.completeness === "watermarks" || ddlCopy) {
				// TiDB writes one version of a key per transaction: the same event twice is a resend
				const fingerprint = ddlCopy
					? `ddl:${event.kind === "ddl" ? `${event.database}\u0000${event.sql}` : ""}`
					: JSON.stringify(event, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
				if (held.fingerprints.has(fingerprint)) {
					this.duplicates++;
					continue;
				}
				held.fingerprints.add(fingerprint);
			}
			held.events.push({ event, partition, offset, seq: this.seq++ });
			held.bytes += share;
		}
	}

	/** The lowest watermark over all partitions: null while a partition has given none. */
	watermark(): bigint | null {
		let low: bigint | null = null;
		for (const partition of this.options.partitions) {
			const mark = this.watermarks.get(partition);
			if (mark === undefined) return null;
			if (low === null || mark < low) low = mark;
		}
		return low;
	}

	/** Transactions held that are not complete yet. */
	get pending(): number {
		return this.held.size;
	}

	/** The transactions now complete, in commit order; they leave the merge. */
	release(): MergedTransaction[] {
		const limit = this.completeUpTo();
		if (limit === null) return [];
		const ready = [...this.held.values()]
			.filter((h) => h.transaction.order <= limit)
			.sort((a, b) =>
				a.transaction.order < b.transaction.order ? -1 : a.transaction.order > b.transaction.order ? 1 : 0,
			);
		for (const h of ready) this.held.delete(h.transaction.id);
		const last = ready.at(-1);
		if (last) this.released = last.transaction.order;
		// a transaction's checkpoint is written before the ones released after it are applied: a
		// session resuming from its cursor must read their records again
		let cursor = this.cursor();
		const merged: MergedTransaction[] = [];
		for (const h of [...ready].reverse()) {
			merged.push({
				transaction: h.transaction,
				events: h.events.sort(byPlace).map((e) => e.event),
				bytes: Math.round(h.bytes),
				cursor,
			});
			cursor = withEvents(cursor, h.events);
		}
		return merged.reverse();
	}

	/** The highest order up to which every transaction is complete, or null. */
	private completeUpTo(): bigint | null {
		if (this.options.completeness === "watermarks") {
			const low = this.watermark();
			// "every event below the watermark was written": a transaction at it may still be arriving
			return low === null ? null : low - 1n;
		}
		// the latest transaction whole in every partition: earlier ones were committed before it
		const held = [...this.held.values()].sort((a, b) => (a.transaction.order > b.transaction.order ? -1 : 1));
		const whole = held.find((h) =>
			this.options.partitions.every(
				(p) => (this.lastOrder.get(p) ?? -1n) > h.transaction.order || (this.reachedRound.get(p) ?? 0) > h.round,
			),
		);
		return whole ? whole.transaction.order : null;
	}

	/**
	 * Where to read each partition again after the transactions released so far: the first
	 * record holding an event still held, else the record after the last one read.
	 */
	cursor(): FeedCursor {
		const offsets: Record<string, string> = {};
		for (const [partition, next] of this.next) offsets[partition] = next.toString();
		return withEvents(
			{ offsets },
			[...this.held.values()].flatMap((h) => h.events),
		);
	}

	/** Where to start reading a partition: the cursor's offset, or undefined (from the earliest). */
	startOffset(partition: string): bigint | undefined {
		return this.next.get(partition);
	}
}

/** The cursor moved back, where needed, to read `events` again. */
function withEvents(cursor: FeedCursor, events: readonly HeldEvent[]): FeedCursor {
	const offsets = { ...cursor.offsets };
	for (const e of events) {
		const at = offsets[e.partition];
		if (at === undefined || e.offset < BigInt(at)) offsets[e.partition] = e.offset.toString();
	}
	return { ...cursor, offsets };
}

/** A transaction's events by the row index the message gives, then as they arrived. */
function byPlace(a: HeldEvent, b: HeldEvent): number {
	const ai = a.event.kind === "row" ? a.event.index : undefined;
	const bi = b.event.kind === "row" ? b.event.index : undefined;
	if (ai !== undefined && bi !== undefined && ai !== bi) return ai - bi;
	return a.seq - b.seq;
}
