import "./zongji-fixes.ts";
import type {
	AnyBinlogEvent,
	MariadbGtidEvent,
	QueryEvent,
	RotateEvent,
	TableMapEntry,
	TableMapEvent,
	UpdateRowData,
} from "@vlasky/zongji";
import ZongJi, { GtidSet, MariadbGtidPosition } from "@vlasky/zongji";
import type { RowDataPacket } from "mysql2";
import type { Connection, Pool } from "../db/connect.ts";
import { connect } from "../db/connect.ts";
import type { Credentials } from "../model/datasource.ts";
import type { TableName } from "../model/rules.ts";
import { logger } from "../observability.ts";
import type { Change, DdlChange, Echo, EchoMarks, SourcePosition, TransactionPart } from "./change.ts";
import { querySession, readSessionDefaults, type SessionDefaults } from "./session.ts";
import {
	adaptTable,
	type LogicalType,
	mayBeLogical,
	type TableShape,
	type ZongjiColumn,
	type ZongjiTableEntry,
} from "./values.ts";

/**
 * The capture role: reads a MySQL or MariaDB binlog over the replication protocol (through
 * @vlasky/zongji) and turns it into TransactionParts (change.ts).
 *
 * - Positions only at transaction boundaries: a part's `position` is set on the final part of a
 *   transaction only, and is where to resume after it (GTID state, file, offset of the end of the
 *   commit event). Resuming from it yields exactly the following transactions.
 * - Large transactions come in parts of at most `maxPartChanges` changes.
 * - Back-pressure: when `maxBufferedParts` parts wait for the consumer, the binlog connection is
 *   paused (TCP flow control holds the server back) until the consumer takes one.
 * - The include filter runs inside zongji's TABLE_MAP handling, so rows of other tables are never
 *   decoded.
 * - Any error or disconnect makes `next()` throw (after the parts already complete are taken);
 *   the caller opens a new reader from its last checkpoint. There is no reconnect in here. A
 *   connection that goes silent (no data, no heartbeat) for `stallTimeoutMs` counts as dead.
 * - A statement logged as text (DDL and the like) is a DdlChange with its default database and,
 *   when it opens a group, its own transaction. CREATE TABLE ... SELECT is one transaction: the
 *   DdlChange, then the rows. On MySQL a DDL group has no commit event, so its part goes out when
 *   the next event (at the latest the next heartbeat) shows that no rows follow.
 * - Transactions of excluded tables come out as empty final parts (consecutive ones merged
 *   while they wait), so the consumer's checkpoint keeps moving.
 * - Echoes (two-way sync, `skipEchoes`): a transaction with a row of the marked replay's
 *   checkpoint table naming its stream is skipped whole, as an empty final part flagged `echo`
 *   (the checkpoint moves past it). That replay writes the row first, so the decision comes
 *   before any part of the transaction goes out. A DDL statement carrying its mark comes out
 *   flagged `echo`. Rows of the checkpoint table are read whatever `include` says, and never
 *   delivered (other streams' marks are dropped, their transactions delivered).
 * - Not supported, with a CaptureError rather than silence: XA transactions, MySQL compressed
 *   transactions and partial JSON updates, row events without the full image, TABLE_MAPs
 *   without column names, a ROLLBACK group after some of its parts went out.
 */

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

/** A capture failure, with a code the caller can act on. */
export class CaptureError extends Error {
	constructor(
		message: string,
		readonly code: string,
		options?: { cause?: unknown },
	) {
		super(message, options);
		this.name = "CaptureError";
	}
}

export interface CaptureFinding {
	level: "error" | "warning";
	/** What the finding is about: a server variable (`@@binlog_format`) or `privileges`. */
	object: string;
	message: string;
	fix: string;
}

// ---------------------------------------------------------------------------------------------
// Positions and prechecks

type Flavor = "mariadb" | "mysql";

async function serverFlavor(conn: Connection | Pool): Promise<{ flavor: Flavor; version: string }> {
	const [rows] = await conn.query<RowDataPacket[]>("SELECT VERSION() AS version");
	const version = String(rows[0]?.version ?? "");
	return { flavor: /mariadb/i.test(version) ? "mariadb" : "mysql", version };
}

interface MasterStatus {
	file: string;
	pos: number;
	executedGtidSet?: string;
}

async function masterStatus(conn: Connection | Pool): Promise<MasterStatus | null> {
	let rows: RowDataPacket[];
	try {
		[rows] = await conn.query<RowDataPacket[]>("SHOW MASTER STATUS");
	} catch (err) {
		// MySQL 8.4 removed SHOW MASTER STATUS in favour of SHOW BINARY LOG STATUS
		if ((err as { errno?: number }).errno !== 1064) throw err;
		[rows] = await conn.query<RowDataPacket[]>("SHOW BINARY LOG STATUS");
	}
	const row = rows[0];
	if (!row?.File) return null;
	return {
		file: String(row.File),
		pos: Number(row.Position),
		...(row.Executed_Gtid_Set !== undefined ? { executedGtidSet: String(row.Executed_Gtid_Set) } : {}),
	};
}

/**
 * The source's current binlog position: where a reader started with it will begin, at a
 * transaction boundary. On MariaDB the GTID state is the one of that very file offset
 * (BINLOG_GTID_POS), on MySQL the executed GTID set reported with it, so the pair is consistent
 * even while the source takes writes.
 */
export async function currentPosition(conn: Connection | Pool): Promise<SourcePosition> {
	const { flavor } = await serverFlavor(conn);
	const status = await masterStatus(conn);
	if (!status) {
		throw new CaptureError(
			"the source has no binary log (SHOW MASTER STATUS is empty): enable log_bin to capture changes",
			"BINLOG_OFF",
		);
	}
	let gtid = "";
	if (flavor === "mariadb") {
		const [rows] = await conn.query<RowDataPacket[]>("SELECT BINLOG_GTID_POS(?, ?) AS gtid", [status.file, status.pos]);
		gtid = rows[0]?.gtid == null ? "" : String(rows[0].gtid);
	} else {
		gtid = (status.executedGtidSet ?? "").replace(/\s+/g, "");
	}
	return { gtid, file: status.file, pos: status.pos };
}

async function variables(conn: Connection, names: string[]): Promise<Map<string, string>> {
	const [rows] = await conn.query<RowDataPacket[]>(
		`SHOW GLOBAL VARIABLES WHERE Variable_name IN (${names.map(() => "?").join(", ")})`,
		names,
	);
	return new Map(rows.map((r) => [String(r.Variable_name).toLowerCase(), String(r.Value)]));
}

/**
 * What capture needs from the source, as precheck findings: binary log on, ROW format, FULL row
 * image, FULL row metadata (column names in the binlog), a server id, GTIDs, enough binlog
 * retention, no MySQL binlog compression or partial JSON updates, and the replication privileges.
 */
export async function checkCaptureSettings(conn: Connection): Promise<CaptureFinding[]> {
	const { flavor, version } = await serverFlavor(conn);
	const v = await variables(conn, [
		"log_bin",
		"binlog_format",
		"binlog_row_image",
		"binlog_row_metadata",
		"server_id",
		"gtid_mode",
		"enforce_gtid_consistency",
		"expire_logs_days",
		"binlog_expire_logs_seconds",
		"binlog_transaction_compression",
		"binlog_row_value_options",
	]);
	const findings: CaptureFinding[] = [];
	const setting = (name: string, value: string) =>
		flavor === "mariadb"
			? `SET GLOBAL ${name} = ${value}, and add ${name}=${value} under [mariadbd] in the server's configuration`
			: `SET PERSIST ${name} = ${value}`;

	const logBin = (v.get("log_bin") ?? "").toUpperCase();
	if (logBin !== "ON" && logBin !== "1") {
		findings.push({
			level: "error",
			object: "@@log_bin",
			message: "the binary log is off: changes cannot be captured",
			fix: "start the server with log-bin (and a server-id); this needs a restart",
		});
	}
	const format = (v.get("binlog_format") ?? "").toUpperCase();
	if (format !== "ROW") {
		findings.push({
			level: "error",
			object: "@@binlog_format",
			message: `binlog_format is ${format || "unknown"}: capture needs row events (ROW)`,
			fix: setting("binlog_format", "ROW"),
		});
	}
	const image = (v.get("binlog_row_image") ?? "").toUpperCase();
	if (image !== "FULL") {
		findings.push({
			level: "error",
			object: "@@binlog_row_image",
			message: `binlog_row_image is ${image || "unknown"}: replay needs every column of every changed row (FULL)`,
			fix: setting("binlog_row_image", "FULL"),
		});
	}
	const metadata = v.get("binlog_row_metadata");
	if (metadata === undefined) {
		findings.push({
			level: "error",
			object: "@@binlog_row_metadata",
			message: `${version} cannot write column names into the binlog (binlog_row_metadata needs MariaDB 10.5 or MySQL 8.0)`,
			fix: "upgrade the source to MariaDB 10.5+ or MySQL 8.0+",
		});
	} else if (metadata.toUpperCase() !== "FULL") {
		findings.push({
			level: "error",
			object: "@@binlog_row_metadata",
			message: `binlog_row_metadata is ${metadata}: without FULL, column names are not in the binlog and events written before an ALTER TABLE would be decoded with the wrong columns`,
			fix: setting("binlog_row_metadata", "FULL"),
		});
	}
	if (Number(v.get("server_id") ?? 0) === 0) {
		findings.push({
			level: "error",
			object: "@@server_id",
			message: "server_id is 0: the server does not serve its binlog to replicas",
			fix: setting("server_id", "<a unique non-zero number>"),
		});
	}
	if (flavor === "mysql" && (v.get("gtid_mode") ?? "OFF").toUpperCase() !== "ON") {
		findings.push({
			level: "warning",
			object: "@@gtid_mode",
			message: "GTIDs are off: capture resumes by binlog file and offset, which does not survive a failover",
			fix: "SET PERSIST enforce_gtid_consistency = ON, then step gtid_mode through OFF_PERMISSIVE and ON_PERMISSIVE to ON",
		});
	}
	if (flavor === "mysql" && (v.get("binlog_transaction_compression") ?? "OFF").toUpperCase() === "ON") {
		findings.push({
			level: "error",
			object: "@@binlog_transaction_compression",
			message: "compressed binlog transactions (TRANSACTION_PAYLOAD events) cannot be decoded",
			fix: setting("binlog_transaction_compression", "OFF"),
		});
	}
	if (flavor === "mysql" && /PARTIAL_JSON/i.test(v.get("binlog_row_value_options") ?? "")) {
		findings.push({
			level: "error",
			object: "@@binlog_row_value_options",
			message: "partial JSON updates (PARTIAL_UPDATE_ROWS events) do not carry the full row",
			fix: setting("binlog_row_value_options", "''"),
		});
	}
	const seconds = Number(v.get("binlog_expire_logs_seconds") ?? 0);
	const days = Number(v.get("expire_logs_days") ?? 0);
	const retention = seconds > 0 ? seconds : days * 86_400;
	if (retention > 0 && retention < 86_400) {
		findings.push({
			level: "warning",
			object: "@@binlog_expire_logs_seconds",
			message: `binlogs are kept ${Math.round(retention / 3600)} h: a capture stopped longer than that cannot resume, and a long full copy may outlast them`,
			fix: setting("binlog_expire_logs_seconds", "604800"),
		});
	}
	findings.push(...(await checkPrivileges(conn, flavor)));
	return findings;
}

async function checkPrivileges(conn: Connection, flavor: Flavor): Promise<CaptureFinding[]> {
	const [rows] = await conn.query<RowDataPacket[]>("SHOW GRANTS FOR CURRENT_USER()");
	const global = new Set<string>();
	let viaRoles = false;
	for (const row of rows) {
		const line = String(Object.values(row)[0] ?? "");
		const m = /^GRANT (.+?) ON \*\.\* TO /i.exec(line);
		if (m) {
			for (const p of (m[1] as string).split(",")) global.add(p.trim().toUpperCase());
		} else if (/^GRANT [^ ]+ TO /i.test(line) && !/ ON /i.test(line)) {
			viaRoles = true;
		}
	}
	const all = global.has("ALL PRIVILEGES") || global.has("ALL");
	const has = (...names: string[]) => all || names.some((n) => global.has(n));
	const missing: string[] = [];
	if (!has("REPLICATION SLAVE", "REPLICATION REPLICA")) missing.push("REPLICATION SLAVE");
	if (!has("REPLICATION CLIENT", "BINLOG MONITOR", "SUPER")) {
		missing.push(flavor === "mariadb" ? "BINLOG MONITOR" : "REPLICATION CLIENT");
	}
	if (missing.length === 0) return [];
	return [
		{
			level: viaRoles ? "warning" : "error",
			object: "privileges",
			message: `the source user lacks ${missing.join(" and ")}${viaRoles ? " (unless a role grants it)" : ""}: it cannot read the binlog`,
			fix: `GRANT ${missing.join(", ")} ON *.* TO the source user`,
		},
	];
}

// ---------------------------------------------------------------------------------------------
// The reader

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
}

interface Waiter {
	resolve(result: IteratorResult<TransactionPart, undefined>): void;
	reject(err: unknown): void;
}

/**
 * The reader proper: assembles zongji's decoded events into parts. Exported for tests that feed
 * it events decoded from byte fixtures (test/capture/mysql8-events.test.ts); `openBinlogReader`
 * is the way to get one connected to a server.
 */
export class ZongjiBinlogReader implements BinlogReader {
	readonly stats: CaptureStats = { rows: 0, transactions: 0, events: 0, pauses: 0, echoes: 0, lateEchoes: 0 };
	private readonly queue: TransactionPart[] = [];
	private waiter: Waiter | null = null;
	private failure: Error | null = null;
	private closed = false;
	private stopping: Promise<void> | null = null;
	private txn: OpenTransaction | null = null;
	private file: string;
	private lastEndPos: number;
	private readonly gtidState: MariadbGtidPosition | GtidSet | null;
	private readonly shapes = new Map<number, { shape: TableShape; table: TableName }>();
	private readonly logicalTypes = new Map<string, Map<string, LogicalType>>();
	private readonly maxPartChanges: number;
	private readonly maxBufferedParts: number;
	private readonly stallTimeoutMs: number;
	private readonly includeDdl: ((ddl: DdlChange) => boolean) | undefined;
	private readonly marks: EchoMarks | undefined;
	private holds = 0;
	private backpressure = false;
	private lastData = Date.now();
	private watchdog: NodeJS.Timeout | null = null;
	private rawPause: (() => void) | null = null;
	private rawResume: (() => void) | null = null;
	/** Set once capture opened: what a statement's session had when its event leaves it out. */
	sessionDefaults: SessionDefaults | undefined;

	constructor(
		private readonly zongji: ZongJi,
		private readonly ctrl: Connection,
		readonly flavor: Flavor,
		readonly startedAt: SourcePosition,
		private readonly where: string,
		options: Pick<
			BinlogReaderOptions,
			"maxPartChanges" | "maxBufferedParts" | "heartbeatSeconds" | "stallTimeoutMs" | "includeDdl" | "skipEchoes"
		>,
	) {
		this.includeDdl = options.includeDdl;
		this.marks = options.skipEchoes;
		this.file = startedAt.file;
		this.lastEndPos = startedAt.pos;
		this.maxPartChanges = Math.max(1, options.maxPartChanges ?? 1000);
		this.maxBufferedParts = Math.max(1, options.maxBufferedParts ?? 8);
		const heartbeat = options.heartbeatSeconds ?? 2;
		this.stallTimeoutMs = options.stallTimeoutMs ?? heartbeat * 5_000 + 5_000;
		if (flavor === "mariadb") {
			this.gtidState = MariadbGtidPosition.parse(startedAt.gtid);
		} else {
			this.gtidState = startedAt.gtid ? GtidSet.parse(startedAt.gtid) : null;
		}
	}

	/** Hooks the binlog connection: ref-counted pause/resume, activity tracking. */
	attach(): void {
		const conn = this.zongji.connection as unknown as {
			pause(): void;
			resume(): void;
			stream?: NodeJS.EventEmitter;
		} | null;
		if (!conn) throw new CaptureError("zongji did not open its binlog connection", "CAPTURE_START");
		this.rawPause = conn.pause.bind(conn);
		this.rawResume = conn.resume.bind(conn);
		// zongji pauses the connection while it reads table metadata; back-pressure and our own
		// metadata look-ups pause it too. Counting holds keeps one from resuming another's pause.
		conn.pause = () => this.hold();
		conn.resume = () => this.release();
		conn.stream?.on("data", () => {
			this.lastData = Date.now();
		});
		this.watchdog = setInterval(() => this.checkStall(), 1_000);
		this.watchdog.unref();
	}

	private hold(): void {
		this.holds += 1;
		if (this.holds === 1) this.rawPause?.();
	}

	private release(): void {
		if (this.holds === 0) return;
		this.holds -= 1;
		if (this.holds === 0) {
			this.lastData = Date.now();
			this.rawResume?.();
		}
	}

	private checkStall(): void {
		if (this.holds > 0 || this.closed || this.failure) return;
		const silent = Date.now() - this.lastData;
		if (silent > this.stallTimeoutMs) {
			this.fail(
				new CaptureError(
					`no data and no heartbeat from ${this.where} for ${Math.round(silent / 1000)} s: the binlog connection is considered dead`,
					"CAPTURE_STALLED",
				),
			);
		}
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

	// --- consumer side ------------------------------------------------------------------------

	[Symbol.asyncIterator](): this {
		return this;
	}

	next(): Promise<IteratorResult<TransactionPart, undefined>> {
		if (this.waiter)
			return Promise.reject(new Error("BinlogReader.next() called again before the previous call settled"));
		const part = this.queue.shift();
		if (part) {
			this.maybeResume();
			return Promise.resolve({ value: part, done: false });
		}
		if (this.failure) return Promise.reject(this.failure);
		if (this.closed) return Promise.resolve({ value: undefined, done: true });
		return new Promise((resolve, reject) => {
			this.waiter = { resolve, reject };
		});
	}

	async return(): Promise<IteratorResult<TransactionPart, undefined>> {
		await this.close();
		return { value: undefined, done: true };
	}

	async close(): Promise<void> {
		if (!this.closed) {
			this.closed = true;
			this.queue.length = 0;
			const waiter = this.waiter;
			this.waiter = null;
			waiter?.resolve({ value: undefined, done: true });
		}
		await this.stop();
	}

	private stop(): Promise<void> {
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

	private maybeResume(): void {
		if (this.backpressure && this.queue.length < this.maxBufferedParts) {
			this.backpressure = false;
			this.release();
		}
	}

	private push(part: TransactionPart): void {
		if (this.closed || this.failure) return;
		// A run of transactions with nothing captured (other tables only) is one part: the latest
		// position is all the consumer needs from them.
		const last = this.queue[this.queue.length - 1];
		if (part.final && part.changes.length === 0 && last?.final && last.changes.length === 0) {
			const echo = mergedEcho(last.echo, part.echo);
			const { echo: _e, ...rest } = part;
			this.queue[this.queue.length - 1] = { ...rest, bytes: last.bytes + part.bytes, ...(echo ? { echo } : {}) };
			return;
		}
		const waiter = this.waiter;
		if (waiter) {
			this.waiter = null;
			waiter.resolve({ value: part, done: false });
			return;
		}
		this.queue.push(part);
		if (!this.backpressure && this.queue.length >= this.maxBufferedParts) {
			this.backpressure = true;
			this.stats.pauses += 1;
			this.hold();
		}
	}

	fail(err: Error): void {
		if (this.failure || this.closed) return;
		this.failure = err;
		const waiter = this.waiter;
		this.waiter = null;
		waiter?.reject(err);
		void this.stop();
	}

	explain(err: unknown): Error {
		if (err instanceof CaptureError) return err;
		const e = err as { code?: string; message?: string; errno?: number };
		switch (e.code) {
			case "PROTOCOL_CONNECTION_LOST":
			case "ECONNRESET":
			case "EPIPE":
			case "ETIMEDOUT":
				return new CaptureError(
					`lost the binlog connection to ${this.where} (${e.message ?? e.code}): restart capture from the last checkpoint`,
					"CAPTURE_DISCONNECTED",
					{ cause: err },
				);
			case "ECONNREFUSED":
				return new CaptureError(`nothing listens on ${this.where}: is the source running?`, "CAPTURE_DISCONNECTED", {
					cause: err,
				});
		}
		if (/TRANSACTION_PAYLOAD_EVENT|PARTIAL_UPDATE_ROWS_EVENT/.test(e.message ?? "")) {
			return new CaptureError(`cannot capture from ${this.where}: ${e.message}`, "CAPTURE_UNSUPPORTED_EVENT", {
				cause: err,
			});
		}
		if (e.errno === 1236) {
			return new CaptureError(
				`the source cannot serve its binlog from the requested position (${e.message}): the binlogs may have been purged; start a new full migration`,
				"CAPTURE_POSITION_LOST",
				{ cause: err },
			);
		}
		return new CaptureError(
			`binlog capture from ${this.where} failed: ${e.message ?? String(err)}`,
			e.code ?? "CAPTURE_FAILED",
			{
				cause: err,
			},
		);
	}

	// --- producer side ------------------------------------------------------------------------

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
				this.begin(
					{
						gtid: e.gtid,
						maria: { domainId: e.domainId, serverId: e.serverId, seqNo: e.seqNo },
						standalone: e.standalone,
						began: false,
					},
					bytes,
				);
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
		if (this.txn && (this.txn.changes.length > 0 || this.txn.partsSent > 0)) {
			// The previous group had no commit event (never seen with ROW format): what it holds
			// happened, and a new group starts at the end of its last event.
			this.commit(this.lastEndPos, this.txn.timestamp);
		}
		this.txn = { ...t, changes: [], bytes, partsSent: 0, timestamp: 0 };
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

function sameTable(a: TableName, b: TableName): boolean {
	return a.database === b.database && a.table === b.table;
}

/**
 * Two empty final parts merged into one: "checkpoint" only if both were (the consumer need not
 * write a checkpoint for it alone); not an echo if either was not.
 */
function mergedEcho(a: Echo | undefined, b: Echo | undefined): Echo | undefined {
	if (!a || !b) return undefined;
	return a === "checkpoint" && b === "checkpoint" ? "checkpoint" : "data";
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

const INCLUDED_EVENTS = [
	"rotate",
	"format",
	"query",
	"xid",
	"tablemap",
	"writerows",
	"updaterows",
	"deleterows",
	"gtid",
	"anonymousgtid",
	"mariadbgtid",
	"heartbeat",
	"xaprepare",
];

/**
 * Opens a reader at `options.from`. Checks the source's binlog settings first and refuses to
 * start (CaptureError, code CAPTURE_SETTINGS) when they would make capture wrong.
 */
export async function openBinlogReader(creds: Credentials, options: BinlogReaderOptions): Promise<BinlogReader> {
	const where = `${creds.host}:${creds.port}`;
	const ctrl = await connect(creds);
	let zongji: ZongJi | null = null;
	try {
		const errors = (await checkCaptureSettings(ctrl)).filter((f) => f.level === "error");
		if (errors.length > 0) {
			throw new CaptureError(
				`cannot capture from ${where}: ${errors.map((f) => `${f.message} (fix: ${f.fix})`).join("; ")}`,
				"CAPTURE_SETTINGS",
			);
		}
		const { flavor } = await serverFlavor(ctrl);
		let from = options.from === "now" ? await currentPosition(ctrl) : { ...options.from };
		if (flavor === "mariadb" && !from.gtid && from.file) {
			// a file/offset start: its GTID state, so positions handed out carry GTIDs
			const [rows] = await ctrl.query<RowDataPacket[]>("SELECT BINLOG_GTID_POS(?, ?) AS gtid", [from.file, from.pos]);
			from = { ...from, gtid: rows[0]?.gtid == null ? "" : String(rows[0].gtid) };
		}
		const z = new ZongJi({
			host: creds.host,
			port: creds.port,
			user: creds.user,
			password: creds.password,
			...(creds.tls ? { ssl: { rejectUnauthorized: true } } : {}),
			// the server's text for temporal values, TIMESTAMP in UTC (change.ts)
			dateStrings: true,
			timezone: "Z",
			supportBigNumbers: true,
			connectTimeout: 10_000,
		});
		zongji = z;
		const reader = new ZongjiBinlogReader(z, ctrl, flavor, from, where, options);
		reader.sessionDefaults = await readSessionDefaults(ctrl);
		if (options.include) {
			const include = options.include;
			const marks = options.skipEchoes?.table;
			// zongji consults this for every TABLE_MAP; a skipped table's rows are never decoded
			(z as unknown as { _skipSchema(database: string, table: string): boolean })._skipSchema = (database, table) =>
				!(include({ database, table }) || (marks !== undefined && sameTable(marks, { database, table })));
		}
		const ready = new Promise<void>((resolve, reject) => {
			const onError = (err: Error) => reject(reader.explain(err));
			z.once("error", onError);
			z.once("ready", () => {
				z.off("error", onError);
				resolve();
			});
		});
		z.on("error", (err: Error) => reader.fail(reader.explain(err)));
		z.on("binlog", (event: AnyBinlogEvent) => {
			if (event.getEventName() === "tablemap") reader.onTableMap(event as TableMapEvent);
			reader.onEvent(event);
		});
		z.once("ready", () => reader.onReady(options.heartbeatSeconds ?? 2));
		z.start({
			serverId: options.serverId,
			includeEvents: INCLUDED_EVENTS,
			...(from.gtid ? { gtidSet: from.gtid } : { filename: from.file, position: Math.max(4, from.pos) }),
		});
		reader.attach();
		await ready;
		return reader;
	} catch (err) {
		if (zongji) zongji.stop();
		await ctrl.end().catch(() => ctrl.destroy());
		throw err;
	}
}
