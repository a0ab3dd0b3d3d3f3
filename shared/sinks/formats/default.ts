import type { RowImage, Value } from "../../capture/change.ts";
import type { ColumnInfo } from "../../db/introspect.ts";
import { APPROXIMATE_TYPES } from "../../db/types.ts";
import type { SyncOptions } from "../../model/sync.ts";
import {
	type DdlEvent,
	dedupKey,
	type EventSource,
	type HeartbeatEvent,
	type RowEvent,
	type SinkTable,
} from "../event.ts";
import { parseDdl } from "./ddl.ts";
import type { Format, SinkMessage } from "./format.ts";
import { jsonBuffer, jsonText } from "./json.ts";
import { identifyingImage, imageColumns, javaNumber, keyValues, yearText } from "./values.ts";

/*
 * OMS's "Default" serialization (OceanBase Migration Service docs, "Data formats"):
 * {prevStruct, postStruct, allMetaData, recordType}. DELETE has only prevStruct, INSERT, ROW and
 * DDL only postStruct (DDL text in postStruct.ddl), UPDATE both, HEARTBEAT neither.
 *
 * Values are strings, as in OMS's examples ("col1": "val1"), null for NULL:
 *
 * | column type                           | value                                            |
 * |---------------------------------------|--------------------------------------------------|
 * | integers, decimal                     | decimal text (BIGINT UNSIGNED exact)             |
 * | float / double                        | Java Float/Double.toString ("0.1", "1.0E10")     |
 * | date, datetime, timestamp, time       | MySQL text; TIMESTAMP in UTC; zero dates kept    |
 * | year                                  | 'YYYY' ('0000')                                  |
 * | char, varchar, text, enum, json, uuid | the text                                         |
 * | set                                   | 'a,b'                                            |
 * | binary, varbinary, blobs, geometry    | base64 of the bytes (geometry: SRID + WKB)       |
 * | bit(n)                                | base64 of its ceil(n/8) big-endian bytes         |
 *
 * OMS drops a BIT value's high-order zero bytes in incremental data but not in full data; Ferry
 * writes all of them in both, so a row's snapshot and change values agree.
 *
 * allMetaData, where OMS's documentation leaves the content to us:
 * - checkpoint: incremental, the commit time in seconds; snapshot rows, their key as a JSON
 *   object ({"id":"1"}: OMS says "the primary key value pairs");
 * - source_identity: the project's serverName (OMS: the store subtopic);
 * - storeDataSequence: commit seconds x 100000 + the row's index in its transaction (OMS:
 *   {timestamp}{5-digit sequence}); incremental only, like timestamp;
 * - uniqueId: the deduplication key (event.ts dedupKey); transId: the GTID, else "file:pos";
 * - clusterId: the source's server_id;
 * - ddlType (DDL only): CREATE_TABLE, ALTER_TABLE, DROP_TABLE, TRUNCATE_TABLE, RENAME_TABLE,
 *   CREATE_INDEX, DROP_INDEX, CREATE_DATABASE, ALTER_DATABASE, DROP_DATABASE or OTHER (OMS's
 *   own list is not published).
 * Snapshot rows are recordType "ROW" (OMS's full-migration record type; consumers treat it like
 * INSERT). The message key is the key columns' values as a JSON object ({"id":"1"}), null for a
 * table without a key, for DDL and for heartbeats.
 */

function defaultValue(column: ColumnInfo, value: Value): string | null {
	if (value === null) return null;
	if (Buffer.isBuffer(value)) return value.toString("base64");
	if (APPROXIMATE_TYPES.has(column.dataType)) {
		return javaNumber(Number(value), column.dataType === "float");
	}
	return column.dataType === "year" ? yearText(value) : String(value);
}

function struct(table: SinkTable, image: RowImage | undefined): Map<string, string | null> | null {
	if (!image) return null;
	return new Map(imageColumns(table, image).map((c) => [c.name, defaultValue(c, image[c.name] ?? null)]));
}

const RECORD_TYPES = { insert: "INSERT", update: "UPDATE", delete: "DELETE", read: "ROW" } as const;

function seconds(ms: number): number {
	return Math.floor(ms / 1000);
}

/**
 * allMetaData of a row or DDL record; `snapshotCheckpoint` is set for a snapshot row, which has
 * no commit time of its own and carries its key instead.
 */
function metadata(source: EventSource, options: SyncOptions, table: string, db: string, snapshotCheckpoint?: string) {
	const commit = seconds(source.commitTime);
	const incremental = snapshotCheckpoint === undefined;
	return {
		checkpoint: snapshotCheckpoint ?? String(commit),
		source_identity: options.serverName,
		dbType: "MYSQL",
		storeDataSequence: incremental ? commit * 100000 + (source.rowIndex % 100000) : undefined,
		table_name: table,
		db,
		timestamp: incremental ? String(commit) : undefined,
		uniqueId: dedupKey(source),
		transId: source.gtid || `${source.file}:${source.pos}`,
		clusterId: String(source.serverId),
	};
}

function row(event: RowEvent, options: SyncOptions): SinkMessage[] {
	const { table, source } = event;
	const key = keyValues(table, identifyingImage(event.after, event.before), defaultValue);
	const snapshotCheckpoint = event.op === "read" ? (key ? jsonText(key) : "") : undefined;
	const { checkpoint, ...meta } = metadata(source, options, table.name.table, table.name.database, snapshotCheckpoint);
	const message = {
		prevStruct: event.op === "update" || event.op === "delete" ? struct(table, event.before) : null,
		postStruct: event.op === "delete" ? null : struct(table, event.after),
		allMetaData: {
			checkpoint,
			record_primary_key: table.key.join("\u0001"),
			record_primary_value: key ? [...key.values()].map((v) => v ?? "").join("\u0001") : "",
			...meta,
		},
		recordType: RECORD_TYPES[event.op],
	};
	return [{ key: key ? jsonBuffer(key) : null, value: jsonBuffer(message) }];
}

function ddl(event: DdlEvent, options: SyncOptions): SinkMessage[] {
	const message = {
		prevStruct: null,
		postStruct: { ddl: event.sql },
		allMetaData: {
			...metadata(event.source, options, event.table ?? "", event.database),
			ddlType: parseDdl(event.sql, event.database).kind.toUpperCase().replace("-", "_"),
		},
		recordType: "DDL",
	};
	return [{ key: null, value: jsonBuffer(message) }];
}

function heartbeat(event: HeartbeatEvent, options: SyncOptions): SinkMessage[] {
	const time = String(seconds(event.time));
	const message = {
		prevStruct: null,
		postStruct: null,
		allMetaData: {
			checkpoint: time,
			source_identity: options.serverName,
			dbType: "MYSQL",
			timestamp: time,
			clusterId: String(event.serverId),
		},
		recordType: "HEARTBEAT",
	};
	return [{ key: null, value: jsonBuffer(message) }];
}

export function defaultFormat(options: SyncOptions): Format {
	return {
		row: (event) => row(event, options),
		ddl: (event) => ddl(event, options),
		heartbeat: (event) => heartbeat(event, options),
	};
}
