import { BINARY_STRING_TYPES } from "../db/types.ts";
import {
	type FeedEvent,
	type FeedFormat,
	FeedFormatError,
	type FeedRecord,
	type FeedRow,
	type FeedTransaction,
	type RawImage,
} from "./event.ts";
import { asObject, type ExactJson, parseExactJson } from "./exact-json.ts";
import { tsoOf, tsoTransaction, tsoWatermark } from "./ticdc-tso.ts";
import { baseType, type TicdcDatum, ticdcConverter, ticdcImage } from "./ticdc-values.ts";

/*
 * TiCDC's canal-json (protocol=canal-json&enable-tidb-extension=true), read as a change feed
 * (tiflow pkg/sink/codec/canal; docs ticdc/ticdc-canal-json.md). One Kafka record is one JSON
 * message:
 * - `isDdl: true`: a DDL statement (`sql`), sent to partition 0;
 * - `type: "TIDB_WATERMARK"`: every event committed below `_tidb.watermarkTs` has been written
 *   before it (broadcast to every partition);
 * - otherwise a row change, `type` INSERT, UPDATE or DELETE, its rows in `data` (TiCDC writes one
 *   a message; canal's own batches several). An UPDATE's `old` holds the whole row before it
 *   (TiCDC's default) or only the changed columns (only_output_updated_columns,
 *   content-compatible): the row before is `old` over `data`. A DELETE's row is in `data`
 *   (before v5.4 `old` repeated it).
 * The extension's `_tidb.commitTs` is the transaction's commit TSO, which Ferry needs to group
 * and order changes; a message without it is refused. Values are all text (ticdc-values.ts); a
 * binary string's bytes are ISO-8859-1 characters, one per byte. `mysqlType` names each column's
 * type without its parameters ("decimal", "varbinary"), or in full with content-compatible.
 * A message of a too-large row carries only its key columns (large-message-handle-option
 * handle-key-only or claim-check): Ferry cannot fetch the rest, so it is refused.
 */

type Message = { [member: string]: ExactJson };

function datum(value: unknown, type: string): TicdcDatum {
	if (value === null || value === undefined) return null;
	if (typeof value !== "string") throw new Error("canal-json values are strings");
	return BINARY_STRING_TYPES.has(baseType(type)) ? Buffer.from(value, "latin1") : value;
}

function stringMap(value: ExactJson | undefined): Record<string, string> | undefined {
	const object = asObject(value);
	if (!object) return undefined;
	const out: Record<string, string> = {};
	for (const [name, type] of Object.entries(object)) if (typeof type === "string") out[name] = type;
	return out;
}

function images(value: ExactJson | undefined): RawImage[] | undefined {
	if (!Array.isArray(value)) return undefined;
	return value.map((row) => asObject(row) ?? {});
}

export function ticdcCanalJsonFormat(options: { timeZone?: string } = {}): FeedFormat {
	const convert = ticdcConverter(options.timeZone ?? "UTC");

	function parse(record: FeedRecord, value: Buffer): Message {
		let parsed: ExactJson;
		try {
			parsed = parseExactJson(value);
		} catch (e) {
			// large-message-handle-compression (snappy, lz4) leaves a message that is not JSON text
			throw new FeedFormatError(`not a canal-json message (${(e as Error).message})`, record);
		}
		const message = asObject(parsed);
		if (!message) throw new FeedFormatError("not a canal-json message (not a JSON object)", record);
		return message;
	}

	function commitTransaction(record: FeedRecord, tidb: Message | undefined): FeedTransaction {
		const tso = tsoOf(tidb?.commitTs);
		if (tso === undefined) {
			throw new FeedFormatError(
				"TiCDC canal-json message without _tidb.commitTs: Ferry needs each change's commit timestamp, so the changefeed must be created with enable-tidb-extension=true in its sink URI",
				record,
			);
		}
		if (tidb?.onlyHandleKey === true || tidb?.claimCheckLocation !== undefined) {
			throw new FeedFormatError(
				"TiCDC sent only the key columns of a row too large for a Kafka message (large-message-handle-option handle-key-only or claim-check); Ferry cannot read the rest of the row: raise max-message-bytes instead",
				record,
			);
		}
		return tsoTransaction(tso);
	}

	function rows(record: FeedRecord, message: Message, transaction: FeedTransaction): FeedRow[] {
		const type = message.type;
		const database = message.database;
		const tableName = message.table;
		if (typeof database !== "string" || typeof tableName !== "string") {
			throw new FeedFormatError("canal-json row message without database and table", record);
		}
		const table = { database, table: tableName };
		const types = stringMap(message.mysqlType);
		const data = images(message.data);
		if (!data) throw new FeedFormatError(`canal-json ${String(type)} message without data`, record);
		const row = (op: FeedRow["op"], after?: RawImage, before?: RawImage): FeedRow => ({
			kind: "row",
			op,
			table,
			...(before ? { before } : {}),
			...(after ? { after } : {}),
			...(types ? { types } : {}),
			transaction,
		});
		switch (type) {
			case "INSERT":
				return data.map((after) => row("insert", after));
			case "DELETE":
				return data.map((before) => row("delete", undefined, before));
			case "UPDATE": {
				const old = images(message.old);
				if (!old || old.length !== data.length) {
					throw new FeedFormatError("canal-json UPDATE message whose old rows do not match its data rows", record);
				}
				return data.map((after, i) => row("update", after, { ...after, ...old[i] }));
			}
			default:
				throw new FeedFormatError(`canal-json message of unknown type ${JSON.stringify(type)}`, record);
		}
	}

	return {
		name: "ticdc-canal-json",
		completeness: "watermarks",
		decode(record: FeedRecord): FeedEvent[] {
			if (!record.value || record.value.length === 0) return [];
			const message = parse(record, record.value);
			const tidb = asObject(message._tidb);
			if (message.isDdl === true) {
				const transaction = commitTransaction(record, tidb);
				if (typeof message.sql !== "string") throw new FeedFormatError("canal-json DDL message without sql", record);
				const database = typeof message.database === "string" ? message.database : "";
				const table = typeof message.table === "string" && message.table !== "" ? message.table : undefined;
				return [{ kind: "ddl", database, ...(table ? { table } : {}), sql: message.sql, transaction }];
			}
			if (message.type === "TIDB_WATERMARK") {
				const tso = tsoOf(tidb?.watermarkTs);
				if (tso === undefined)
					throw new FeedFormatError("canal-json WATERMARK message without _tidb.watermarkTs", record);
				return [tsoWatermark(tso)];
			}
			return rows(record, message, commitTransaction(record, tidb));
		},
		values(raw, columns, row) {
			return ticdcImage(raw, columns, row.types, datum, convert);
		},
	};
}
