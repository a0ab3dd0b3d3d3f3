import { describe, expect, it } from "vitest";
import { decodeQuerySession, querySession, sqlModeNames } from "../../shared/capture/session.ts";

/**
 * Query event status variables, built byte by byte as the servers write them (MariaDB's are also
 * read from the live server in zongji-fixes.test.ts; MySQL's only here).
 */

const u16 = (n: number) => [n & 0xff, n >> 8];
const u32 = (n: number) => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff];
const u64 = (n: bigint) => Array.from({ length: 8 }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn));
const text = (s: string) => [s.length, ...Buffer.from(s, "latin1")];

describe("Query event session", () => {
	it("reads a MySQL 8.0 event: updated databases, explicit_defaults_for_timestamp, and stops at an unknown code", () => {
		const mode = (1n << 1n) | (1n << 21n) | (1n << 32n); // PIPES_AS_CONCAT, STRICT_TRANS_TABLES, TIME_TRUNCATE_FRACTIONAL
		const bytes = Buffer.from([
			0,
			...u32(0),
			1,
			...u64(mode),
			6,
			...text("std"),
			4,
			...u16(255),
			...u16(255),
			...u16(224),
			5,
			...text("Europe/Paris"),
			12,
			2,
			...Buffer.from("shop\0other\0"),
			13,
			...[0x40, 0xe2, 0x01],
			16,
			0,
			18,
			...u16(255),
			99, // unknown: the rest is not read
			1,
			...u64(0n),
		]);
		expect(decodeQuerySession(bytes, "mysql")).toEqual({
			microseconds: 123456,
			sqlMode: ["PIPES_AS_CONCAT", "STRICT_TRANS_TABLES", "TIME_TRUNCATE_FRACTIONAL"],
			charset: { client: 255, connection: 255, server: 224 },
			timeZone: "Europe/Paris",
			explicitDefaultsForTimestamp: false,
		});
	});

	it("reads MariaDB's flags2, microseconds and 11.x collations, and resolves SYSTEM with the source's defaults", () => {
		const bytes = Buffer.from([
			0,
			...u32(1 << 24),
			1,
			...u64(1n << 20n),
			5,
			...text("SYSTEM"),
			128,
			...[0x40, 0xe2, 0x01], // 123456 µs
			131,
			1,
			...u16(33),
			...u16(45),
			130,
			0,
		]);
		expect(
			querySession(
				bytes,
				"mariadb",
				{ systemTimeZone: "+01:00", explicitDefaultsForTimestamp: false },
				1_700_000_000_000,
			),
		).toEqual({
			explicitDefaultsForTimestamp: true,
			sqlMode: ["NO_BACKSLASH_ESCAPES"],
			timeZone: "+01:00",
			timestamp: 1_700_000_000.123456,
		});
	});

	it("names MariaDB's own high modes", () => {
		expect(sqlModeNames((1n << 32n) | (1n << 34n), "mariadb")).toEqual([
			"EMPTY_STRING_IS_NULL",
			"TIME_ROUND_FRACTIONAL",
		]);
	});
});
