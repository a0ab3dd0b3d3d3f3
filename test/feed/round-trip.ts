import type { RowImage } from "../../shared/capture/change.ts";
import type { FeedEvent, FeedFormat, FeedRecord, FeedRow } from "../../shared/feed/event.ts";
import type { EventSource, RowEvent, SinkTable } from "../../shared/sinks/event.ts";
import type { SinkMessage } from "../../shared/sinks/formats/format.ts";

/** Encoding with one of Ferry's sink formats and reading back with its feed format, for the feed tests. */

/** A change's transaction as the sink target gives it (MariaDB: a GTID, where it starts, its commit time). */
export const change: EventSource = {
	gtid: "0-1-42",
	file: "mariadb-bin.000012",
	pos: 800911,
	rowIndex: 3,
	commitTime: 1718000000123,
	serverId: 7,
};

/** A snapshot row's source as the sink target gives it: the snapshot's position and its GTID position. */
export const snapshot: EventSource = {
	gtid: "0-1-41",
	file: "mariadb-bin.000011",
	pos: 4,
	rowIndex: 0,
	commitTime: 1717999999456,
	serverId: 7,
	snapshot: "first",
};

export function rowEvent(
	table: SinkTable,
	op: RowEvent["op"],
	images: { before?: RowImage; after?: RowImage },
	source: EventSource = op === "read" ? snapshot : change,
): RowEvent {
	return { kind: "row", op, table, ...images, source };
}

/** The messages as Kafka records, in order. */
export function records(messages: SinkMessage[], topic = "shop.all_types"): FeedRecord[] {
	return messages.map((m, i) => ({
		topic: m.topic ?? topic,
		partition: 0,
		offset: BigInt(i),
		key: m.key,
		value: m.value,
	}));
}

export function decodeAll(feed: FeedFormat, messages: SinkMessage[]): FeedEvent[] {
	return records(messages).flatMap((r) => feed.decode(r));
}

export interface ReadRow {
	op: FeedRow["op"];
	before?: RowImage;
	after?: RowImage;
}

/** The rows a feed reads from `messages`, their images converted by `table`'s columns. */
export function readRows(feed: FeedFormat, messages: SinkMessage[], table: SinkTable): ReadRow[] {
	return decodeAll(feed, messages)
		.filter((e): e is FeedRow => e.kind === "row")
		.map((row) => ({
			op: row.op,
			...(row.before ? { before: feed.values(row.before, table.columns, row) } : {}),
			...(row.after ? { after: feed.values(row.after, table.columns, row) } : {}),
		}));
}

/** What a feed should read back of `event` when every value survives: the event's own op and images. */
export function expected(event: RowEvent): ReadRow[] {
	return [
		{
			op: event.op,
			...(event.before && event.op !== "insert" && event.op !== "read" ? { before: event.before } : {}),
			...(event.after && event.op !== "delete" ? { after: event.after } : {}),
		},
	];
}
