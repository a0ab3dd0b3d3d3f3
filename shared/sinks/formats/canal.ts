import type { RowImage, Value } from "../../capture/change.ts";
import type { ColumnInfo } from "../../db/introspect.ts";
import { APPROXIMATE_TYPES, BINARY_STRING_TYPES, DOUBLE_TYPES, SPATIAL_TYPES, TEXT_TYPES } from "../../db/types.ts";
import type { TableName } from "../../model/rules.ts";
import type { DdlEvent, HeartbeatEvent, RowEvent } from "../event.ts";
import { type DdlStatement, parseDdl } from "./ddl.ts";
import type { Format, SinkMessage } from "./format.ts";
import { jsonBuffer } from "./json.ts";
import {
	bitValue,
	identifyingImage,
	imageColumns,
	isUnsigned,
	javaNumber,
	keyValues,
	members,
	setMembers,
	yearText,
} from "./values.ts";

/*
 * Canal's flat message (canal.mq.flatMessage=true), as canal's MQ connector builds it from its
 * binlog parser's entries (alibaba/canal: MQMessageUtils.messageConverter, FlatMessage,
 * LogEventConvert.parseOneRow, RowsLogBuffer). All values are strings or null. Per column:
 *
 * | column type                        | value                                   | sqlType (java.sql.Types)        |
 * |------------------------------------|-----------------------------------------|---------------------------------|
 * | tinyint/smallint/mediumint/int     | decimal                                 | -6 / 5 / 4 / 4                  |
 * | bigint                             | decimal (unsigned beyond 2^63 exact)    | -5                              |
 * | ... unsigned above the signed max  | decimal                                 | one size up: 5 / 4 / 4 / -5 / 3 |
 * | decimal                            | exact, with the column's scale          | 3                               |
 * | float / double                     | Java Float/Double.toString ("1.5E10")   | 7 / 8                           |
 * | bit(n)                             | unsigned decimal ("1", "513")           | -7                              |
 * | date / datetime, timestamp         | 'YYYY-MM-DD' / '... HH:MM:SS[.ffffff]'  | 91 / 93                         |
 * | time / year                        | '[-]HH:MM:SS[.ffffff]' / 'YYYY'         | 92 / 12                         |
 * | char / varchar, json               | the text                                | 1 / 12                          |
 * | tinytext .. longtext               | the text                                | 2005 (CLOB)                     |
 * | binary, varbinary, blobs, spatial  | ISO-8859-1: one char per byte           | 2004 (BLOB)                     |
 * | enum                               | 1-based index ("0": the '' error value) | 4                               |
 * | set                                | bitmask of its members ("5")            | -7; 2004 when NULL              |
 *
 * As canal does: ENUM and SET as numbers (the binlog's, canal never maps them back), an unsigned
 * value above the signed maximum moves sqlType one size up for that row, `old` holds the changed
 * columns only, mysqlType is the column type text ("int(10) unsigned"), DDL types are canal's
 * (Druid parser: CREATE, ALTER, ERASE, TRUNCATE, RENAME, CINDEX, DINDEX, else QUERY).
 * Where Ferry differs, for a pure, repeatable encoding:
 * - one message per row (canal batches a binlog event's rows into `data`/`old` lists);
 * - `id` is 0 (canal's batch id; TiCDC's canal-json writes 0 too) and `ts` is the commit time
 *   (canal: when the message was built);
 * - `gtid` is the transaction's GTID, "" without one (canal: the executed GTID set);
 * - TIMESTAMP in UTC (canal: the canal server's time zone);
 * - snapshot rows are INSERTs (canal has no snapshot) with gtid "": what tells them apart from
 *   the changes of a source with GTIDs (shared/feed/ferry-canal.ts reads them back so);
 * - heartbeats, which canal does not send, follow the isHeartbeat variant of canal-json
 *   consumers: type "MHEARTBEAT" (canal's master heartbeat event type), `isHeartbeat: true`;
 * - MariaDB UUID/INET4/INET6 as their text with sqlType CHAR (canal decodes their binary form).
 * The message key, which canal leaves empty, is the key columns' values as a JSON object
 * (`{"id":"1"}`), null for a table without a key, for DDL and for heartbeats.
 */

const Types = {
	BIT: -7,
	TINYINT: -6,
	BIGINT: -5,
	CHAR: 1,
	DECIMAL: 3,
	INTEGER: 4,
	SMALLINT: 5,
	REAL: 7,
	DOUBLE: 8,
	VARCHAR: 12,
	DATE: 91,
	TIME: 92,
	TIMESTAMP: 93,
	BLOB: 2004,
	CLOB: 2005,
} as const;

/** Integer types: sqlType, sqlType of an unsigned value above the signed maximum, that maximum. */
const INTEGERS: Record<string, [number, number, bigint]> = {
	tinyint: [Types.TINYINT, Types.SMALLINT, 0x7fn],
	smallint: [Types.SMALLINT, Types.INTEGER, 0x7fffn],
	mediumint: [Types.INTEGER, Types.INTEGER, 0x7fffffn],
	int: [Types.INTEGER, Types.BIGINT, 0x7fffffffn],
	bigint: [Types.BIGINT, Types.DECIMAL, 0x7fffffffffffffffn],
};

/** The other types canal keeps apart (DOUBLE_TYPES, text, binary and spatial types aside). */
const SIMPLE: Record<string, number> = {
	decimal: Types.DECIMAL,
	numeric: Types.DECIMAL,
	float: Types.REAL,
	date: Types.DATE,
	datetime: Types.TIMESTAMP,
	timestamp: Types.TIMESTAMP,
	time: Types.TIME,
	year: Types.VARCHAR,
	enum: Types.INTEGER,
	char: Types.CHAR,
	uuid: Types.CHAR,
	inet4: Types.CHAR,
	inet6: Types.CHAR,
};

function sqlType(column: ColumnInfo, value: Value): number {
	const type = column.dataType;
	const integer = INTEGERS[type];
	if (integer) {
		const [narrow, wider, signedMax] = integer;
		return value !== null && isUnsigned(column) && BigInt(value as string | number) > signedMax ? wider : narrow;
	}
	if (type === "set") return value === null ? Types.BLOB : Types.BIT;
	if (type === "bit") return Types.BIT;
	if (Buffer.isBuffer(value) || BINARY_STRING_TYPES.has(type) || SPATIAL_TYPES.has(type)) return Types.BLOB;
	if (TEXT_TYPES.has(type)) return Types.CLOB;
	if (DOUBLE_TYPES.has(type)) return Types.DOUBLE;
	// varchar, json and what canal does not know: VARCHAR
	return SIMPLE[type] ?? Types.VARCHAR;
}

function setMask(column: ColumnInfo, value: string): bigint {
	const all = members(column);
	// a member the column type does not list (a backlog across an ALTER) sets no bit
	return setMembers(value).reduce((mask, m) => (all.includes(m) ? mask | (1n << BigInt(all.indexOf(m))) : mask), 0n);
}

function canalValue(column: ColumnInfo, value: Value): string | null {
	if (value === null) return null;
	if (Buffer.isBuffer(value)) return column.dataType === "bit" ? String(bitValue(value)) : value.toString("latin1");
	if (APPROXIMATE_TYPES.has(column.dataType)) return javaNumber(Number(value), column.dataType === "float");
	switch (column.dataType) {
		case "year":
			return yearText(value);
		case "enum":
			return String(members(column).indexOf(String(value)) + 1);
		case "set":
			return String(setMask(column, String(value)));
		default:
			return String(value);
	}
}

function canalRow(columns: ColumnInfo[], image: RowImage): Map<string, string | null> {
	return new Map(columns.map((c) => [c.name, canalValue(c, image[c.name] ?? null)]));
}

function row(event: RowEvent): SinkMessage[] {
	const image = identifyingImage(event.after, event.before);
	const columns = imageColumns(event.table, image);
	const data = canalRow(columns, image);
	let old: Map<string, string | null> | null = null;
	if (event.op === "update" && event.before) {
		const before = canalRow(imageColumns(event.table, event.before), event.before);
		old = new Map([...before].filter(([name, value]) => data.has(name) && data.get(name) !== value));
	}
	const pkNames = columns.filter((c) => event.table.key.includes(c.name)).map((c) => c.name);
	const message = {
		id: 0,
		database: event.table.name.database,
		table: event.table.name.table,
		pkNames: pkNames.length > 0 ? pkNames : null,
		isDdl: false,
		type: event.op === "read" ? "INSERT" : event.op.toUpperCase(),
		es: event.source.commitTime,
		ts: event.source.commitTime,
		sql: "",
		sqlType: new Map(columns.map((c) => [c.name, sqlType(c, image[c.name] ?? null)])),
		mysqlType: new Map(columns.map((c) => [c.name, c.columnType])),
		data: [data],
		old: old ? [old] : null,
		// a snapshot row belongs to no transaction: the snapshot position's GTID would make it
		// look like an INSERT of the transaction that GTID names
		gtid: event.op === "read" ? "" : (event.source.gtid ?? ""),
	};
	const key = keyValues(event.table, image, canalValue);
	return [{ key: key && jsonBuffer(key), value: jsonBuffer(message) }];
}

const TABLE_OPTIONS = new Set([
	"AUTO_INCREMENT",
	"AVG_ROW_LENGTH",
	"CHARSET",
	"CHECKSUM",
	"COLLATE",
	"COMMENT",
	"COMPRESSION",
	"CONNECTION",
	"DEFAULT",
	"DELAY_KEY_WRITE",
	"ENCRYPTION",
	"ENGINE",
	"INSERT_METHOD",
	"KEY_BLOCK_SIZE",
	"MAX_ROWS",
	"MIN_ROWS",
	"PACK_KEYS",
	"PASSWORD",
	"ROW_FORMAT",
	"STATS_AUTO_RECALC",
	"STATS_PERSISTENT",
	"STATS_SAMPLE_PAGES",
]);

const CONSTRAINTS = new Set(["PRIMARY", "UNIQUE", "FOREIGN", "CHECK"]);

/**
 * Canal's type for one ALTER TABLE clause (DruidDdlParser): index changes are CINDEX/DINDEX, a
 * rename RENAME, a foreign key or check added nothing (no result), anything else ALTER.
 */
function alterClauseType(words: string[]): string | undefined {
	const [verb, what = ""] = words;
	if (verb === "ADD") {
		// ADD [CONSTRAINT [symbol]] PRIMARY KEY | UNIQUE | FOREIGN KEY | CHECK, ADD INDEX, ADD [COLUMN]
		let kind = what;
		if (what === "CONSTRAINT") kind = (CONSTRAINTS.has(words[2] ?? "") ? words[2] : words[3]) ?? "";
		if (kind === "FOREIGN" || kind === "CHECK") return undefined;
		return ["INDEX", "KEY", "FULLTEXT", "SPATIAL", "UNIQUE", "PRIMARY"].includes(kind) ? "CINDEX" : "ALTER";
	}
	if (verb === "DROP" && ["INDEX", "KEY", "CONSTRAINT"].includes(what)) return "DINDEX";
	if (verb === "RENAME" && !["COLUMN", "INDEX", "KEY"].includes(what)) return "RENAME";
	return "ALTER";
}

/** Canal's event type for a DDL statement and the database and table its header names. */
function ddlHeader(s: DdlStatement): { type: string; at?: TableName | undefined; database?: string | undefined } {
	const first = s.tables[0];
	switch (s.kind) {
		case "create-table":
			return { type: "CREATE", at: first };
		case "drop-table":
			return { type: "ERASE", at: first };
		case "truncate-table":
			return { type: "TRUNCATE", at: first };
		case "rename-table":
			return { type: "RENAME", at: s.renamed[0] };
		case "create-index":
			return { type: "CINDEX", at: first };
		case "drop-index":
			return { type: "DINDEX", at: first };
		case "create-database":
		case "drop-database":
			return { type: "QUERY", database: s.database };
		case "alter-table": {
			// table options make Druid's first result an ALTER whatever the clauses
			const options = s.clauses.some((c) => TABLE_OPTIONS.has(c[0] ?? "") || (c[0] === "CHARACTER" && c[1] === "SET"));
			const type = options ? "ALTER" : s.clauses.map(alterClauseType).find((t) => t !== undefined);
			if (!type) return { type: "QUERY" };
			return { type, at: type === "RENAME" ? s.renamed[0] : first };
		}
		default:
			return { type: "QUERY" };
	}
}

function ddl(event: DdlEvent): SinkMessage[] {
	const header = ddlHeader(parseDdl(event.sql, event.database));
	const message = {
		id: 0,
		database: header.at?.database ?? header.database ?? "",
		table: header.at?.table ?? "",
		pkNames: null,
		isDdl: true,
		type: header.type,
		es: event.source.commitTime,
		ts: event.source.commitTime,
		sql: event.sql,
		sqlType: null,
		mysqlType: null,
		data: null,
		old: null,
		gtid: event.source.gtid ?? "",
	};
	return [{ key: null, value: jsonBuffer(message) }];
}

function heartbeat(event: HeartbeatEvent): SinkMessage[] {
	const message = {
		id: 0,
		database: "",
		table: "",
		pkNames: null,
		isDdl: false,
		type: "MHEARTBEAT",
		es: event.time,
		ts: event.time,
		sql: "",
		sqlType: null,
		mysqlType: null,
		data: null,
		old: null,
		gtid: event.position.gtid,
		isHeartbeat: true,
	};
	return [{ key: null, value: jsonBuffer(message) }];
}

export function canalFormat(): Format {
	return { row, ddl, heartbeat };
}
