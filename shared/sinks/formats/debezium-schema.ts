import { javaNumber } from "./values.ts";

/*
 * The slice of Kafka Connect's data model that Debezium's JSON messages need, and its JSON form
 * exactly as Connect's JsonConverter writes it: the schema object ("type", then "fields" or
 * "items", "optional", "name", "version", "doc", "parameters", "default", and "field" last for a
 * struct member) and the payload (structs in schema field order, INT64 as exact integers, FLOAT32
 * and FLOAT64 the way Java prints them, BYTES as base64). Plus the fixed schemas Debezium 3.5's
 * MariaDB connector uses for its source block, transaction metadata, heartbeats and schema
 * changes (debezium SchemaFactory, BinlogSourceInfoStructMaker).
 */

export type ConnectType =
	| "int8"
	| "int16"
	| "int32"
	| "int64"
	| "float"
	| "double"
	| "boolean"
	| "string"
	| "bytes"
	| "struct"
	| "array";

/** A Connect value: INT64 may be a bigint (beyond 2^53), BYTES a Buffer, a struct a plain object keyed by field name. */
export type ConnectValue = null | boolean | number | bigint | string | Buffer | ConnectValue[] | ConnectStruct;
export interface ConnectStruct {
	[field: string]: ConnectValue;
}

export interface ConnectSchema {
	type: ConnectType;
	optional: boolean;
	name?: string;
	version?: number;
	doc?: string;
	parameters?: Record<string, string>;
	/** Written in the schema, and (JsonConverter's replace.null.with.default) in place of a null value. */
	default?: ConnectValue;
	fields?: ConnectField[];
	items?: ConnectSchema;
}

export interface ConnectField {
	name: string;
	schema: ConnectSchema;
}

export function struct(
	name: string | undefined,
	fields: ConnectField[],
	extra: Partial<ConnectSchema> = {},
): ConnectSchema {
	return { type: "struct", optional: false, ...(name ? { name } : {}), ...extra, fields };
}

export function field(
	name: string,
	type: ConnectType,
	optional: boolean,
	extra: Partial<ConnectSchema> = {},
): ConnectField {
	return { name, schema: { type, optional, ...extra } };
}

// JSON writing ------------------------------------------------------------------------------

/** JsonConverter's schema object (asJsonSchema). */
export function schemaJson(schema: ConnectSchema): string {
	const parts = [`"type":"${schema.type}"`];
	if (schema.fields) parts.push(`"fields":[${schema.fields.map(fieldJson).join(",")}]`);
	if (schema.items) parts.push(`"items":${schemaJson(schema.items)}`);
	parts.push(`"optional":${schema.optional}`);
	if (schema.name !== undefined) parts.push(`"name":${JSON.stringify(schema.name)}`);
	if (schema.version !== undefined) parts.push(`"version":${schema.version}`);
	if (schema.doc !== undefined) parts.push(`"doc":${JSON.stringify(schema.doc)}`);
	if (schema.parameters) parts.push(`"parameters":${JSON.stringify(schema.parameters)}`);
	if (schema.default !== undefined) parts.push(`"default":${valueJson(schema, schema.default)}`);
	return `{${parts.join(",")}}`;
}

function fieldJson(f: ConnectField): string {
	const inner = schemaJson(f.schema);
	return `${inner.slice(0, -1)},"field":${JSON.stringify(f.name)}}`;
}

/** Each struct schema's member prefixes (`"name":`, then `,"name":`), built once: every message reuses them. */
const memberPrefixes = new WeakMap<ConnectSchema, string[]>();

function prefixesOf(schema: ConnectSchema): string[] {
	let prefixes = memberPrefixes.get(schema);
	if (!prefixes) {
		prefixes = (schema.fields ?? []).map((f, i) => `${i === 0 ? "" : ","}${JSON.stringify(f.name)}:`);
		memberPrefixes.set(schema, prefixes);
	}
	return prefixes;
}

/** JsonConverter's payload (convertToJson), nulls replaced by the schema's default as it does by default. */
export function valueJson(schema: ConnectSchema, value: ConnectValue | undefined): string {
	if (value === null || value === undefined) {
		return schema.default !== undefined && schema.default !== null ? valueJson(schema, schema.default) : "null";
	}
	switch (schema.type) {
		case "int8":
		case "int16":
		case "int32":
		case "int64":
			return typeof value === "bigint" ? value.toString() : String(Math.trunc(value as number));
		case "float":
		case "double":
			return javaNumber(value as number, schema.type === "float");
		case "boolean":
			return value ? "true" : "false";
		case "string":
			return JSON.stringify(value);
		case "bytes":
			return `"${(value as Buffer).toString("base64")}"`;
		case "array": {
			const items = schema.items as ConnectSchema;
			return `[${(value as ConnectValue[]).map((v) => valueJson(items, v)).join(",")}]`;
		}
		case "struct": {
			// the hottest loop of the Debezium format: plain concatenation, no intermediate arrays
			const s = value as ConnectStruct;
			const fields = schema.fields ?? [];
			const prefixes = prefixesOf(schema);
			let out = "{";
			for (let i = 0; i < fields.length; i++) {
				const f = fields[i] as ConnectField;
				out += prefixes[i] + valueJson(f.schema, s[f.name]);
			}
			return `${out}}`;
		}
	}
}

/** A message body: `{"schema":…,"payload":…}` with schemas (JsonConverter schemas.enable=true), else the payload. */
export function envelopeJson(schema: ConnectSchema, value: ConnectValue, withSchema: boolean): Buffer {
	const payload = valueJson(schema, value);
	return Buffer.from(withSchema ? `{"schema":${schemaJson(schema)},"payload":${payload}}` : payload, "utf8");
}

// Debezium's fixed schemas -----------------------------------------------------------------------

const SNAPSHOT_VALUES = "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental";

export const SOURCE_SCHEMA: ConnectSchema = struct(
	"io.debezium.connector.mariadb.Source",
	[
		field("version", "string", false),
		field("connector", "string", false),
		field("name", "string", false),
		field("ts_ms", "int64", false),
		field("snapshot", "string", true, {
			name: "io.debezium.data.Enum",
			version: 1,
			parameters: { allowed: SNAPSHOT_VALUES },
			default: "false",
		}),
		field("db", "string", false),
		field("sequence", "string", true),
		field("ts_us", "int64", true),
		field("ts_ns", "int64", true),
		field("table", "string", true),
		field("server_id", "int64", false),
		field("gtid", "string", true),
		field("file", "string", false),
		field("pos", "int64", false),
		field("row", "int32", false),
		field("thread", "int64", true),
		field("query", "string", true),
	],
	{ version: 1 },
);

export const TRANSACTION_BLOCK_SCHEMA: ConnectSchema = struct(
	"event.block",
	[field("id", "string", false), field("total_order", "int64", false), field("data_collection_order", "int64", false)],
	{ optional: true, version: 1 },
);

/** A table's change event value: before/after (the row schema), source, transaction, op and the processing times. */
export function envelopeSchema(name: string, row: ConnectSchema): ConnectSchema {
	return struct(
		name,
		[
			{ name: "before", schema: row },
			{ name: "after", schema: row },
			{ name: "source", schema: SOURCE_SCHEMA },
			{ name: "transaction", schema: TRANSACTION_BLOCK_SCHEMA },
			field("op", "string", false),
			field("ts_ms", "int64", true),
			field("ts_us", "int64", true),
			field("ts_ns", "int64", true),
		],
		{ version: 2 },
	);
}

export const HEARTBEAT_KEY_SCHEMA = struct(
	"io.debezium.connector.common.ServerNameKey",
	[field("serverName", "string", false)],
	{
		version: 1,
	},
);
export const HEARTBEAT_VALUE_SCHEMA = struct(
	"io.debezium.connector.common.Heartbeat",
	[field("ts_ms", "int64", false)],
	{
		version: 1,
	},
);

export const TRANSACTION_KEY_SCHEMA = struct(
	"io.debezium.connector.common.TransactionMetadataKey",
	[field("id", "string", false)],
	{ version: 1 },
);
const DATA_COLLECTION_SCHEMA = struct(
	"event.collection",
	[field("data_collection", "string", false), field("event_count", "int64", false)],
	{ optional: true, version: 1 },
);
export const TRANSACTION_VALUE_SCHEMA = struct(
	"io.debezium.connector.common.TransactionMetadataValue",
	[
		field("status", "string", false),
		field("id", "string", false),
		field("event_count", "int64", true),
		{ name: "data_collections", schema: { type: "array", optional: true, items: DATA_COLLECTION_SCHEMA } },
		field("ts_ms", "int64", false),
	],
	{ version: 1 },
);

export const SCHEMA_CHANGE_KEY_SCHEMA = struct(
	"io.debezium.connector.mariadb.SchemaChangeKey",
	[field("databaseName", "string", false)],
	{ version: 1 },
);

const STRING_ARRAY: ConnectSchema = { type: "array", optional: true, items: { type: "string", optional: false } };
const COLUMN_SCHEMA = struct(
	"io.debezium.connector.schema.Column",
	[
		field("name", "string", false),
		field("jdbcType", "int32", false),
		field("nativeType", "int32", true),
		field("typeName", "string", false),
		field("typeExpression", "string", true),
		field("charsetName", "string", true),
		field("length", "int32", true),
		field("scale", "int32", true),
		field("position", "int32", false),
		field("optional", "boolean", true),
		field("autoIncremented", "boolean", true),
		field("generated", "boolean", true),
		field("comment", "string", true),
		field("defaultValueExpression", "string", true),
		{ name: "enumValues", schema: STRING_ARRAY },
	],
	{ version: 1 },
);
const TABLE_SCHEMA = struct(
	"io.debezium.connector.schema.Table",
	[
		field("defaultCharsetName", "string", true),
		{ name: "primaryKeyColumnNames", schema: STRING_ARRAY },
		{ name: "columns", schema: { type: "array", optional: false, items: COLUMN_SCHEMA } },
		field("comment", "string", true),
	],
	{ optional: true, version: 1 },
);
const CHANGE_SCHEMA = struct(
	"io.debezium.connector.schema.Change",
	[field("type", "string", false), field("id", "string", false), { name: "table", schema: TABLE_SCHEMA }],
	{ version: 1 },
);
export const SCHEMA_CHANGE_VALUE_SCHEMA = struct(
	"io.debezium.connector.mariadb.SchemaChangeValue",
	[
		{ name: "source", schema: SOURCE_SCHEMA },
		field("ts_ms", "int64", false),
		field("databaseName", "string", true),
		field("schemaName", "string", true),
		field("ddl", "string", true),
		{ name: "tableChanges", schema: { type: "array", optional: false, items: CHANGE_SCHEMA } },
	],
	{ version: 1 },
);
