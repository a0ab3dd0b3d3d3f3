import { describe, expect, it } from "vitest";
import {
	addTransaction,
	compareFilePositions,
	hasReached,
	includesTransaction,
	samePosition,
} from "../../shared/binlog/position.ts";

const at = (gtid: string, file = "binlog.000001", pos = 4) => ({ gtid, file, pos });

describe("source positions", () => {
	it("compares MariaDB GTID positions per domain", () => {
		expect(hasReached(at("0-1-100"), at("0-1-100"))).toBe(true);
		expect(hasReached(at("0-1-99"), at("0-1-100"))).toBe(false);
		// Another server id in the same domain still counts by sequence number.
		expect(hasReached(at("0-2-101"), at("0-1-100"))).toBe(true);
		expect(hasReached(at("0-1-100,1-1-5"), at("0-1-100,1-1-6"))).toBe(false);
		expect(hasReached(at("1-1-6,0-1-100"), at("0-1-100,1-1-6"))).toBe(true);
		// A domain the position does not have yet.
		expect(hasReached(at("0-1-100"), at("0-1-100,2-1-1"))).toBe(false);
		expect(hasReached(null, at("0-1-1"))).toBe(false);
	});

	it("compares MySQL GTID sets by containment", () => {
		const u = "3E11FA47-71CA-11E1-9E33-C80AA9429562";
		expect(hasReached(at(`${u}:1-100`), at(`${u.toLowerCase()}:1-50`))).toBe(true);
		expect(hasReached(at(`${u}:1-40:42-100`), at(`${u}:1-50`))).toBe(false);
		expect(includesTransaction(at(`${u}:1-100`), `${u}:77`)).toBe(true);
		expect(includesTransaction(at(`${u}:1-100`), `${u}:101`)).toBe(false);
	});

	it("falls back to binlog file and offset without GTIDs", () => {
		expect(compareFilePositions(at("", "binlog.000010", 4), at("", "binlog.000009", 900))).toBeGreaterThan(0);
		expect(hasReached(at("", "binlog.000002", 100), at("", "binlog.000002", 100))).toBe(true);
		expect(hasReached(at("", "binlog.000002", 99), at("", "binlog.000002", 100))).toBe(false);
	});

	it("knows which transactions a checkpoint covers", () => {
		expect(includesTransaction(at("0-1-100,1-1-7"), "1-1-7")).toBe(true);
		expect(includesTransaction(at("0-1-100,1-1-7"), "1-1-8")).toBe(false);
		expect(includesTransaction(at("0-1-100"), "3-1-1")).toBe(false);
		expect(includesTransaction(at("0-1-100"), undefined)).toBe(false);
		expect(includesTransaction(null, "0-1-1")).toBe(false);
	});
});

describe("source positions, more cases", () => {
	const u = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
	const v = "4f22ab58-82db-22f2-af44-d91bb9530673";

	it("orders binlog files by their numeric suffix, then offsets", () => {
		expect(compareFilePositions(at("", "binlog.000002", 4), at("", "binlog.000002", 4))).toBe(0);
		expect(compareFilePositions(at("", "binlog.000002", 4), at("", "binlog.000002", 5))).toBeLessThan(0);
		// 10 comes after 9 even where the text would sort otherwise
		expect(compareFilePositions(at("", "binlog.10", 4), at("", "binlog.9", 900))).toBeGreaterThan(0);
		// another base name: by name, whatever the numbers
		expect(compareFilePositions(at("", "a-bin.000009", 4), at("", "b-bin.000001", 4))).toBeLessThan(0);
	});

	it("decide by file and offset when the target has GTIDs but the position has none", () => {
		expect(hasReached(at("", "binlog.000003", 4), at("0-1-5", "binlog.000002", 900))).toBe(true);
		expect(hasReached(at("", "binlog.000001", 4), at("0-1-5", "binlog.000002", 900))).toBe(false);
	});

	it("ignore file and offset when both have GTIDs", () => {
		expect(hasReached(at("0-1-5", "binlog.000001", 4), at("0-1-5", "binlog.000009", 900))).toBe(true);
		expect(hasReached(at("0-1-4", "binlog.000009", 900), at("0-1-5", "binlog.000001", 4))).toBe(false);
	});

	it("need every uuid of a MySQL target set, each interval covered whole", () => {
		expect(hasReached(at(`${u}:1-100,${v}:1-3`), at(`${v}:1-3,${u}:1-100`))).toBe(true);
		expect(hasReached(at(`${u}:1-100`), at(`${u}:1-100,${v}:1`))).toBe(false);
		expect(hasReached(at(`${u}:1-10:20-30`), at(`${u}:5-8:25`))).toBe(true);
		expect(hasReached(at(`${u}:1-10:20-30`), at(`${u}:5-25`))).toBe(false);
	});

	it("do not mix MariaDB GTIDs and MySQL sets in includesTransaction", () => {
		expect(includesTransaction(at("0-1-100"), `${u}:5`)).toBe(false);
		expect(includesTransaction(at(`${u}:1-10`), "0-1-5")).toBe(false);
		expect(includesTransaction(at(""), "0-1-5")).toBe(false);
	});

	it("reject text that is no GTID", () => {
		expect(() => hasReached(at("0-1-5"), at("zero"))).toThrow(/not a MariaDB GTID/);
		expect(() => hasReached(at(`${u}:1-5`), at(`${u}:x`))).toThrow(/not a MySQL GTID set entry/);
	});

	it("tell the same position whatever the GTID order, or by file and offset without GTIDs", () => {
		expect(samePosition(at("0-1-100,1-2-7", "binlog.000001", 4), at(" 1-2-7, 0-1-100", "binlog.000002", 9))).toBe(true);
		expect(samePosition(at("0-1-100"), at("0-1-101"))).toBe(false);
		expect(samePosition(at("0-1-100"), at(""))).toBe(false);
		expect(samePosition(at("", "binlog.000002", 100), at("", "binlog.000002", 100))).toBe(true);
		expect(samePosition(at("", "binlog.000002", 100), at("", "binlog.000002", 101))).toBe(false);
		expect(samePosition(at("", "binlog.000002", 100), at("", "binlog.000003", 100))).toBe(false);
	});
});

describe("positions of a change feed", () => {
	const at = (tso: string) => ({ gtid: "", file: "", pos: 0, tso });

	it("compare TiDB TSOs as 64-bit numbers, never as JavaScript numbers", () => {
		// two TSOs a double cannot tell apart
		const low = "434123456789012345";
		const high = "434123456789012346";
		expect(Number(low)).toBe(Number(high));
		expect(hasReached(at(high), at(low))).toBe(true);
		expect(hasReached(at(low), at(high))).toBe(false);
		expect(samePosition(at(low), at(high))).toBe(false);
		expect(samePosition(at(low), at(low))).toBe(true);
		// a binlog position has not reached a TSO
		expect(hasReached({ gtid: "0-1-5", file: "b.000001", pos: 4 }, at(low))).toBe(false);
	});

	it("extend a GTID state transaction by transaction", () => {
		expect(addTransaction("0-1-5,1-2-7", "0-1-6")).toBe("0-1-6,1-2-7");
		expect(addTransaction("", "3-1-1")).toBe("3-1-1");
		expect(addTransaction("0-1-5", "2-1-1")).toBe("0-1-5,2-1-1");
		const uuid = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
		expect(addTransaction(`${uuid}:1-5`, `${uuid}:6`)).toBe(`${uuid}:1-6`);
		expect(addTransaction(`${uuid}:1-5`, `${uuid}:8`)).toBe(`${uuid}:1-5:8`);
		expect(
			includesTransaction({ gtid: addTransaction(`${uuid}:1-5`, `${uuid}:8`), file: "", pos: 0 }, `${uuid}:8`),
		).toBe(true);
	});
});
