import type { RowDataPacket } from "mysql2";
import { type Flavor, serverFlavor } from "../binlog/server.ts";
import type { Connection } from "../db/connect.ts";

/** One thing the source's settings or the user's privileges get wrong for capture, and how to fix it. */
export interface CaptureFinding {
	level: "error" | "warning";
	/** What the finding is about: a server variable (`@@binlog_format`) or `privileges`. */
	object: string;
	message: string;
	fix: string;
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
