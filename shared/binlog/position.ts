import type { RowDataPacket } from "mysql2";
import { CaptureError } from "../capture/errors.ts";
import type { Connection, Pool } from "../db/connect.ts";
import { masterStatus, serverFlavor } from "./server.ts";

/*
 * Binlog positions, in one place: what a position is, where the source stands now, and how two
 * positions compare. Control, verify, switchover and replication read positions from here
 * without loading the binlog reader (capture/reader.ts and zongji).
 */

/**
 * A position in the source's binlog: the GTID state after a transaction, and the file offset. A
 * TiDB source, whose changes come through TiCDC (shared/feed/), stands at a commit timestamp
 * instead (`tso`; gtid and file empty, pos 0).
 */
export interface SourcePosition {
	/** MariaDB: a gtid_binlog_pos-style list ('0-1-100,1-2-7'); MySQL: an executed GTID set. Empty if GTIDs are off. */
	gtid: string;
	file: string;
	pos: number;
	/**
	 * TiDB: every transaction committed at or below this TSO (a 64-bit decimal string, never a
	 * JavaScript number) is included.
	 */
	tso?: string;
	/** A stream fed from Kafka: where to read each partition again (shared/feed/cursor.ts). */
	feed?: FeedCursor;
}

/**
 * Where a change feed's reader resumes: per partition ('topic:partition'), the offset of the first
 * record it has not finished with, and the last watermark that partition gave (TiCDC), both as
 * decimal strings.
 */
export interface FeedCursor {
	offsets: Record<string, string>;
	watermarks?: Record<string, string>;
}

/*
 * Ordering of source positions, for the switch from safe to exact mode, for skipping
 * transactions a restart delivers again, and for waiting until a stream has reached a point.
 *
 * Two GTID flavours are understood:
 * - MariaDB: a gtid_binlog_pos-style list `domain-server-seq,...` (one entry per domain); a
 *   position has reached another when, in every domain of the other, its sequence number is at
 *   least as high (sequence numbers grow per domain whatever the server id);
 * - MySQL: an executed GTID set `uuid:1-5:7,uuid2:1-3`; a position has reached another when its
 *   set contains the other's.
 * Without GTIDs the binlog file (by its numeric suffix) and offset are compared.
 */

type MariaGtids = Map<number, bigint>;
type MysqlGtids = Map<string, [bigint, bigint][]>;

function isMysqlSet(text: string): boolean {
	return text.includes(":");
}

function parseMaria(text: string): MariaGtids {
	const out: MariaGtids = new Map();
	for (const raw of text.split(",")) {
		const item = raw.trim();
		if (!item) continue;
		const m = /^(\d+)-(\d+)-(\d+)$/.exec(item);
		if (!m) throw new Error(`'${item}' is not a MariaDB GTID (domain-server-sequence)`);
		const domain = Number(m[1]);
		const seq = BigInt(m[3] as string);
		const prev = out.get(domain);
		if (prev === undefined || seq > prev) out.set(domain, seq);
	}
	return out;
}

function parseMysql(text: string): MysqlGtids {
	const out: MysqlGtids = new Map();
	for (const raw of text.split(",")) {
		const item = raw.trim();
		if (!item) continue;
		const [uuid, ...ranges] = item.split(":");
		if (!uuid || ranges.length === 0) throw new Error(`'${item}' is not a MySQL GTID set entry (uuid:interval)`);
		const key = uuid.toLowerCase();
		const list = out.get(key) ?? [];
		for (const r of ranges) {
			const m = /^(\d+)(?:-(\d+))?$/.exec(r.trim());
			if (!m) throw new Error(`'${item}' is not a MySQL GTID set entry (bad interval '${r}')`);
			const lo = BigInt(m[1] as string);
			list.push([lo, m[2] === undefined ? lo : BigInt(m[2])]);
		}
		out.set(key, list);
	}
	return out;
}

function mysqlContains(set: MysqlGtids, uuid: string, n: bigint): boolean {
	return (set.get(uuid.toLowerCase()) ?? []).some(([lo, hi]) => n >= lo && n <= hi);
}

function fileNumber(file: string): [string, number] {
	const m = /^(.*?)(\d+)$/.exec(file);
	return m ? [m[1] as string, Number(m[2])] : [file, 0];
}

/** Compares binlog file positions: negative, zero or positive. */
export function compareFilePositions(a: SourcePosition, b: SourcePosition): number {
	const [ab, an] = fileNumber(a.file);
	const [bb, bn] = fileNumber(b.file);
	if (ab !== bb) return ab < bb ? -1 : 1;
	if (an !== bn) return an - bn;
	return a.pos - b.pos;
}

/**
 * True when `position` is at or past `target`: every transaction up to `target` is at or before
 * `position`. GTIDs decide when `target` has them; otherwise file and offset.
 */
export function hasReached(position: SourcePosition | null | undefined, target: SourcePosition): boolean {
	if (!position) return false;
	if (target.tso !== undefined) return position.tso !== undefined && BigInt(position.tso) >= BigInt(target.tso);
	const goal = target.gtid.trim();
	if (goal) {
		const have = position.gtid.trim();
		if (!have) return compareFilePositions(position, target) >= 0;
		if (isMysqlSet(goal)) {
			const set = parseMysql(have);
			for (const [uuid, ranges] of parseMysql(goal)) {
				for (const [lo, hi] of ranges) {
					// Sets are small; intervals are checked at both ends and, for safety, every gap.
					const mine = set.get(uuid) ?? [];
					const covered = mine.some(([a, b]) => a <= lo && b >= hi);
					if (!covered) return false;
				}
			}
			return true;
		}
		const mine = parseMaria(have);
		for (const [domain, seq] of parseMaria(goal)) {
			const s = mine.get(domain);
			if (s === undefined || s < seq) return false;
		}
		return true;
	}
	return compareFilePositions(position, target) >= 0;
}

/**
 * True when the transaction with GTID `gtid` ('0-1-1234' or 'uuid:1234') is already included in
 * the position `state` (a checkpoint): a restart delivered it again. False when unknown.
 */
export function includesTransaction(state: SourcePosition | null | undefined, gtid: string | undefined): boolean {
	if (!state || !gtid || !state.gtid.trim()) return false;
	const g = gtid.trim();
	if (isMysqlSet(g)) {
		if (!isMysqlSet(state.gtid)) return false;
		const i = g.lastIndexOf(":");
		const n = /^\d+$/.test(g.slice(i + 1)) ? BigInt(g.slice(i + 1)) : null;
		return n !== null && mysqlContains(parseMysql(state.gtid), g.slice(0, i), n);
	}
	const m = /^(\d+)-(\d+)-(\d+)$/.exec(g);
	if (!m || isMysqlSet(state.gtid)) return false;
	const seq = parseMaria(state.gtid).get(Number(m[1]));
	return seq !== undefined && seq >= BigInt(m[3] as string);
}

/**
 * True when two positions name the same point of the binlog (a stream caught up with its source):
 * the same GTID state in any order, or without GTIDs the same file and offset.
 */
export function samePosition(a: SourcePosition, b: SourcePosition): boolean {
	if (a.tso !== undefined || b.tso !== undefined) return a.tso === b.tso;
	if (a.gtid || b.gtid) return normaliseGtid(a.gtid) === normaliseGtid(b.gtid);
	return a.file === b.file && a.pos === b.pos;
}

function normaliseGtid(gtid: string): string {
	return gtid
		.split(",")
		.map((s) => s.trim())
		.filter(Boolean)
		.sort()
		.join(",");
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

/**
 * The GTID state `state` extended by the transaction `gtid`: MariaDB's entry for its domain
 * replaced, MySQL's set given the transaction's number. What a reader that sees transactions
 * rather than binlog events (shared/feed/) keeps as its position.
 */
export function addTransaction(state: string, gtid: string): string {
	const g = gtid.trim();
	if (!g) return state;
	if (isMysqlSet(g)) {
		const i = g.lastIndexOf(":");
		const uuid = g.slice(0, i).toLowerCase();
		const n = BigInt(g.slice(i + 1));
		const set = parseMysql(state);
		const ranges = [...(set.get(uuid) ?? []), [n, n] as [bigint, bigint]].sort((a, b) =>
			a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0,
		);
		const merged: [bigint, bigint][] = [];
		for (const [lo, hi] of ranges) {
			const last = merged.at(-1);
			if (!last || lo > last[1] + 1n) merged.push([lo, hi]);
			else if (hi > last[1]) last[1] = hi;
		}
		set.set(uuid, merged);
		return [...set]
			.map(([u, rs]) => `${u}:${rs.map(([lo, hi]) => (lo === hi ? `${lo}` : `${lo}-${hi}`)).join(":")}`)
			.join(",");
	}
	const m = /^(\d+)-(\d+)-(\d+)$/.exec(g);
	if (!m) throw new Error(`'${g}' is not a MariaDB GTID (domain-server-sequence)`);
	const entries = state
		.split(",")
		.map((s) => s.trim())
		.filter((s) => s && !s.startsWith(`${m[1]}-`));
	return [...entries, g].sort((a, b) => Number(a.split("-")[0]) - Number(b.split("-")[0])).join(",");
}
