import type { Value } from "../capture/change.ts";
import type { ColumnInfo } from "../db/introspect.ts";
import { APPROXIMATE_TYPES, BINARY_STRING_TYPES, INTEGER_TYPES, SPATIAL_TYPES } from "../db/types.ts";
import { members, typeArgs } from "../sinks/formats/values.ts";
import {
	type FeedEvent,
	type FeedFormat,
	FeedFormatError,
	type FeedRecord,
	type FeedRow,
	type FeedTransaction,
	type RawImage,
} from "./event.ts";
import { exactInteger, ferryFeedFormat, recordJson } from "./ferry-values.ts";

/*
 * Ferry's own Canal flat messages (shared/sinks/formats/canal.ts) read back as a change feed:
 * INSERT/UPDATE/DELETE rows (each of `data`, with `old` holding an update's changed columns
 * only, so the row before is {...data, ...old}), DDL (isDdl), and heartbeats (type MHEARTBEAT,
 * isHeartbeat), which carry no change.
 * The transaction is named by its GTID and ordered by the GTID's sequence number (MariaDB
 * 'domain-server-n', MySQL 'uuid:n': n), which follows commit order within one GTID domain; the
 * commit time is `es`. Snapshot rows are INSERTs without a GTID (canal.ts): they are read back
 * as op "read" of one transaction "snapshot" ordered first (0). Ferry's canal output carries no
 * other position, so the feed of a source without GTIDs (MySQL with gtid_mode OFF) cannot be
 * read: its updates, deletes and DDL are refused, and its inserts would pass for snapshot rows.
 *
 * Values are all strings: integers and DECIMAL as their digits, FLOAT/DOUBLE as Java prints
 * them, BIT an unsigned decimal, ENUM the member's 1-based index (0 the '' error value), SET a
 * bitmask of members, binary and spatial values one ISO-8859-1 character per byte, temporal
 * values and text as they are (zero dates too). ENUM and SET values name members by position, so
 * they come back as the member the table now has there; a value the column type did not list when
 * it was sent (a backlog across an ALTER) came as index 0 or without its bit, and reads back as ''
 * or without that member.
 */

const OPS: Record<string, FeedRow["op"]> = { INSERT: "insert", UPDATE: "update", DELETE: "delete" };

/** A GTID's sequence number: '0-1-42' and '3e11fa47-71ca-11e1-9e33-c80aa9429562:42' -> 42n. */
function sequenceOf(gtid: string, record: FeedRecord): bigint {
	const m = /^\d+-\d+-(\d+)$/.exec(gtid) ?? /^[0-9a-f-]{36}(?::[a-z_][a-z0-9_]*)?:(\d+)$/i.exec(gtid);
	if (!m) throw new FeedFormatError(`'${gtid}' is not one GTID`, record);
	return BigInt(m[1] as string);
}

function transactionOf(message: Record<string, unknown>, record: FeedRecord, snapshot: boolean): FeedTransaction {
	const { gtid, es } = message;
	if (typeof es !== "number") throw new FeedFormatError("the message has no commit time (es)", record);
	if (snapshot) return { id: "snapshot", order: 0n, commitTime: es };
	if (typeof gtid !== "string" || gtid === "") {
		throw new FeedFormatError("a change without a GTID: Ferry's canal output of this source cannot be ordered", record);
	}
	return { id: gtid, order: sequenceOf(gtid, record), commitTime: es, gtid };
}

function images(value: unknown, record: FeedRecord): RawImage[] {
	if (value === null || value === undefined) return [];
	if (!Array.isArray(value) || value.some((v) => v === null || typeof v !== "object")) {
		throw new FeedFormatError("data/old is not a list of rows", record);
	}
	return value as RawImage[];
}

function rows(message: Record<string, unknown>, record: FeedRecord): FeedRow[] {
	const op = OPS[message.type as string];
	if (!op) throw new FeedFormatError(`unknown type '${String(message.type)}'`, record);
	if (typeof message.database !== "string" || typeof message.table !== "string") {
		throw new FeedFormatError("the message names no table", record);
	}
	const table = { database: message.database, table: message.table };
	const snapshot = op === "insert" && !message.gtid;
	const transaction = transactionOf(message, record, snapshot);
	const types = message.mysqlType ? { types: message.mysqlType as Record<string, string> } : {};
	const old = images(message.old, record);
	return images(message.data, record).map((data, i): FeedRow => {
		const common = { kind: "row" as const, table, ...types, transaction };
		if (op === "delete") return { ...common, op, before: data };
		if (op === "update") return { ...common, op, before: { ...data, ...old[i] }, after: data };
		return { ...common, op: snapshot ? "read" : op, after: data };
	});
}

function decode(record: FeedRecord): FeedEvent[] {
	if (record.value === null) return [];
	const message = recordJson(record);
	if (message.isHeartbeat === true || message.type === "MHEARTBEAT") return [];
	if (message.isDdl === true) {
		if (typeof message.sql !== "string") throw new FeedFormatError("a DDL message without sql", record);
		return [
			{
				kind: "ddl",
				database: String(message.database ?? ""),
				...(typeof message.table === "string" && message.table !== "" ? { table: message.table } : {}),
				sql: message.sql,
				transaction: transactionOf(message, record, false),
			},
		];
	}
	return rows(message, record);
}

/** A BIT(M) value's unsigned decimal as capture's big-endian bytes, (M + 7) / 8 of them. */
function bits(text: string, column: ColumnInfo): Buffer {
	const width = ((typeArgs(column)[0] ?? 1) + 7) >> 3;
	return Buffer.from(
		BigInt(text)
			.toString(16)
			.padStart(width * 2, "0"),
		"hex",
	);
}

/** A SET's bitmask as its members in the column's order ('a,c'). */
function setText(text: string, column: ColumnInfo): string {
	const mask = BigInt(text);
	return members(column)
		.filter((_, i) => (mask >> BigInt(i)) & 1n)
		.join(",");
}

/** One column's canal string (never null) as capture's value. */
export function canalValue(value: unknown, column: ColumnInfo): Value {
	if (typeof value !== "string") throw new FeedFormatError(`a canal value is not a string: ${JSON.stringify(value)}`);
	const type = column.dataType;
	if (type === "year") return Number(value);
	if (INTEGER_TYPES.has(type)) return exactInteger(value);
	if (APPROXIMATE_TYPES.has(type)) return type === "float" ? Math.fround(Number(value)) : Number(value);
	if (BINARY_STRING_TYPES.has(type) || SPATIAL_TYPES.has(type)) return Buffer.from(value, "latin1");
	switch (type) {
		case "bit":
			return bits(value, column);
		case "enum":
			return members(column)[Number(value) - 1] ?? "";
		case "set":
			return setText(value, column);
		default:
			// DECIMAL, temporal values, text, JSON, UUID/INET: the capture text itself
			return value;
	}
}

export function canalFeedFormat(): FeedFormat {
	return ferryFeedFormat("canal", decode, canalValue);
}
