import type { RowDataPacket } from "mysql2";
import type { Connection, Pool } from "../db/connect.ts";
import { feedClock } from "../model/feed.ts";
import type { Project } from "../model/project.ts";
import { currentPosition, type SourcePosition } from "./position.ts";

/*
 * TiDB's clock. A TiDB source has no binlog: its changes come through TiCDC (shared/feed/), each
 * stamped with its commit TSO, a 64-bit timestamp from TiDB's placement driver whose high bits
 * are milliseconds since the epoch and whose low 18 bits a counter. A TiDB project's positions
 * (where replay starts, where the copy ended, where the switchover stopped writes) are TSOs.
 */

/** The TSO's low bits, a logical counter within one millisecond. */
const LOGICAL_BITS = 18n;

/** The TSO's physical part: epoch milliseconds. */
export function tsoTime(tso: bigint): number {
	return Number(tso >> LOGICAL_BITS);
}

/** The highest TSO of an epoch millisecond: at or above every commit in it. */
export function tsoAtEndOf(epochMs: bigint): bigint {
	return (epochMs << LOGICAL_BITS) | ((1n << LOGICAL_BITS) - 1n);
}

/**
 * A TSO at or above every transaction the source has committed. On TiDB, the start timestamp of a
 * fresh transaction (`@@tidb_current_ts`), which the placement driver hands out above every
 * commit so far. On any other server (the tests' MariaDB standing in for TiDB's SQL side: no
 * TiDB server runs here), the TSO its clock's current millisecond would end with: a change feed
 * written for such a server stamps commits by the same clock (test/support/ticdc.ts).
 */
export async function currentTso(pool: Connection | Pool): Promise<string> {
	if (!(await isTidb(pool))) {
		const [rows] = await pool.query<RowDataPacket[]>("SELECT CAST(FLOOR(UNIX_TIMESTAMP(NOW(3)) * 1000) AS CHAR) AS ms");
		return tsoAtEndOf(BigInt(String(rows[0]?.ms))).toString();
	}
	const pooled = "getConnection" in pool ? await pool.getConnection() : null;
	const conn = pooled ?? (pool as Connection);
	try {
		await conn.query("START TRANSACTION");
		const [rows] = await conn.query<RowDataPacket[]>("SELECT CAST(@@tidb_current_ts AS CHAR) AS tso");
		await conn.query("ROLLBACK");
		const tso = String(rows[0]?.tso ?? "");
		if (!/^[1-9]\d*$/.test(tso)) throw new Error(`TiDB gave no transaction timestamp (@@tidb_current_ts is '${tso}')`);
		return tso;
	} finally {
		pooled?.release();
	}
}

/** Where the project's source stands now, by the project's clock. */
export async function sourcePositionNow(
	conn: Connection | Pool,
	project: Pick<Project, "feed">,
): Promise<SourcePosition> {
	if (feedClock(project.feed) === "binlog") return currentPosition(conn);
	return { gtid: "", file: "", pos: 0, tso: await currentTso(conn) };
}

/**
 * The TSO every chunk of a TiDB project fed by TiCDC reads its source at (`tidb_snapshot`), so the
 * copy is one snapshot and replay applies exactly what was committed after it: the start position.
 */
export function copySnapshotTso(project: Pick<Project, "feed" | "incremental">): string | undefined {
	return feedClock(project.feed) === "tso" ? project.incremental?.startPosition?.tso : undefined;
}

/** True for a TiDB server: only it can read as of a TSO (the tests' stand-in for it cannot). */
export async function isTidb(conn: Connection | Pool): Promise<boolean> {
	const [rows] = await conn.query<RowDataPacket[]>("SELECT VERSION() AS v");
	return /TiDB/i.test(String(rows[0]?.v ?? ""));
}
