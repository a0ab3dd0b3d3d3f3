import "./zongji-fixes.ts";
import type ZongJi from "@vlasky/zongji";
import type {
	AnyBinlogEvent,
	MariadbGtidEvent,
	QueryEvent,
	RotateEvent,
	TableMapEntry,
	TableMapEvent,
	UpdateRowData,
} from "@vlasky/zongji";
import { GtidSet, MariadbGtidPosition } from "@vlasky/zongji";
import type { RowDataPacket } from "mysql2";
import type { SourcePosition } from "../binlog/position.ts";
import type { Flavor } from "../binlog/server.ts";
import type { Connection } from "../db/connect.ts";
import type { TableName } from "../model/rules.ts";
import { logger } from "../observability.ts";
import type { Change, DdlChange, EchoMarks } from "./change.ts";
import { CaptureError, explainCaptureFailure } from "./errors.ts";
import { PartQueue, type PausableConnection } from "./part-queue.ts";
import type { BinlogReader, BinlogReaderOptions } from "./reader-types.ts";
import { querySession, type SessionDefaults } from "./session.ts";
import {
	adaptTable,
	type LogicalType,
	mayBeLogical,
	type TableShape,
	type ZongjiColumn,
	type ZongjiTableEntry,
} from "./values.ts";

const ROW_EVENTS = new Set(["writerows", "updaterows", "deleterows"]);
const GTID_EVENTS = new Set(["gtid", "anonymousgtid", "mariadbgtid"]);

interface OpenTransaction {
	gtid?: string;
	maria?: { domainId: number; serverId: number; seqNo: number | string };
	/** MariaDB: a group without a commit event (DDL and the like). */
	standalone: boolean;
	/** A BEGIN (MySQL, pre-GTID) was seen, or rows: the group ends with a commit event. */
	began: boolean;
	changes: Change[];
	bytes: number;
	partsSent: number;
	timestamp: number;
	/** A DDL statement opened the group and may have ended it: set until the next event decides. */
	ddlEnd?: { pos: number; timestamp: number };
	/** Marked by the peer's replay: skipped whole. */
	echo?: boolean;
	/** Marked by another stream's replay (delivered; if it holds no rows here, nobody writes for it). */
	marked?: boolean;
	/** Rows of captured tables other than the checkpoint table were seen. */
	dataRows?: boolean;
	/** Where the group's first event starts: the transaction's place in the binlog. */
	start: { file: string; pos: number };
}

/**
 * The reader proper: assembles zongji's decoded events into parts. Exported for tests that feed
 * it events decoded from byte fixtures (test/capture/mysql8-events.test.ts); `openBinlogReader`
 * is the way to get one connected to a server.
 */
export class ZongjiBinlogReader extends PartQueue implements BinlogReader {
	private stopping: Promise<void> | null = null;
	private txn: OpenTransaction | null = null;
	private file: string;
	private lastEndPos: number;
	private eventStart = 0; // where the event being handled starts
	private readonly gtidState: MariadbGtidPosition | GtidSet | null;
	private readonly shapes = new Map<number, { shape: TableShape; table: TableName }>();
	private readonly logicalTypes = new Map<string, Map<string, LogicalType>>();
	private readonly maxPartChanges: number;
	private readonly includeDdl: ((ddl: DdlChange) => boolean) | undefined;
	private readonly marks: EchoMarks | undefined;
	/** Set once capture opened: what a statement's session had when its event leaves it out. */
	sessionDefaults: SessionDefaults | undefined;

	constructor(
		private readonly zongji: ZongJi,
		private readonly ctrl: Connection,
		readonly flavor: Flavor,
		readonly startedAt: SourcePosition,
		where: string,
		options: Pick<
			BinlogReaderOptions,
			"maxPartChanges" | "maxBufferedParts" | "heartbeatSeconds" | "stallTimeoutMs" | "includeDdl" | "skipEchoes"
		>,
	) {
		const heartbeat = options.heartbeatSeconds ?? 2;
		super(Math.max(1, options.maxBufferedParts ?? 8), options.stallTimeoutMs ?? heartbeat * 5_000 + 5_000, where);
		this.includeDdl = options.includeDdl;
		this.marks = options.skipEchoes;
		this.file = startedAt.file;
		this.lastEndPos = startedAt.pos;
		this.maxPartChanges = Math.max(1, options.maxPartChanges ?? 1000);
		if (flavor === "mariadb") {
			this.gtidState = MariadbGtidPosition.parse(startedAt.gtid);
		} else {
			this.gtidState = startedAt.gtid ? GtidSet.parse(startedAt.gtid) : null;
		}
	}

	/** Hooks the binlog connection zongji opened (part-queue.ts `hook`). */
	attach(): void {
		const conn = this.zongji.connection as unknown as PausableConnection | null;
		if (!conn) throw new CaptureError("zongji did not open its binlog connection", "CAPTURE_START");
		this.hook(conn);
	}

	onReady(heartbeatSeconds: number): void {
		// Queued before zongji's dump command (it is added right after 'ready' is emitted).
		const conn = this.zongji.connection;
		if (conn && heartbeatSeconds > 0) {
			// nanoseconds; MySQL 8.0.26+ also reads the newer name
			const period = Math.round(heartbeatSeconds * 1e9);
			conn.query(`SET @master_heartbeat_period = ${period}, @source_heartbeat_period = ${period}`, (err: unknown) => {
				if (err) this.fail(this.explain(err));
			});
		}
	}

	protected stop(): Promise<void> {
		if (!this.stopping) {
			if (this.watchdog) clearInterval(this.watchdog);
			this.stopping = (async () => {
				await new Promise<void>((resolve) => {
					const timer = setTimeout(resolve, 2_000);
					this.zongji.once("stopped", () => {
						clearTimeout(timer);
						resolve();
					});
					try {
						this.zongji.stop();
					} catch {
						clearTimeout(timer);
						resolve();
					}
				});
				// a dead network would hold end() forever
				await Promise.race([
					this.ctrl.end().catch(() => undefined),
					new Promise((resolve) => setTimeout(resolve, 2_000).unref()),
				]);
				this.ctrl.destroy();
			})();
		}
		return this.stopping;
	}

	/** A failure as a CaptureError with a code (errors.ts). */
	explain(err: unknown): Error {
		return explainCaptureFailure(err, this.where);
	}

	onEvent(event: AnyBinlogEvent): void {
		if (this.closed || this.failure) return;
		try {
			this.handle(event);
		} catch (err) {
			this.fail(this.explain(err));
		}
	}

	/** The event's size in the binlog: zongji's `size` leaves out the header and the checksum. */
	private eventBytes(event: AnyBinlogEvent): number {
		return event.size + 19 + (this.zongji.useChecksum ? 4 : 0);
	}

	private handle(event: AnyBinlogEvent): void {
		this.stats.events += 1;
		const name = event.getEventName();
		const txn = this.txn;
		// A DDL that opened a group ended it unless rows (CREATE ... SELECT) or a commit follow.
		if (txn?.ddlEnd && !(name === "tablemap" || ROW_EVENTS.has(name) || name === "xid" || isCommitQuery(event))) {
			this.commit(txn.ddlEnd.pos, txn.ddlEnd.timestamp);
		}
		if (event.nextPosition > 0 && name !== "rotate") this.lastEndPos = event.nextPosition;
		const bytes = this.eventBytes(event);
		if (event.nextPosition > 0) this.eventStart = event.nextPosition - bytes;
		// a GTID event counts for the group it opens
		if (this.txn && !GTID_EVENTS.has(name)) this.txn.bytes += bytes;

		switch (name) {
			case "rotate":
				this.file = (event as RotateEvent).binlogName;
				return;
			case "mariadbgtid": {
				const e = event as MariadbGtidEvent;
				if (e.preparedXa || e.completedXa) {
					throw new CaptureError(
						`XA transaction ${e.gtid} in the binlog: XA transactions are not supported by capture`,
						"XA_UNSUPPORTED",
					);
				}
				const maria = { domainId: e.domainId, serverId: e.serverId, seqNo: e.seqNo };
				this.begin({ gtid: e.gtid, maria, standalone: e.standalone, began: false }, bytes);
				return;
			}
			case "gtid":
				this.begin({ ...(event.gtid ? { gtid: event.gtid } : {}), standalone: false, began: false }, bytes);
				return;
			case "anonymousgtid":
				this.begin({ standalone: false, began: false }, bytes);
				return;
			case "query":
				this.onQuery(event as QueryEvent);
				return;
			case "tablemap":
				if (this.txn) this.txn.ddlEnd = undefined;
				return;
			case "writerows":
			case "updaterows":
			case "deleterows":
				this.onRows(event);
				return;
			case "xid":
				this.commit(event.nextPosition, event.timestamp);
				return;
			case "xaprepare":
				throw new CaptureError(
					"XA PREPARE in the binlog: XA transactions are not supported by capture",
					"XA_UNSUPPORTED",
				);
			default:
				return;
		}
	}

	private begin(t: Pick<OpenTransaction, "gtid" | "maria" | "standalone" | "began">, bytes = 0): void {
		const start = { file: this.file, pos: this.eventStart };
		if (this.txn && (this.txn.changes.length > 0 || this.txn.partsSent > 0)) {
			// The previous group had no commit event (never seen with ROW format): what it holds
			// happened, and a new group starts at the end of its last event.
			this.commit(this.lastEndPos, this.txn.timestamp);
		}
		this.txn = { ...t, changes: [], bytes, partsSent: 0, timestamp: 0, start };
	}

	private onQuery(event: QueryEvent): void {
		const sql = event.query.trim();
		const head = sql.slice(0, 24).toUpperCase();
		if (head === "BEGIN") {
			if (!this.txn) this.begin({ standalone: false, began: true });
			else this.txn.began = true;
			return;
		}
		if (head === "COMMIT") {
			this.commit(event.nextPosition, event.timestamp);
			return;
		}
		if (head === "ROLLBACK") {
			// Only written for groups that touched non-transactional tables and rolled back.
			const txn = this.txn;
			if (txn && txn.partsSent > 0) {
				throw new CaptureError(
					`transaction ${txn.gtid ?? ""} rolled back after ${txn.partsSent} parts were delivered`,
					"CAPTURE_ROLLBACK",
				);
			}
			if (txn) txn.changes = [];
			this.commit(event.nextPosition, event.timestamp);
			return;
		}
		if (/^(SAVEPOINT|ROLLBACK\s+(WORK\s+)?TO|RELEASE\s+SAVEPOINT)\b/.test(head)) return;
		if (/^XA\s/.test(head)) {
			throw new CaptureError(
				`'${sql.slice(0, 60)}' in the binlog: XA transactions are not supported by capture`,
				"XA_UNSUPPORTED",
			);
		}
		// Anything else is a statement logged as text even in ROW format: DDL and the like.
		this.logicalTypes.clear();
		if (!this.txn) this.begin({ standalone: false, began: false });
		const txn = this.txn as OpenTransaction;
		const opensGroup = txn.changes.length === 0 && txn.partsSent === 0 && !txn.began;
		const statusVars = (event as QueryEvent & { statusVarsBytes?: Buffer }).statusVarsBytes;
		const ddl: DdlChange = {
			kind: "ddl",
			database: event.schema,
			sql: event.query,
			session: querySession(statusVars, this.flavor, this.sessionDefaults, event.timestamp),
		};
		if (this.marks && event.query.startsWith(this.marks.statementPrefix)) {
			ddl.echo = true;
			this.stats.echoes += 1;
		}
		if (!this.includeDdl || this.includeDdl(ddl)) this.addChange(ddl, event.timestamp);
		else if (event.timestamp > txn.timestamp) txn.timestamp = event.timestamp;
		if (!opensGroup) return;
		if (txn.standalone) this.commit(event.nextPosition, event.timestamp);
		else txn.ddlEnd = { pos: event.nextPosition, timestamp: event.timestamp };
	}

	private onRows(event: AnyBinlogEvent): void {
		const e = event as unknown as {
			tableId: number;
			numberOfColumns: number;
			columns_present_bitmap?: Buffer;
			columns_present_bitmap2?: Buffer;
			rows: Record<string, unknown>[] | UpdateRowData[];
		};
		const known = this.shapes.get(e.tableId);
		if (!known) throw new CaptureError(`row event for unknown table id ${e.tableId}`, "CAPTURE_PROTOCOL");
		if (
			!fullImage(e.columns_present_bitmap, e.numberOfColumns) ||
			(e.columns_present_bitmap2 && !fullImage(e.columns_present_bitmap2, e.numberOfColumns))
		) {
			throw new CaptureError(
				`row event for ${known.table.database}.${known.table.table} does not carry every column: set binlog_row_image = FULL on the source`,
				"ROW_IMAGE_NOT_FULL",
			);
		}
		if (!this.txn) this.begin({ standalone: false, began: true });
		(this.txn as OpenTransaction).began = true;
		const { shape, table } = known;
		const name = event.getEventName();
		if (this.marks && sameTable(table, this.marks.table)) {
			this.onMark(name, e.rows, shape);
			return;
		}
		(this.txn as OpenTransaction).dataRows = true;
		// Rows_log_event flags: NO_FOREIGN_KEY_CHECKS_F = 2
		const unchecked =
			((event as unknown as { flags?: number }).flags ?? 0) & 2 ? { noForeignKeyChecks: true as const } : {};
		if (name === "updaterows") {
			for (const row of e.rows as UpdateRowData[]) {
				this.addChange(
					{
						kind: "update",
						table,
						before: shape.normalise(row.before),
						after: shape.normalise(row.after),
						...unchecked,
					},
					event.timestamp,
				);
			}
		} else if (name === "writerows") {
			for (const row of e.rows as Record<string, unknown>[]) {
				this.addChange({ kind: "insert", table, after: shape.normalise(row), ...unchecked }, event.timestamp);
			}
		} else {
			for (const row of e.rows as Record<string, unknown>[]) {
				this.addChange({ kind: "delete", table, before: shape.normalise(row), ...unchecked }, event.timestamp);
			}
		}
	}

	/** A row of the checkpoint table: never delivered; the peer stream's makes the transaction an echo. */
	private onMark(name: string, rows: Record<string, unknown>[] | UpdateRowData[], shape: TableShape): void {
		const marks = this.marks as EchoMarks;
		const txn = this.txn as OpenTransaction;
		if (txn.echo) return;
		const peer = (rows as (Record<string, unknown> | UpdateRowData)[]).some((row) => {
			const image = shape.normalise(
				name === "updaterows" ? (row as UpdateRowData).after : (row as Record<string, unknown>),
			);
			const v = image[marks.column];
			return (Buffer.isBuffer(v) ? v.toString("utf8") : String(v)) === marks.stream;
		});
		if (!peer) {
			txn.marked = true;
			return;
		}
		if (txn.partsSent > 0) {
			// Written last, not first (parallel apply): the parts that went out are applied.
			this.stats.lateEchoes += 1;
			logger.warn("a transaction the peer stream's replay wrote is marked after its first rows: it is sent back", {
				gtid: txn.gtid,
				stream: marks.stream,
			});
			return;
		}
		txn.echo = true;
		txn.changes = [];
		this.stats.echoes += 1;
	}

	private addChange(change: Change, timestamp: number): void {
		const txn = this.txn as OpenTransaction;
		if (txn.echo) {
			if (timestamp > txn.timestamp) txn.timestamp = timestamp;
			return;
		}
		// A full part goes out when the next change arrives, so the final part is never empty
		// for a transaction that has changes.
		if (txn.changes.length >= this.maxPartChanges) {
			this.push({
				...(txn.gtid ? { gtid: txn.gtid } : {}),
				start: txn.start,
				changes: txn.changes,
				final: false,
				commitTime: txn.timestamp,
				bytes: txn.bytes,
			});
			txn.changes = [];
			txn.partsSent += 1;
		}
		txn.changes.push(change);
		if (change.kind !== "ddl") this.stats.rows += 1;
		if (timestamp > txn.timestamp) txn.timestamp = timestamp;
	}

	private commit(pos: number, timestamp: number): void {
		const txn = this.txn;
		this.txn = null;
		if (!txn) return;
		// Another stream's checkpoint-only transaction (or one whose rows are not captured here) is
		// flagged like the peer's: the position moves without a write. Otherwise two streams
		// running opposite ways between the same servers (two projects, say) would each write a
		// checkpoint for the other's checkpoint write, forever.
		const checkpointOnly = !txn.dataRows && (txn.echo || txn.marked);
		if (txn.maria && this.gtidState instanceof MariadbGtidPosition) this.gtidState.add(txn.maria);
		else if (txn.gtid && this.gtidState instanceof GtidSet) this.gtidState.add(txn.gtid);
		this.stats.transactions += 1;
		this.push({
			...(txn.gtid ? { gtid: txn.gtid } : {}),
			start: txn.start,
			changes: txn.echo ? [] : txn.changes,
			final: true,
			position: { gtid: this.gtidState ? this.gtidState.toString() : "", file: this.file, pos },
			commitTime: Math.max(timestamp, txn.timestamp),
			bytes: txn.bytes,
			...(checkpointOnly ? { echo: "checkpoint" as const } : txn.echo ? { echo: "data" as const } : {}),
		});
	}

	/**
	 * Called for every TABLE_MAP event, synchronously, before the table's row events are decoded
	 * (on MariaDB it may pause the connection for a metadata look-up, see values.ts).
	 */
	onTableMap(event: TableMapEvent): void {
		if (this.closed || this.failure) return;
		const entry = this.zongji.tableMap[event.tableId] as (TableMapEntry & ZongjiTableEntry) | undefined;
		if (!entry) return;
		if (!event.columnNames || event.columnNames.length !== event.columnCount) {
			this.fail(
				new CaptureError(
					`the binlog has no column names for ${event.schemaName}.${event.tableName}: set binlog_row_metadata = FULL on the source`,
					"ROW_METADATA_NOT_FULL",
				),
			);
			return;
		}
		const table: TableName = { database: event.schemaName, table: event.tableName };
		const columns = (entry.columns ?? []) as ZongjiColumn[];
		const adapt = (logical?: Map<string, LogicalType>) => {
			const shape = adaptTable(entry, {
				mariadb: this.flavor === "mariadb",
				columnNames: event.columnNames,
				...(logical ? { logical } : {}),
			});
			this.shapes.set(event.tableId, { shape, table });
		};
		if (this.flavor !== "mariadb" || !columns.some((c) => mayBeLogical(c))) {
			adapt();
			return;
		}
		const key = `${table.database}\u0000${table.table}`;
		const cached = this.logicalTypes.get(key);
		if (cached) {
			adapt(cached);
			return;
		}
		// UUID/INET4/INET6 look like BINARY(16)/BINARY(4) in the binlog: ask the server which they are.
		this.hold();
		this.ctrl
			.query<RowDataPacket[]>(
				"SELECT COLUMN_NAME AS name, DATA_TYPE AS type FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND DATA_TYPE IN ('uuid', 'inet4', 'inet6')",
				[table.database, table.table],
			)
			.then(([rows]) => {
				const logical = new Map<string, LogicalType>(
					rows.map((r) => [String(r.name), String(r.type).toLowerCase() as LogicalType]),
				);
				this.logicalTypes.set(key, logical);
				adapt(logical);
				this.release();
			})
			.catch((err: unknown) => this.fail(this.explain(err)));
	}
}

export function sameTable(a: TableName, b: TableName): boolean {
	return a.database === b.database && a.table === b.table;
}

function isCommitQuery(event: AnyBinlogEvent): boolean {
	return event.getEventName() === "query" && (event as QueryEvent).query.trim().toUpperCase() === "COMMIT";
}

function fullImage(bitmap: Buffer | undefined, columns: number): boolean {
	if (!bitmap) return true;
	for (let i = 0; i < columns; i++) {
		if (((bitmap[i >> 3] as number) & (1 << (i & 7))) === 0) return false;
	}
	return true;
}
