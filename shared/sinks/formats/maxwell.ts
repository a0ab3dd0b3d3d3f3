import type { RowImage } from "../../capture/change.ts";
import { type DdlEvent, dedupKey, type EventSource, type RowEvent, type SinkTable } from "../event.ts";
import { type DdlStatement, parseDdl } from "./ddl.ts";
import type { Format, SinkMessage } from "./format.ts";
import { type JsonValue, jsonBuffer, jsonText } from "./json.ts";
import { maxwellValue } from "./maxwell-values.ts";
import { identifyingImage, imageColumns, keyValues } from "./values.ts";

/*
 * Maxwell's JSON (zendesk/maxwell: RowMap.toJSON, DDLMap, RowIdentity; docs/dataformat.md), as
 * Maxwell writes it with --output_binlog_position, --output_server_id and --output_ddl:
 *
 *   {"database","table","type":"insert|update|delete","ts":seconds,"xid","commit":true (last row
 *    of the transaction only),"position":"file:pos","server_id","data":{...},"old":{changed}}
 *
 * Snapshot rows are Maxwell's bootstrap: "bootstrap-insert" rows with database, table, type, ts
 * and data only; the table's first row is preceded by a "bootstrap-start" and its last row
 * followed by a "bootstrap-complete" message (empty data), read from the snapshot flags
 * (first[_in_data_collection], last[_in_data_collection]); an empty table, which has no rows,
 * has neither.
 *
 * DDL (Maxwell's schema changes): table-create, table-alter (ALTER TABLE, and each pair of a
 * RENAME TABLE), table-drop (one per table dropped), database-create, database-alter (with the
 * charset the statement names, else null) and database-drop, with "ts" in milliseconds, "sql"
 * and "position". Maxwell leaves out TRUNCATE, CREATE/DROP INDEX, temporary tables, views and
 * routines, and so does Ferry. Not written: the "def"/"old" table definitions (the event carries
 * the statement only), "thread_id" (not captured).
 *
 * The message key is Maxwell's Kafka key, kafka_key_format=hash:
 * {"database":"shop","table":"t","pk.id":1}. Where Maxwell uses a random UUID (the "_uuid" of a
 * row without a primary key, a DDL message's whole key) Ferry uses the deduplication key, stable
 * across restarts. Heartbeats: none (Maxwell keeps its own heartbeats out of the stream).
 *
 * "xid" is InnoDB's transaction id in Maxwell, which the binlog reader does not keep: Ferry
 * writes a number just as unique and stable, the transaction's start in the binlog,
 * file sequence x 2^32 + offset ("mysql-bin.000006" at 800911 -> 25770604687).
 */

/** The message's "ts": seconds. */
function seconds(ms: number): number {
	return Math.floor(ms / 1000);
}

function transactionNumber(source: EventSource): number {
	const sequence = Number(/(\d+)$/.exec(source.file)?.[1] ?? 0);
	return sequence * 2 ** 32 + source.pos;
}

function data(table: SinkTable, image: RowImage): Map<string, JsonValue> {
	return new Map(imageColumns(table, image).map((c) => [c.name, maxwellValue(c, image[c.name] ?? null)]));
}

/** Maxwell's key: the table and its primary key values, or a unique string without them. */
function messageKey(table: SinkTable, pk: [string, JsonValue][], source: EventSource): Buffer {
	const key = new Map<string, JsonValue>([
		["database", table.name.database],
		["table", table.name.table],
	]);
	for (const [name, value] of pk) key.set(`pk.${name.toLowerCase()}`, value);
	if (pk.length === 0) key.set("_uuid", dedupKey(source));
	return jsonBuffer(key);
}

function rowKey(table: SinkTable, image: RowImage, source: EventSource): Buffer {
	return messageKey(table, [...(keyValues(table, image, maxwellValue) ?? [])], source);
}

function bootstrapMessage(event: RowEvent, type: string, values: Map<string, JsonValue>, key: Buffer): SinkMessage {
	const message = {
		database: event.table.name.database,
		table: event.table.name.table,
		type,
		ts: seconds(event.source.commitTime),
		data: values,
	};
	return { key, value: jsonBuffer(message) };
}

/**
 * A snapshot row as Maxwell's bootstrap writes it; the start message's key has the primary key
 * columns without values, the completion message's none (Maxwell's RowIdentity of each).
 */
function snapshotRow(event: RowEvent): SinkMessage[] {
	const { table, source } = event;
	const after = event.after ?? {};
	const out = [bootstrapMessage(event, "bootstrap-insert", data(table, after), rowKey(table, after, source))];
	if (source.snapshot === "first" || source.snapshot === "first_in_data_collection") {
		const pk = table.key.map((name): [string, JsonValue] => [name, null]);
		out.unshift(bootstrapMessage(event, "bootstrap-start", new Map(), messageKey(table, pk, source)));
	}
	if (source.snapshot === "last" || source.snapshot === "last_in_data_collection") {
		out.push(bootstrapMessage(event, "bootstrap-complete", new Map(), messageKey(table, [], source)));
	}
	return out;
}

function row(event: RowEvent): SinkMessage[] {
	if (event.op === "read") return snapshotRow(event);
	const { table, source } = event;
	const image = identifyingImage(event.after, event.before);
	const values = data(table, image);
	const old = new Map<string, JsonValue>();
	if (event.op === "update" && event.before) {
		for (const [name, value] of data(table, event.before)) {
			if (values.has(name) && jsonText(values.get(name) ?? null) !== jsonText(value)) old.set(name, value);
		}
	}
	const message = {
		database: table.name.database,
		table: table.name.table,
		type: event.op,
		ts: seconds(source.commitTime),
		xid: transactionNumber(source),
		commit: source.last,
		position: `${source.file}:${source.pos}`,
		server_id: source.serverId,
		data: values,
		old: old.size > 0 ? old : undefined,
	};
	return [{ key: rowKey(table, image, source), value: jsonBuffer(message) }];
}

/** Maxwell's schema changes for a statement: [type, database, table?, charset?] each. */
function schemaChanges(
	s: DdlStatement,
): { type: string; database?: string; table?: string; charset?: string | null }[] {
	if (s.temporary) return [];
	switch (s.kind) {
		case "create-table":
			return s.tables.map((t) => ({ type: "table-create", ...t }));
		case "alter-table":
		case "rename-table":
			return s.tables.map((t) => ({ type: "table-alter", ...t }));
		case "drop-table":
			return s.tables.map((t) => ({ type: "table-drop", ...t }));
		case "create-database":
			return [{ type: "database-create", database: s.database ?? "", charset: s.charset ?? null }];
		case "alter-database":
			return [{ type: "database-alter", database: s.database ?? "", charset: s.charset ?? null }];
		case "drop-database":
			return [{ type: "database-drop", database: s.database ?? "" }];
		default:
			return [];
	}
}

function ddl(event: DdlEvent): SinkMessage[] {
	const { source } = event;
	return schemaChanges(parseDdl(event.sql, event.database)).map((change) => ({
		key: Buffer.from(dedupKey(source)),
		value: jsonBuffer({
			...change,
			ts: source.commitTime,
			sql: event.sql,
			position: `${source.file}:${source.pos}`,
		}),
	}));
}

export function maxwellFormat(): Format {
	return { row, ddl, heartbeat: () => [] };
}
