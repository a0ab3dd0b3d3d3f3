import { Producer } from "@platformatic/kafka";
import { describe, expect, it } from "vitest";
import { copySnapshotTso, currentTso, sourcePositionNow, tsoAtEndOf, tsoTime } from "../../shared/binlog/tso.ts";
import { openSnapshot } from "../../shared/copy/chunk-session.ts";
import type { Connection } from "../../shared/db/connect.ts";
import { feedFindings, goDurationSeconds } from "../../shared/feed/precheck.ts";
import { ChangeFeed } from "../../shared/model/feed.ts";
import { createTopics, kafkaCredentials, uniqueTopic } from "../support/kafka.ts";
import { canalJsonWatermark } from "../support/ticdc.ts";

/*
 * What Ferry says to TiDB: no TiDB server runs here, so these tests give the code a mocked TiDB
 * connection that answers the statements it sends and records them.
 */

interface Answer {
	match: RegExp;
	rows: Record<string, unknown>[];
}

function mockedTidb(answers: Answer[]): { conn: Connection; sent: string[] } {
	const sent: string[] = [];
	const all: Answer[] = [{ match: /VERSION\(\)/, rows: [{ v: "8.0.11-TiDB-v7.5.1" }] }, ...answers];
	const query = async (sql: string | { sql: string }, params?: unknown[]) => {
		const text = typeof sql === "string" ? sql : sql.sql;
		sent.push(params?.length ? `${text} ${JSON.stringify(params)}` : text);
		const answer = all.find((a) => a.match.test(text));
		return [answer?.rows ?? [], []];
	};
	return { conn: { query } as unknown as Connection, sent };
}

describe("TiDB's clock (with a mocked TiDB connection: no TiDB server runs here)", () => {
	it("takes the current TSO from a fresh transaction's start timestamp, as a string", async () => {
		const { conn, sent } = mockedTidb([{ match: /tidb_current_ts/, rows: [{ tso: "448304791945216007" }] }]);
		expect(await currentTso(conn)).toBe("448304791945216007");
		expect(sent.filter((s) => !/VERSION/.test(s))).toEqual([
			"START TRANSACTION",
			"SELECT CAST(@@tidb_current_ts AS CHAR) AS tso",
			"ROLLBACK",
		]);
		const position = await sourcePositionNow(conn, { feed: feedOf("ticdc-open-protocol") });
		expect(position).toEqual({ gtid: "", file: "", pos: 0, tso: "448304791945216007" });
	});

	it("refuses a TiDB that gives no transaction timestamp", async () => {
		const { conn } = mockedTidb([{ match: /tidb_current_ts/, rows: [{ tso: "0" }] }]);
		await expect(currentTso(conn)).rejects.toThrow(/no transaction timestamp/);
	});

	it("splits a TSO into its milliseconds and logical counter", () => {
		const tso = 448304791945216007n;
		expect(tsoTime(tso)).toBe(Number(tso >> 18n));
		expect(new Date(tsoTime(tso)).getUTCFullYear()).toBe(2024);
		expect(tsoAtEndOf(1000n)).toBe((1000n << 18n) + 262143n);
	});

	it("reads every copy chunk of a TiCDC-fed TiDB project as of the start TSO, and restores the session", async () => {
		const { conn, sent } = mockedTidb([
			{ match: /@@session\.sql_mode/, rows: [{ mode: "STRICT_TRANS_TABLES", nwt: 60 }] },
		]);
		const project = { feed: feedOf("ticdc-canal-json"), incremental: { startPosition: tsoAt("448304790896640001") } };
		const tso = copySnapshotTso(project);
		expect(tso).toBe("448304790896640001");
		const session = await openSnapshot(conn, (p) => p, tso);
		expect(session.asOfTso).toBe("448304790896640001");
		expect(sent).toContain('SET SESSION tidb_snapshot = ? ["448304790896640001"]');
		expect(sent.some((s) => s.startsWith("START TRANSACTION WITH CONSISTENT SNAPSHOT"))).toBe(false);
		// a binlog-fed project reads a consistent snapshot of its own, as before
		expect(copySnapshotTso({ feed: feedOf("debezium"), incremental: { startPosition: tsoAt("1") } })).toBeUndefined();
		expect(copySnapshotTso({ incremental: {} })).toBeUndefined();
	});
});

describe("tidb_gc_life_time (a mocked TiDB connection, the real Kafka broker)", () => {
	it("must outlast a copy at one snapshot", async () => {
		const topic = uniqueTopic("gc");
		await createTopics(1, [topic]);
		const producer = new Producer({ clientId: "gc-test", bootstrapBrokers: kafkaCredentials.brokers });
		await producer.send({ messages: [{ topic, partition: 0, value: canalJsonWatermark(448304791945216007n) }] });
		await producer.close();
		const feed = ChangeFeed.parse({ dataSourceId: "ds-k", topics: [topic], format: "ticdc-canal-json" });
		const mapping = { source: { database: "d", table: "t" }, destination: { database: "d", table: "t" }, columns: [] };
		const withSize = (life: string) =>
			mockedTidb([
				{ match: /tidb_gc_life_time/, rows: [{ life }] },
				{ match: /DATA_LENGTH/, rows: [{ n: String(200 * 1024 ** 3) }] },
			]).conn;
		// 200 GiB at 20 MiB/s is about 2.8 hours
		const short = await feedFindings(feed, kafkaCredentials, withSize("10m0s"), [mapping], true);
		expect(short).toEqual([
			expect.objectContaining({
				level: "error",
				object: "source tidb_gc_life_time",
				fix: expect.stringMatching(/SET GLOBAL tidb_gc_life_time = '\d+m'/),
			}),
		]);
		expect(await feedFindings(feed, kafkaCredentials, withSize("24h"), [mapping], true)).toEqual([]);
		// without a full copy nothing is read at a snapshot
		expect(await feedFindings(feed, kafkaCredentials, withSize("10m0s"), [mapping], false)).toEqual([]);
	});

	it("reads Go durations", () => {
		expect(goDurationSeconds("10m0s")).toBe(600);
		expect(goDurationSeconds("1h30m")).toBe(5400);
		expect(goDurationSeconds("720h")).toBe(2_592_000);
		expect(goDurationSeconds("1.5s")).toBe(1.5);
		expect(goDurationSeconds("ten minutes")).toBeNull();
		expect(goDurationSeconds("10m junk")).toBeNull();
	});
});

function feedOf(format: string) {
	return ChangeFeed.parse({ dataSourceId: "ds-k", topics: ["t"], format });
}

function tsoAt(tso: string) {
	return { gtid: "", file: "", pos: 0, tso };
}
