import type { RowImage } from "../../capture/change.ts";
import type { SyncOptions } from "../../model/sync.ts";
import type { DdlEvent, EventSource, HeartbeatEvent, RowEvent, SinkTable, TransactionEvent } from "../event.ts";
import {
	type ConnectSchema,
	type ConnectStruct,
	type ConnectValue,
	envelopeJson,
	envelopeSchema,
	HEARTBEAT_KEY_SCHEMA,
	HEARTBEAT_VALUE_SCHEMA,
	SCHEMA_CHANGE_KEY_SCHEMA,
	SCHEMA_CHANGE_VALUE_SCHEMA,
	struct,
	TRANSACTION_KEY_SCHEMA,
	TRANSACTION_VALUE_SCHEMA,
	valueJson,
} from "./debezium-schema.ts";
import { type ColumnCodec, columnCodec, headerText } from "./debezium-values.ts";
import type { Format, SinkMessage } from "./format.ts";

/*
 * Debezium JSON: the messages Debezium 3.5's MariaDB connector (io.debezium.connector.mariadb)
 * writes through Kafka Connect's JsonConverter, for the same binlog events. Value conversions and
 * the connector modes they correspond to are listed in debezium-values.ts; the connector settings
 * besides those: topic.prefix = SyncOptions.serverName, key/value.converter.schemas.enable =
 * `schemas`, tombstones.on.delete = `tombstones`, provide.transaction.metadata =
 * `transactionMetadata`, include.schema.changes=true, include.query=false,
 * extended.headers.enabled=false (no `__debezium.context.*` headers: their runId names a connector
 * run, which Ferry has none of), schema.name.adjustment.mode=none.
 *
 * What a consumer can tell apart from the connector's own output (test/sinks/debezium-fidelity.test.ts
 * checks the rest field by field):
 * - `source.version` is DEBEZIUM_VERSION, ours.
 * - The envelope's ts_ms/ts_us/ts_ns are Debezium's processing time; a format has no clock, so
 *   they are the source commit time (which keeps a re-sent message byte-identical).
 * - `source.pos` and `source.row`: Debezium gives the offset of the binlog rows (or query) event
 *   and the row's index in it; capture hands over the transaction's start offset and the row's
 *   index in the transaction, which name the event as uniquely. `source.ts_ms` is the
 *   transaction's commit time where Debezium uses each event's own (whole-second) time.
 * - `source.thread` and `source.query` are null (as Debezium leaves them on MariaDB by default).
 * - Snapshot rows (op "r") carry, like Debezium's initial snapshot, server_id 0, gtid null, row 0
 *   and ts_ms in whole seconds; file/pos/ts_ms are of Ferry's snapshot, not Debezium's. (Debezium's
 *   snapshot stops on a YEAR 0 value: the MariaDB JDBC driver throws reading it.)
 * - Schema changes carry `tableChanges: []`: Debezium fills them from its own DDL parser, whose
 *   result depends on the statement's text (Ferry has only information_schema after the fact).
 * - Column schemas follow information_schema (as Debezium's do for tables that existed when it
 *   started); Debezium parses a CREATE/ALTER seen while streaming, so `b BOOLEAN` or `j JSON`
 *   there become a boolean or io.debezium.data.Json, where Ferry keeps INT16 and string. Rows are
 *   encoded with the columns the catalog describes now (sinks/catalog.ts), not as of the event.
 * - Transaction metadata: BEGIN/END frame only the transactions the sink sends (Debezium also
 *   opens one for every other GTID of the binlog, and never closes those of DDL statements);
 *   BEGIN's ts_ms is the commit time (Debezium's is the previous event's).
 */

/** `source.version`: which Debezium these messages follow, and that Ferry wrote them. */
export const DEBEZIUM_VERSION = "3.5.0.Final-ferry";

interface TableCodec {
	keySchema: ConnectSchema | null;
	keyCodecs: ColumnCodec[];
	rowSchema: ConnectSchema;
	rowCodecs: ColumnCodec[];
	envelope: ConnectSchema;
	/** "db.table", Debezium's data collection name. */
	collection: string;
}

interface OpenTransaction {
	id: string;
	total: number;
	perTable: Map<string, number>;
}

/** Java's String.hashCode, then HashMap's spreading: where a key sits in a table of `capacity` buckets. */
function bucket(key: string, capacity: number): number {
	let h = 0;
	for (let i = 0; i < key.length; i++) h = (Math.imul(h, 31) + key.charCodeAt(i)) | 0;
	return (h ^ (h >>> 16)) & (capacity - 1);
}

export function debeziumFormat(options: SyncOptions): Format {
	const prefix = options.serverName;
	const codecs = new WeakMap<SinkTable, TableCodec>();
	let open: OpenTransaction | null = null;
	// Debezium's per-transaction table counts live in one HashMap that clear() never shrinks
	let capacity = 16;

	function tableCodec(table: SinkTable): TableCodec {
		let codec = codecs.get(table);
		if (!codec) {
			const base = `${prefix}.${table.name.database}.${table.name.table}`;
			const rowCodecs = table.columns.map(columnCodec);
			const rowSchema = struct(
				`${base}.Value`,
				table.columns.map((c, i) => ({ name: c.name, schema: (rowCodecs[i] as ColumnCodec).schema })),
				{ optional: true },
			);
			const keyColumns = table.key.map((name) => table.columns.findIndex((c) => c.name === name));
			const keyCodecs = keyColumns.map((i) => rowCodecs[i] as ColumnCodec);
			const keySchema =
				keyColumns.length === 0
					? null
					: struct(
							`${base}.Key`,
							table.key.map((name, i) => ({ name, schema: (keyCodecs[i] as ColumnCodec).schema })),
						);
			codec = {
				keySchema,
				keyCodecs,
				rowSchema,
				rowCodecs,
				envelope: envelopeSchema(`${base}.Envelope`, rowSchema),
				collection: `${table.name.database}.${table.name.table}`,
			};
			codecs.set(table, codec);
		}
		return codec;
	}

	function encodeRow(
		codec: TableCodec,
		table: SinkTable,
		image: RowImage | undefined,
		read: boolean,
	): ConnectStruct | null {
		if (!image) return null;
		const out: ConnectStruct = {};
		table.columns.forEach((c, i) => {
			out[c.name] = (codec.rowCodecs[i] as ColumnCodec).encode(image[c.name] ?? null, read);
		});
		return out;
	}

	function encodeKey(codec: TableCodec, table: SinkTable, image: RowImage): ConnectStruct | null {
		if (!codec.keySchema) return null;
		const out: ConnectStruct = {};
		table.key.forEach((name, i) => {
			out[name] = (codec.keyCodecs[i] as ColumnCodec).encode(image[name] ?? null);
		});
		return out;
	}

	function sourceBlock(source: EventSource, database: string, table: string | null): ConnectStruct {
		// Debezium's snapshot rows have seen no binlog event: whole seconds, no server id, GTID or row
		const read = source.snapshot !== undefined;
		const ms = read ? Math.floor(source.commitTime / 1000) * 1000 : source.commitTime;
		return {
			version: DEBEZIUM_VERSION,
			connector: "mariadb",
			name: prefix,
			ts_ms: ms,
			snapshot: source.snapshot ?? null,
			db: database,
			sequence: null,
			ts_us: BigInt(ms) * 1000n,
			ts_ns: BigInt(ms) * 1_000_000n,
			table,
			server_id: read ? 0 : source.serverId,
			gtid: read ? null : (source.gtid ?? null),
			file: source.file,
			pos: source.pos,
			row: read ? 0 : source.rowIndex,
			thread: null,
			query: null,
		};
	}

	function transactionId(t: { gtid?: string; file: string; pos: number }): string {
		return t.gtid || `file=${t.file},pos=${t.pos}`;
	}

	/** The `transaction` block of the next data event of `collection` (null without transaction metadata). */
	function transactionBlock(collection: string): ConnectStruct | null {
		if (!options.transactionMetadata || !open) return null;
		open.total += 1;
		const order = (open.perTable.get(collection) ?? 0) + 1;
		open.perTable.set(collection, order);
		return { id: open.id, total_order: open.total, data_collection_order: order };
	}

	function message(schema: ConnectSchema | null, key: ConnectValue, valueSchema: ConnectSchema, value: ConnectValue) {
		return {
			key: schema && key !== null ? envelopeJson(schema, key, options.schemas) : null,
			value: envelopeJson(valueSchema, value, options.schemas),
		};
	}

	return {
		row(event: RowEvent): SinkMessage[] {
			const { table, source } = event;
			const codec = tableCodec(table);
			const src = sourceBlock(source, table.name.database, table.name.table);
			const ms = source.commitTime;
			const times = { ts_ms: ms, ts_us: BigInt(ms) * 1000n, ts_ns: BigInt(ms) * 1_000_000n };
			const read = event.op === "read";
			const before = encodeRow(codec, table, event.before, read);
			const after = encodeRow(codec, table, event.after, read);
			const data = (op: string, key: ConnectStruct | null, headers?: Record<string, string>): SinkMessage => {
				const value = { before: op === "c" || op === "r" ? null : before, after: op === "d" ? null : after };
				const envelope = { ...value, source: src, transaction: transactionBlock(codec.collection), op, ...times };
				return { ...message(codec.keySchema, key, codec.envelope, envelope), ...(headers ? { headers } : {}) };
			};
			const tombstone = (key: ConnectStruct | null, headers?: Record<string, string>): SinkMessage[] => {
				if (!options.tombstones) return [];
				const k = codec.keySchema && key ? envelopeJson(codec.keySchema, key, options.schemas) : null;
				return [{ key: k, value: null, ...(headers ? { headers } : {}) }];
			};
			switch (event.op) {
				case "insert":
					return [data("c", encodeKey(codec, table, event.after as RowImage))];
				case "read":
					return [data("r", encodeKey(codec, table, event.after as RowImage))];
				case "delete": {
					const key = encodeKey(codec, table, event.before as RowImage);
					return [data("d", key), ...tombstone(key)];
				}
				case "update": {
					const oldKey = encodeKey(codec, table, event.before as RowImage);
					const newKey = encodeKey(codec, table, event.after as RowImage);
					const keySchema = codec.keySchema;
					if (!keySchema || valueJson(keySchema, oldKey) === valueJson(keySchema, newKey)) return [data("u", newKey)];
					// a key change: Debezium's delete + tombstone under the old key, create under the new
					const toNew = { "__debezium.newkey": headerText(keySchema, newKey) };
					const deleted = data("d", oldKey, toNew);
					const gone = tombstone(oldKey, toNew);
					return [deleted, ...gone, data("c", newKey, { "__debezium.oldkey": headerText(keySchema, oldKey) })];
				}
			}
		},

		ddl(event: DdlEvent): SinkMessage[] {
			const value = {
				source: sourceBlock(event.source, event.database, event.table ?? null),
				ts_ms: event.source.commitTime,
				databaseName: event.database,
				schemaName: null,
				ddl: event.sql,
				tableChanges: [],
			};
			return [
				{
					topic: prefix,
					...message(SCHEMA_CHANGE_KEY_SCHEMA, { databaseName: event.database }, SCHEMA_CHANGE_VALUE_SCHEMA, value),
				},
			];
		},

		heartbeat(event: HeartbeatEvent): SinkMessage[] {
			return [
				{
					topic: `__debezium-heartbeat.${prefix}`,
					...message(HEARTBEAT_KEY_SCHEMA, { serverName: prefix }, HEARTBEAT_VALUE_SCHEMA, { ts_ms: event.time }),
				},
			];
		},

		transaction(event: TransactionEvent): SinkMessage[] {
			if (!options.transactionMetadata) return [];
			const id = transactionId(event);
			const topic = `${prefix}.transaction`;
			if (event.status === "begin") {
				open = { id, total: 0, perTable: new Map() };
				const value = { status: "BEGIN", id, event_count: null, data_collections: null, ts_ms: event.commitTime };
				return [{ topic, ...message(TRANSACTION_KEY_SCHEMA, { id }, TRANSACTION_VALUE_SCHEMA, value) }];
			}
			const counts = open?.id === id ? open : { total: 0, perTable: new Map<string, number>() };
			open = null;
			while (counts.perTable.size > capacity * 0.75) capacity *= 2;
			// END lists the tables in Java HashMap iteration order, as Debezium's TransactionContext does
			const names = [...counts.perTable.keys()];
			const ordered = names
				.map((name, i) => ({ name, i, b: bucket(name, capacity) }))
				.sort((x, y) => x.b - y.b || x.i - y.i)
				.map(({ name }) => ({ data_collection: name, event_count: counts.perTable.get(name) as number }));
			const value = {
				status: "END",
				id,
				event_count: counts.total,
				data_collections: ordered,
				ts_ms: event.commitTime,
			};
			return [{ topic, ...message(TRANSACTION_KEY_SCHEMA, { id }, TRANSACTION_VALUE_SCHEMA, value) }];
		},
	};
}
