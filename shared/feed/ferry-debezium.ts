import {
	type FeedEvent,
	type FeedFormat,
	FeedFormatError,
	type FeedRecord,
	type FeedRow,
	type FeedTransaction,
	type RawImage,
} from "./event.ts";
import { connectValue, schemaTypes } from "./ferry-debezium-values.ts";
import { ferryFeedFormat, recordJson } from "./ferry-values.ts";

/*
 * Ferry's own Debezium output (shared/sinks/formats/debezium.ts) read back as a change feed, with
 * or without the {schema, payload} envelope (the `schemas` option):
 * - a change event (op c/u/d/r) is a row: insert, update, delete, or "read" for a snapshot row;
 * - a schema change (the `<prefix>` topic: databaseName, ddl) is a DDL statement;
 * - tombstones (null values), transaction metadata (BEGIN/END on `<prefix>.transaction`) and
 *   heartbeats (`__debezium-heartbeat.<prefix>`) carry no change: no events.
 * The transaction is the event's source block: named by its GTID or else `file:pos` (where it
 * starts in the binlog), ordered by that place (binlog file number << 40 | offset), its commit
 * time source.ts_ms. Snapshot rows carry the snapshot's position and no GTID; their transaction
 * is named `snapshot:file:pos` (Ferry's own deduplication key's prefix, sinks/event.ts dedupKey)
 * so it never takes the name of the first transaction streamed after the snapshot, which starts
 * at that same position.
 * An update that changes the key arrives as Debezium sends it: a delete under the old key and a
 * create under the new one (their `__debezium.newkey`/`oldkey` headers are not read), which
 * leave the row as the update did.
 */

const OPS: Record<string, FeedRow["op"]> = { c: "insert", u: "update", d: "delete", r: "read" };

/** 'mariadb-bin.000012' -> 12n. */
function fileNumber(file: string, record: FeedRecord): bigint {
	const m = /\.(\d+)$/.exec(file);
	if (!m) throw new FeedFormatError(`binlog file '${file}' has no number`, record);
	return BigInt(m[1] as string);
}

function transactionOf(source: Record<string, unknown>, record: FeedRecord, snapshot: boolean): FeedTransaction {
	const { file, pos, gtid, ts_ms: commitTime } = source;
	if (typeof file !== "string" || typeof pos !== "number" || typeof commitTime !== "number") {
		throw new FeedFormatError("the source block lacks file, pos or ts_ms", record);
	}
	const place = `${file}:${pos}`;
	const id = snapshot ? `snapshot:${place}` : typeof gtid === "string" && gtid !== "" ? gtid : place;
	return {
		id,
		order: (fileNumber(file, record) << 40n) | BigInt(pos),
		commitTime,
		...(typeof gtid === "string" && gtid !== "" ? { gtid } : {}),
		file,
		pos,
	};
}

function image(value: unknown, record: FeedRecord): RawImage | undefined {
	if (value === null || value === undefined) return undefined;
	if (typeof value !== "object" || Array.isArray(value))
		throw new FeedFormatError("a row image is not an object", record);
	return value as RawImage;
}

function sourceOf(payload: Record<string, unknown>, record: FeedRecord): Record<string, unknown> {
	const source = payload.source;
	if (source === null || typeof source !== "object") throw new FeedFormatError("the event has no source block", record);
	return source as Record<string, unknown>;
}

function rowEvent(payload: Record<string, unknown>, schema: unknown, record: FeedRecord): FeedRow {
	const op = OPS[payload.op as string];
	if (!op) throw new FeedFormatError(`unknown op '${String(payload.op)}'`, record);
	const source = sourceOf(payload, record);
	if (typeof source.db !== "string" || typeof source.table !== "string") {
		throw new FeedFormatError("the source block names no table", record);
	}
	const before = image(payload.before, record);
	const after = image(payload.after, record);
	if ((op === "delete" || op === "update") && !before)
		throw new FeedFormatError(`op '${payload.op}' without before`, record);
	if (op !== "delete" && !after) throw new FeedFormatError(`op '${payload.op}' without after`, record);
	const types = schemaTypes(schema);
	return {
		kind: "row",
		op,
		table: { database: source.db, table: source.table },
		...(before && op !== "insert" && op !== "read" ? { before } : {}),
		...(after && op !== "delete" ? { after } : {}),
		...(types ? { types } : {}),
		...(op !== "read" && typeof source.row === "number" ? { index: source.row } : {}),
		transaction: transactionOf(source, record, op === "read"),
	};
}

function decode(record: FeedRecord): FeedEvent[] {
	if (record.value === null) return []; // a tombstone
	const body = recordJson(record);
	const enveloped = Object.hasOwn(body, "schema") && Object.hasOwn(body, "payload");
	const payload = enveloped ? body.payload : body;
	if (payload === null || typeof payload !== "object") return [];
	const p = payload as Record<string, unknown>;
	if (typeof p.op === "string") return [rowEvent(p, enveloped ? body.schema : undefined, record)];
	if (typeof p.ddl === "string") {
		const source = sourceOf(p, record);
		const database = typeof p.databaseName === "string" ? p.databaseName : String(source.db ?? "");
		return [
			{
				kind: "ddl",
				database,
				...(typeof source.table === "string" && source.table !== "" ? { table: source.table } : {}),
				sql: p.ddl,
				transaction: transactionOf(source, record, false),
			},
		];
	}
	if (p.status === "BEGIN" || p.status === "END") return [];
	if (record.topic.startsWith("__debezium-heartbeat.") || Object.keys(p).join() === "ts_ms") return [];
	throw new FeedFormatError("not a message of Ferry's Debezium format", record);
}

export function debeziumFeedFormat(): FeedFormat {
	return ferryFeedFormat("debezium", decode, connectValue);
}
