import type { RowImage, Value } from "../capture/change.ts";
import { type ColumnInfo, columnOfType } from "../db/introspect.ts";
import type { FeedFormatName } from "../model/feed.ts";
import { type FeedEvent, type FeedFormat, FeedFormatError, type FeedRecord, type RawImage } from "./event.ts";
import { parseJsonKeepingLargeIntegers } from "./exact-json.ts";

/*
 * What the readers of Ferry's own synchronization output (ferry-debezium.ts, ferry-canal.ts)
 * share: a record's JSON with its 64-bit integers exact, and the walk from a message's row image
 * to capture's (shared/capture/change.ts `Value`) that each format fills with its own column
 * conversion.
 */

/** A message value's JSON object; integers beyond 2^53 (INT64 microseconds, BIGINT) as exact bigints. */
export function recordJson(record: FeedRecord): Record<string, unknown> {
	let parsed: unknown;
	try {
		parsed = parseJsonKeepingLargeIntegers(record.value as Buffer);
	} catch (error) {
		throw new FeedFormatError(`the message is not JSON: ${(error as Error).message}`, record);
	}
	if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
		throw new FeedFormatError("the message is not a JSON object", record);
	}
	return parsed as Record<string, unknown>;
}

/** An integer as capture holds it: a number while exact, beyond 2^53 its decimal string. */
export function exactInteger(value: number | bigint | string): number | string {
	const n = BigInt(value);
	return n <= BigInt(Number.MAX_SAFE_INTEGER) && n >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(n) : n.toString();
}

/** A value of a column nothing says the type of, kept as the message has it (text, numbers). */
function asText(value: unknown): Value {
	if (value === null || value === undefined) return null;
	if (typeof value === "string" || typeof value === "number") return value;
	if (typeof value === "bigint") return value.toString();
	if (typeof value === "boolean") return value ? 1 : 0;
	return JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? v.toString() : v));
}

/**
 * A message's row image as capture's: the table's columns in ordinal order, each converted by
 * `decode` (never given a null), then the message's columns the table lacks, converted by the
 * type the message states for them (`types`) or else kept as they are. A table column the message
 * lacks stays absent.
 */
export function rowImage(
	raw: RawImage,
	columns: readonly ColumnInfo[],
	types: Record<string, string> | undefined,
	decode: (value: unknown, column: ColumnInfo) => Value,
): RowImage {
	const convert = (value: unknown, column: ColumnInfo) =>
		value === null || value === undefined ? null : decode(value, column);
	const image: RowImage = {};
	const known = new Set<string>();
	for (const column of columns) {
		known.add(column.name);
		if (Object.hasOwn(raw, column.name)) image[column.name] = convert(raw[column.name], column);
	}
	for (const [name, value] of Object.entries(raw)) {
		if (known.has(name)) continue;
		const type = types?.[name];
		image[name] = type ? convert(value, columnOfType(name, type)) : asText(value);
	}
	return image;
}

/**
 * A reader of Ferry's own Kafka output: each source transaction is one Kafka transaction
 * (completeness "transactions"), and a row image is read by `decodeValue`, one column at a time.
 */
export function ferryFeedFormat(
	name: FeedFormatName,
	decode: (record: FeedRecord) => FeedEvent[],
	decodeValue: (value: unknown, column: ColumnInfo) => Value,
): FeedFormat {
	return {
		name,
		completeness: "transactions",
		decode,
		values: (raw, columns, row) => rowImage(raw, columns, row.types, decodeValue),
	};
}
