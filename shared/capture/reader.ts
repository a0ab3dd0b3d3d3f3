import ZongJi, { type AnyBinlogEvent, type TableMapEvent } from "@vlasky/zongji";
import type { RowDataPacket } from "mysql2";
import { currentPosition } from "../binlog/position.ts";
import { serverFlavor } from "../binlog/server.ts";
import { connect } from "../db/connect.ts";
import type { Credentials } from "../model/datasource.ts";
import { CaptureError } from "./errors.ts";
import { checkCaptureSettings } from "./precheck.ts";
import type { BinlogReader, BinlogReaderOptions } from "./reader-types.ts";
import { readSessionDefaults } from "./session.ts";
import { cacheTableMaps } from "./tablemap-cache.ts";
import { sameTable, ZongjiBinlogReader } from "./zongji-reader.ts";

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
		cacheTableMaps(z as unknown as Parameters<typeof cacheTableMaps>[0]);
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
