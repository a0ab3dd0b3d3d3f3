import { describe, expect, it } from "vitest";
import { checkpointRecordValue, parseCheckpointRecord } from "../../shared/sinks/kafka/producer.ts";
import { FormatTooNewError } from "../../shared/state/format.ts";

const position = { gtid: "0-1-9", file: "mariadb-bin.000002", pos: 300 };

describe("a Kafka checkpoint record's format (no broker)", () => {
	it("is written with the record and read back without it", () => {
		const value = checkpointRecordValue({ position, snapshot: { table: 2 } });
		expect(JSON.parse(value.toString("utf8"))).toEqual({ position, snapshot: { table: 2 }, format: 1 });
		expect(parseCheckpointRecord(value, "r")).toMatchObject({
			success: true,
			data: { position, snapshot: { table: 2 } },
		});
	});

	it("reads an older Ferry's record (no format) and refuses a newer one's by name", () => {
		expect(parseCheckpointRecord(Buffer.from(JSON.stringify({ position })), "r")).toMatchObject({
			success: true,
			data: { position },
		});
		const newer = Buffer.from(JSON.stringify({ position, format: 2 }));
		expect(() => parseCheckpointRecord(newer, "the checkpoint of stream p1 in topic 'ferry-offsets'")).toThrow(
			FormatTooNewError,
		);
		expect(() => parseCheckpointRecord(newer, "the checkpoint of stream p1 in topic 'ferry-offsets'")).toThrow(
			/^the checkpoint of stream p1 in topic 'ferry-offsets' is in format 2, newer than this Ferry knows \(format 1\)/,
		);
	});
});
