import type { SourcePosition } from "../binlog/position.ts";
import type { Change, DdlChange, RowChange, RowImage, TransactionPart } from "../capture/change.ts";
import { type Connection, type Pool, sever } from "../db/connect.ts";
import { type ObjectRules, rulesForDatabase, type TableMapping, type TableName } from "../model/rules.ts";
import type { SyncOptions } from "../model/sync.ts";
import { logger } from "../observability.ts";
import { RowFilter, routeChange } from "../replay/filter.ts";
import { addCounts, countDdl, countRows, type TableCounts } from "../replay/table-counts.ts";
import type { ReplicationTarget, TargetProgress } from "../replication/target.ts";
import { type DdlEvent, dedupKey, type EventSource, type RowEvent } from "./event.ts";
import { ddlEvent } from "./events.ts";
import type { Format, SinkMessage } from "./formats/format.ts";
import { IdleAwareIterator } from "./idle.ts";
import type { BrokerMessage, SinkCheckpoint, SinkProducer } from "./producer.ts";
import {
	inSnapshot,
	openConsistentSnapshot,
	pastSnapshot,
	readTable,
	type SnapshotProgress,
	tableId,
} from "./snapshot.ts";
import { type SyncTable, SyncTables } from "./tables.ts";
import { ddlRouting, rowRouting, safeTopic, topicFor } from "./topics.ts";

/** A batch commits at a source transaction boundary once it holds this many messages ... */
const COMMIT_MESSAGES = 5_000;
/** ... or once its first message waited this long. */
const COMMIT_AFTER_MS = 200;
/** Messages handed to the producer at once. */
const SEND_MESSAGES = 1_000;
/** Snapshot rows read at once. */
const SNAPSHOT_BATCH = 2_000;

export interface SinkTargetSetup {
	/** The source capture reads (table descriptions, row filters). */
	source: Pool;
	/** A connection of its own for the snapshot (full synchronization), held open in its consistent snapshot. */
	snapshotConnection: () => Promise<Connection>;
	/** The tables the rules chose when the session opened, in order: what the snapshot reads. */
	resolve: () => Promise<TableMapping[]>;
	rules: ObjectRules;
	producer: SinkProducer;
	format: Format;
	options: SyncOptions;
	/** The broker's kind: which characters its topic names take. */
	broker: "kafka" | "rocketmq";
	/** The project's types: "full" sends a snapshot first, "incremental" the binlog after it. */
	full: boolean;
	incremental: boolean;
	/** The source's @@server_id (events' source). */
	serverId: number;
}

/**
 * A replication target that sends each change as messages to Kafka or RocketMQ (a
 * synchronization project). The data path, top to bottom:
 *
 *   open      the producer returns the checkpoint it holds; without a finished snapshot (and a
 *             "full" project) a consistent snapshot opens, and capture starts at its position
 *   snapshot  each table's rows, one broker transaction per table (snapshot.ts)
 *   run       each transaction part: rows of chosen tables, through the row filter, as events;
 *             events through the format into messages, routed to topic and partition; a batch
 *             of whole source transactions is committed with the position after it
 *
 * The checkpoint goes with the messages (Kafka: in the same transaction), so a killed task
 * resumes exactly where the broker's committed messages end.
 */
export class SinkTarget implements ReplicationTarget {
	private readonly tables: SyncTables;
	private readonly filter: RowFilter;
	private checkpoint: SinkCheckpoint | null = null;
	private snapshotAt: SourcePosition | null = null;
	private snapshotConn: Connection | null = null;
	private totals: TargetProgress = {
		transactions: 0,
		rows: 0,
		bytes: 0,
		inconsistencies: 0,
		lastCommitTime: null,
		position: null,
		mode: "exact",
	};
	/** Topics messages went to: heartbeats go to each of their partitions. */
	private readonly topics = new Set<string>();
	/** Each table's topic (destination "database.table"), worked out once: routing runs per message. */
	private readonly tableTopics = new Map<string, string>();
	/** The topics of each database's tables so far: a statement on a whole database goes to each. */
	private readonly databaseTopics = new Map<string, Set<string>>();
	private pending: BrokerMessage[] = [];
	/**
	 * The send in flight: the next messages are captured and encoded while the broker takes it.
	 * One at a time, in order; its failure surfaces at the next flush or commit.
	 */
	private sending: Promise<void> = Promise.resolve();
	private uncommitted = 0;
	/** Messages sent or pending since the last commit. */
	private batchMessages = 0;
	private batchSince = 0;
	private lastSentAt = Date.now();
	/** A source transaction's "begin" went to the format and its "end" has not yet (Format.transaction). */
	private inTransaction = false;
	/** Per source table, the changes whose messages the broker holds (table-counts.ts), and those sent since the last commit. */
	private readonly counts: TableCounts = {};
	private pendingCounts: TableCounts = {};

	constructor(private readonly s: SinkTargetSetup) {
		this.tables = new SyncTables(s.source, s.rules);
		this.filter = new RowFilter(s.source);
	}

	get progress(): TargetProgress {
		return { ...this.totals, tables: this.counts };
	}

	async open(): Promise<SourcePosition | null> {
		this.checkpoint = await this.s.producer.open();
		const snapshot = this.snapshotProgress();
		if (this.s.full && !snapshot?.complete) {
			this.snapshotConn = await this.s.snapshotConnection();
			this.snapshotAt = await openConsistentSnapshot(this.snapshotConn);
			this.totals.mode = "safe";
			// the first snapshot's position is where streaming starts: later tables' changes after it are filtered
			return this.checkpoint?.position ?? this.snapshotAt;
		}
		return this.checkpoint?.position ?? null;
	}

	startAt(position: SourcePosition): void {
		this.totals.position ??= position;
	}

	captures(table: TableName): boolean {
		return this.tables.captures(table);
	}

	private snapshotProgress(): SnapshotProgress | undefined {
		return this.checkpoint?.snapshot as SnapshotProgress | undefined;
	}

	/** Sends the snapshot (full synchronization) before any change: the stream calls it after `open`. */
	async snapshot(signal: AbortSignal): Promise<void> {
		const at = this.snapshotAt;
		const conn = this.snapshotConn;
		if (!at || !conn) return;
		const progress: SnapshotProgress = this.snapshotProgress() ?? { tables: {}, complete: false, rows: 0 };
		const start = this.checkpoint?.position ?? at;
		const tables = (await this.s.resolve()).filter((m) => !progress.tables[tableId(m.source)]);
		const takenAt = Date.now();
		for (const [i, mapping] of tables.entries()) {
			const table = await this.tables.get(mapping.source);
			if (!table) continue;
			let held: RowEvent | null = null;
			let first = true;
			const emit = async (event: RowEvent) => {
				const messages = this.s.format.row(event);
				await this.queue(this.route(table, messages, event.source));
			};
			const floats = new Set(
				table.mapping.columns
					.filter((m) => table.table.columns.find((c) => c.name === m.destination)?.dataType === "float")
					.map((m) => m.source),
			);
			await readTable(
				conn,
				table.mapping,
				floats,
				SNAPSHOT_BATCH,
				async (rows) => {
					for (const row of rows) {
						if (held) await emit(held);
						const source: EventSource = {
							file: at.file,
							pos: at.pos,
							...(at.gtid ? { gtid: at.gtid } : {}),
							rowIndex: progress.rows++,
							commitTime: takenAt,
							serverId: this.s.serverId,
							snapshot: progress.rows === 1 ? "first" : first ? "first_in_data_collection" : "true",
						};
						first = false;
						held = { kind: "row", op: "read", table: table.table, after: project(row, table.mapping), source };
						this.totals.rows += 1;
					}
					await this.flush();
				},
				signal,
			);
			if (held) {
				const last = held as RowEvent;
				if (i === tables.length - 1) last.source.snapshot = "last";
				else if (last.source.snapshot === "true") last.source.snapshot = "last_in_data_collection";
				await emit(last);
			}
			progress.tables[tableId(mapping.source)] = at;
			progress.complete = i === tables.length - 1;
			await this.commit({ position: start, snapshot: { ...progress, tables: { ...progress.tables } } });
		}
		if (!progress.complete) {
			progress.complete = true;
			await this.commit({ position: start, snapshot: progress });
		}
		await conn.query("COMMIT").catch(() => {});
		this.snapshotAt = null;
		this.totals.mode = "exact";
	}

	async run(parts: AsyncIterable<TransactionPart>, signal: AbortSignal): Promise<void> {
		const iterator = new IdleAwareIterator(parts[Symbol.asyncIterator]());
		let rowIndex = 0;
		const idleMs = Math.min(COMMIT_AFTER_MS, this.s.options.heartbeatIntervalMs || COMMIT_AFTER_MS);
		while (!signal.aborted) {
			const next = await iterator.next(idleMs);
			if (next === "idle") {
				// never commit in the middle of a source transaction: a Kafka transaction holds whole ones
				if (this.inTransaction) continue;
				if (this.uncommitted > 0 && this.totals.position) await this.commitAt(this.totals.position);
				else await this.heartbeatIfIdle();
				continue;
			}
			if (next.done) break;
			const part = next.value;
			if (this.s.incremental) rowIndex = await this.sendPart(part, rowIndex);
			this.totals.bytes += part.final ? part.bytes : 0;
			if (!part.final) continue;
			rowIndex = 0;
			this.totals.transactions += 1;
			this.totals.lastCommitTime = part.commitTime;
			const position = part.position as SourcePosition;
			this.totals.position = position;
			this.uncommitted += 1;
			if (this.batchMessages >= COMMIT_MESSAGES || Date.now() - this.batchSince >= COMMIT_AFTER_MS) {
				await this.commitAt(position);
			}
		}
	}

	/**
	 * The part's changes as messages; returns the transaction's next row index. The events are
	 * built first so that the last one of a transaction is known (Maxwell's `commit: true`).
	 */
	private async sendPart(part: TransactionPart, rowIndex: number): Promise<number> {
		const ops = new Set(this.s.options.operations);
		const snapshot = this.snapshotProgress();
		const events: (
			| { event: RowEvent; table: SyncTable; change: Change }
			| { event: DdlEvent; table: TableName | undefined; change: Change }
		)[] = [];
		for (const change of part.changes) {
			const index = rowIndex++;
			if (change.kind === "ddl") {
				if (change.echo) continue;
				const event = ddlEvent(change, part, index, this.s.serverId);
				this.tables.forget(event.database, event.table);
				this.filter.invalidate();
				const table = event.table ? { database: event.database, table: event.table } : undefined;
				if (!ops.has("ddl") || (table && inSnapshot(snapshot, table, part.start))) continue;
				if (table ? !this.tables.captures(table) : !this.databaseChosen(event.database)) continue;
				events.push({ event, table, change });
				continue;
			}
			if (inSnapshot(snapshot, change.table, part.start)) continue;
			const table = await this.tables.get(change.table);
			if (!table) continue;
			const routed = await this.throughFilter(table, change);
			if (!routed || !ops.has(routed.kind)) continue;
			const event: RowEvent = {
				kind: "row",
				op: routed.kind,
				table: table.table,
				...(routed.before ? { before: project(routed.before, table.mapping) } : {}),
				...(routed.after ? { after: project(routed.after, table.mapping) } : {}),
				source: {
					...(part.gtid ? { gtid: part.gtid } : {}),
					file: part.start.file,
					pos: part.start.pos,
					rowIndex: index,
					commitTime: part.commitTime,
					serverId: this.s.serverId,
				},
			};
			events.push({ event, table, change });
		}
		const last = events.at(-1);
		if (part.final && last) last.event.source.last = true;
		if (events.length > 0 && !this.inTransaction) {
			this.inTransaction = true;
			await this.queueBoundary(part, "begin");
		}
		for (const e of events) {
			if (e.event.kind === "ddl") {
				await this.queueDdl(e.event, e.table as TableName | undefined);
				countDdl(this.pendingCounts, e.change as DdlChange);
			} else {
				await this.queue(this.route(e.table as SyncTable, this.s.format.row(e.event), e.event.source));
				this.totals.rows += 1;
				const op = e.event.op;
				if (op !== "read") countRows(this.pendingCounts, [{ kind: op, table: (e.change as RowChange).table }]);
			}
		}
		if (part.final && this.inTransaction) {
			this.inTransaction = false;
			await this.queueBoundary(part, "end");
		}
		return rowIndex;
	}

	/** A format's messages for a transaction boundary (Debezium's BEGIN/END); they name their topic. */
	private async queueBoundary(part: TransactionPart, status: "begin" | "end"): Promise<void> {
		const messages = this.s.format.transaction?.({
			kind: "transaction",
			status,
			...(part.gtid ? { gtid: part.gtid } : {}),
			...part.start,
			commitTime: part.commitTime,
		});
		const dedup = `${part.gtid || `${part.start.file}:${part.start.pos}`}#${status}`;
		await this.queue(
			(messages ?? []).map((m) => ({
				topic: safeTopic(m.topic as string, this.s.broker),
				routingKey: m.key,
				key: m.key,
				value: m.value,
				headers: m.headers ?? {},
				dedupKey: dedup,
			})),
		);
	}

	private databaseChosen(database: string): boolean {
		return rulesForDatabase(this.s.rules, database).length > 0;
	}

	private async throughFilter(table: SyncTable, change: RowChange): Promise<RowChange | null> {
		if (!table.mapping.where?.trim()) return change;
		const images = [change.before, change.after].filter((i): i is RowImage => !!i);
		const passes = await this.filter.evaluate(table.mapping, images);
		const before = change.before ? (passes[0] ?? false) : false;
		const after = change.after ? (passes[change.before ? 1 : 0] ?? false) : false;
		return routeChange(change, before, after);
	}

	private route(table: SyncTable, messages: SinkMessage[], source: EventSource): BrokerMessage[] {
		const { database } = table.table.name;
		const name = `${database}.${table.table.name.table}`;
		let topic = this.tableTopics.get(name);
		if (topic === undefined) {
			topic = topicFor(this.s.options, database, table.table.name.table, this.s.broker);
			this.tableTopics.set(name, topic);
			if (!this.databaseTopics.get(database)?.add(topic)) this.databaseTopics.set(database, new Set([topic]));
		}
		return messages.map((m) => ({
			topic: m.topic ? safeTopic(m.topic, this.s.broker) : topic,
			routingKey: rowRouting(this.s.options.partitioning, name, m.key),
			key: m.key,
			value: m.value,
			headers: m.headers ?? {},
			dedupKey: dedupKey(source),
		}));
	}

	/**
	 * A statement on a table goes to the table's topic; one on a whole database (CREATE, ALTER,
	 * DROP DATABASE) to each topic its tables' messages went to so far.
	 */
	private async queueDdl(event: DdlEvent, table: TableName | undefined): Promise<void> {
		const topics = table
			? [topicFor(this.s.options, table.database, table.table, this.s.broker)]
			: [...(this.databaseTopics.get(event.database) ?? [])];
		const routing = ddlRouting(this.s.options.partitioning, table ? `${table.database}.${table.table}` : undefined);
		const out: BrokerMessage[] = [];
		for (const m of this.s.format.ddl(event)) {
			const base = { key: m.key, value: m.value, headers: m.headers ?? {}, dedupKey: dedupKey(event.source) };
			for (const to of m.topic ? [safeTopic(m.topic, this.s.broker)] : topics) {
				if (routing === "every-partition" && !m.topic) {
					const n = await this.s.producer.partitions(to);
					for (let p = 0; p < n; p++) out.push({ ...base, topic: to, routingKey: null, partition: p });
				} else {
					out.push({ ...base, topic: to, routingKey: routing === "every-partition" ? null : routing.routingKey });
				}
			}
		}
		await this.queue(out);
	}

	private async queue(messages: BrokerMessage[]): Promise<void> {
		if (messages.length === 0) return;
		if (this.batchMessages === 0) this.batchSince = Date.now();
		this.batchMessages += messages.length;
		for (const m of messages) {
			this.pending.push(m);
			this.topics.add(m.topic);
		}
		if (this.pending.length >= SEND_MESSAGES) await this.flush();
	}

	private async flush(): Promise<void> {
		if (this.pending.length === 0) return;
		const batch = this.pending;
		this.pending = [];
		await this.sending;
		this.sending = this.s.producer.send(batch);
		this.sending.catch(() => {});
		this.lastSentAt = Date.now();
	}

	private async commitAt(position: SourcePosition): Promise<void> {
		let snapshot = this.snapshotProgress();
		// once streaming has passed every table's snapshot, the checkpoint need not carry their
		// positions; it keeps saying the snapshot is complete, or a restart would send it again
		if (snapshot?.complete && Object.keys(snapshot.tables).length > 0 && pastSnapshot(snapshot, position)) {
			snapshot = { tables: {}, complete: true, rows: snapshot.rows };
		}
		await this.commit({ position, ...(snapshot ? { snapshot } : {}) });
	}

	private async commit(checkpoint: SinkCheckpoint): Promise<void> {
		await this.flush();
		await this.sending;
		await this.s.producer.commit(checkpoint);
		this.checkpoint = checkpoint;
		addCounts(this.counts, this.pendingCounts);
		this.pendingCounts = {};
		this.uncommitted = 0;
		this.batchMessages = 0;
		this.batchSince = Date.now();
	}

	/** After `heartbeatIntervalMs` without a message: a heartbeat to each partition of each topic used. */
	private async heartbeatIfIdle(): Promise<void> {
		const every = this.s.options.heartbeatIntervalMs;
		const position = this.totals.position;
		if (!every || !position || Date.now() - this.lastSentAt < every || this.topics.size === 0) return;
		const messages = this.s.format.heartbeat({
			kind: "heartbeat",
			time: Date.now(),
			position,
			serverId: this.s.serverId,
		});
		const out: BrokerMessage[] = [];
		const dedup = `heartbeat:${Date.now()}`;
		for (const m of messages) {
			const base = { key: m.key, value: m.value, headers: m.headers ?? {}, dedupKey: dedup, routingKey: null };
			if (m.topic) {
				out.push({ ...base, topic: safeTopic(m.topic, this.s.broker), partition: 0 });
				continue;
			}
			for (const topic of this.topics) {
				const n = await this.s.producer.partitions(topic);
				for (let p = 0; p < n; p++) out.push({ ...base, topic, partition: p });
			}
		}
		if (out.length === 0) return;
		this.pending.push(...out);
		await this.commitAt(position);
		logger.debug("heartbeat sent", { messages: out.length });
	}

	sever(reason: string): void {
		this.s.producer.sever?.(reason);
		if (this.snapshotConn) sever(this.snapshotConn, reason);
	}

	async close(): Promise<void> {
		await this.snapshotConn?.end().catch(() => {});
		await this.sending.catch(() => {});
		await this.s.producer.close();
	}
}

/** A captured image as the mapping sends it: the selected columns, under their destination names. */
function project(image: RowImage, mapping: TableMapping): RowImage {
	const out: RowImage = {};
	for (const c of mapping.columns) {
		if (c.source in image) out[c.destination] = image[c.source] ?? null;
	}
	return out;
}
