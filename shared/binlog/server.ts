import type { RowDataPacket } from "mysql2";
import type { Connection, Pool } from "../db/connect.ts";

/** What a MySQL or MariaDB server says about itself and its binary log, for positions and capture prechecks. */

export type Flavor = "mariadb" | "mysql";

export async function serverFlavor(conn: Connection | Pool): Promise<{ flavor: Flavor; version: string }> {
	const [rows] = await conn.query<RowDataPacket[]>("SELECT VERSION() AS version");
	const version = String(rows[0]?.version ?? "");
	return { flavor: /mariadb/i.test(version) ? "mariadb" : "mysql", version };
}

export interface MasterStatus {
	file: string;
	pos: number;
	executedGtidSet?: string;
}

export async function masterStatus(conn: Connection | Pool): Promise<MasterStatus | null> {
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
