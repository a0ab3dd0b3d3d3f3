import type { DdlChange, RowChange, TransactionPart } from "../capture/change.ts";
import type { SinkCatalog } from "./catalog.ts";
import type { DdlEvent, EventSource, RowEvent } from "./event.ts";

/*
 * The replication stream's transaction parts as sink events: one RowEvent per row change and one
 * DdlEvent per statement, numbered within their transaction (the deduplication key's row index).
 */

const TABLE_DDL =
	/^\s*(?:CREATE|ALTER|DROP|TRUNCATE|RENAME)\s+(?:(?:TEMPORARY|ONLINE|IGNORE)\s+)*TABLE\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?(`(?:[^`]|``)+`|[\w$]+)(?:\s*\.\s*(`(?:[^`]|``)+`|[\w$]+))?/i;

function unquote(name: string): string {
	return name.startsWith("`") ? name.slice(1, -1).replaceAll("``", "`") : name;
}

/**
 * The table a DDL statement changes, when it names one first (CREATE/ALTER/DROP/TRUNCATE/RENAME
 * TABLE): routing sends the statement with that table's rows, so it stays in order with them.
 */
export function ddlTable(sql: string, defaultDatabase: string): { database: string; table: string } | undefined {
	const m = TABLE_DDL.exec(sql);
	if (!m?.[1]) return undefined;
	return m[2] ? { database: unquote(m[1]), table: unquote(m[2]) } : { database: defaultDatabase, table: unquote(m[1]) };
}

function sourceOf(part: TransactionPart, rowIndex: number, serverId: number): EventSource {
	return {
		...(part.gtid ? { gtid: part.gtid } : {}),
		file: part.start.file,
		pos: part.start.pos,
		rowIndex,
		commitTime: part.commitTime,
		serverId,
	};
}

export async function rowEvent(
	change: RowChange,
	part: TransactionPart,
	rowIndex: number,
	catalog: SinkCatalog,
	serverId: number,
): Promise<RowEvent> {
	return {
		kind: "row",
		op: change.kind,
		table: await catalog.table(change.table),
		...(change.before ? { before: change.before } : {}),
		...(change.after ? { after: change.after } : {}),
		source: sourceOf(part, rowIndex, serverId),
	};
}

export function ddlEvent(change: DdlChange, part: TransactionPart, rowIndex: number, serverId: number): DdlEvent {
	const target = ddlTable(change.sql, change.database);
	return {
		kind: "ddl",
		database: target?.database ?? change.database,
		...(target ? { table: target.table } : {}),
		sql: change.sql,
		source: sourceOf(part, rowIndex, serverId),
	};
}
