import { describe, expect, it } from "vitest";
import type { FeedRow } from "../../shared/feed/event.ts";
import { ticdcCanalJsonFormat } from "../../shared/feed/ticdc-canal-json.ts";
import { utcFromZone } from "../../shared/feed/ticdc-values.ts";
import { canalJsonMessage } from "../support/ticdc.ts";
import { ALL_TYPES_COLUMNS, record } from "./ticdc-fixture.ts";

describe("TIMESTAMPs from the changefeed's time zone", () => {
	it("take the zone's offset in force at that time, daylight saving included", () => {
		const newYork = utcFromZone("America/New_York");
		expect(newYork("2024-07-01 12:00:00")).toBe("2024-07-01 16:00:00");
		expect(newYork("2024-01-01 12:00:00.123456")).toBe("2024-01-01 17:00:00.123456");
		expect(newYork("1970-01-01 00:00:00")).toBe("1970-01-01 05:00:00");
		expect(utcFromZone("+05:30")("2024-03-01 00:10:00")).toBe("2024-02-29 18:40:00");
		expect(utcFromZone("Asia/Shanghai")("0000-00-00 00:00:00")).toBe("0000-00-00 00:00:00");
	});

	it("refuse a zone Intl does not know, and text that is no TIMESTAMP", () => {
		expect(() => utcFromZone("Mars/Olympus")).toThrow(RangeError);
		expect(() => utcFromZone("Europe/Paris")("yesterday")).toThrow(/not a TIMESTAMP/);
	});
});

describe("values a column cannot hold", () => {
	it("fail with the column named", () => {
		const format = ticdcCanalJsonFormat({});
		const message = canalJsonMessage({
			database: "db",
			table: "t",
			type: "INSERT",
			commitTs: 1n << 55n,
			data: [{ e: 4, s: 16, i: "1.5" }],
			pkNames: null,
			mysqlType: { e: "enum", s: "set", i: "int" },
		});
		const row = format.decode(record(message))[0] as FeedRow;
		const only = (name: string) => ALL_TYPES_COLUMNS.filter((c) => c.name === name);
		expect(() => format.values({ e: "4" }, only("e"), row)).toThrow(/column 'e'.*past the column's 3 members/);
		expect(() => format.values({ s: "16" }, only("s"), row)).toThrow(/column 's'.*more than the column's 4 members/);
		expect(() => format.values({ i: "1.5" }, only("i"), row)).toThrow(/column 'i' \(int\): cannot read "1.5"/);
	});
});
