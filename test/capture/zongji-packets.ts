/**
 * zongji's own packet parser (lib/packet/binlog.js, the class its binlog command feeds every
 * network packet to) and its byte reader, for tests that feed it binlog events built as bytes
 * (binlog-fixtures.ts). The package's `exports` map exposes only its main module, so they are
 * loaded by file URL next to it: the very module instances zongji uses.
 */
import type { AnyBinlogEvent, TableMapEvent } from "@vlasky/zongji";

export const zongjiMain = import.meta.resolve("@vlasky/zongji");

type PacketClass = new () => { parse(parser: unknown): void; getEvent(): AnyBinlogEvent };

export const { default: initBinlogPacketClass } = (await import(
	new URL("./lib/packet/binlog.js", zongjiMain).href
)) as {
	default: (zongji: unknown) => PacketClass;
};

export const { Parser } = (await import(new URL("./lib/reader.js", zongjiMain).href)) as {
	Parser: new () => { append(buffer: Buffer): void };
};

/**
 * One event through zongji's packet parser (after the 0x00 OK byte every binlog packet starts
 * with); a TABLE_MAP then goes where zongji's index.js puts one that carries FULL metadata.
 */
export function decodeEvent(z: { tableMap: Record<number, unknown> }, bytes: Buffer): AnyBinlogEvent {
	const parser = new Parser();
	parser.append(Buffer.concat([Buffer.from([0x00]), bytes]));
	const packet = new (initBinlogPacketClass(z))();
	packet.parse(parser);
	const ev = packet.getEvent();
	if (ev.getEventName() === "tablemap") {
		const tm = ev as TableMapEvent;
		z.tableMap[tm.tableId] = {
			columnSchemas: tm.buildColumnSchemas(),
			parentSchema: tm.schemaName,
			tableName: tm.tableName,
		};
		tm.updateColumnInfo();
	}
	return ev;
}
