import type { Connection } from "../../db/connect.ts";
import { describeServer } from "../../schema/read.ts";

/**
 * Makes the server stop any statement of this session that runs longer than `seconds`: MariaDB's
 * max_statement_time (every statement), MySQL's and TiDB's max_execution_time (SELECTs only; a
 * write there is bounded by lock wait timeouts and by killing its session), OceanBase's ob_query_timeout.
 */
export async function boundStatements(conn: Connection, seconds: number): Promise<void> {
	const { flavor } = await describeServer(conn);
	if (flavor === "mariadb") await conn.query("SET SESSION max_statement_time = ?", [seconds]);
	else if (flavor === "oceanbase") await conn.query("SET SESSION ob_query_timeout = ?", [seconds * 1_000_000]);
	else await conn.query("SET SESSION max_execution_time = ?", [seconds * 1000]);
}
