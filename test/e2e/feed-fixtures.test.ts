import { Producer } from "@platformatic/kafka";
import type { RowDataPacket } from "mysql2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RowImage } from "../../shared/capture/change.ts";
import { addDataSource, DataSourceInput } from "../../shared/control/datasources.ts";
import { createProject } from "../../shared/control/projects.ts";
import { quoteId } from "../../shared/db/sql.ts";
import { ProjectInput } from "../../shared/model/project.ts";
import { readCheckpoint } from "../../shared/replay/checkpoint.ts";
import { replicationId } from "../../shared/replication/ids.ts";
import { runReplication } from "../../shared/replication/stream.ts";
import { updateProject } from "../../shared/state/projects.ts";
import { replicationStatus } from "../../shared/state/streams.ts";
import { createTable } from "../../shared/state/tables.ts";
import {
	ALL_TYPES_COLUMNS,
	CHANGEFEED_ZONE,
	canalJsonLines,
	openProtocolRecord,
	ROW_1_UPDATED_AGAIN,
	ROW_3,
	TSO,
} from "../feed/ticdc-fixture.ts";
import { destinationCredentials, sourceCredentials } from "../support/databases.ts";
import { createTopics, kafkaCredentials, uniqueTopic } from "../support/kafka.ts";
import { sleep, useTestContext, waitForStatus } from "../support/replication.ts";
import { canalJsonWatermark, openProtocolRecord as openProtocolMessage } from "../support/ticdc.ts";

/*
 * TiCDC's byte fixtures (test/fixtures/ticdc, README there) through the real Kafka broker into
 * the real MariaDB destination: the replication task runs in this process (test/support/
 * replication.ts), MariaDB's source instance stands in for TiDB's SQL side (the reader types
 * values by its columns) and the test plays TiCDC, hostile as its at-least-once delivery is:
 * records twice, partition 2 behind partition 1, and a block of earlier records again after a
 * watermark (a TiCDC restart). The stream is restarted once between two watermarks; the
 * destination table comes from the fixture's own CREATE TABLE event.
 */

type Format = "ticdc-canal-json" | "ticdc-open-protocol";
interface Message {
	partition: number;
	key?: Buffer;
	value: Buffer;
}

const PARTITIONS = [0, 1, 2];
/** A watermark the fixtures lack, between the two updates (one TSO apart): the first is released, the second held. */
const MIDWAY = TSO.update2;
const CREATE_SQL = String(JSON.parse(String(canalJsonLines("all-types.jsonl")[0])).sql);

/** A record (a Kafka record's value, or its key and value) to a partition. */
function at(partition: number, m: Buffer | { key: Buffer | null; value: Buffer | null } | undefined): Message {
	if (m === undefined) throw new Error("a fixture record is missing");
	if (Buffer.isBuffer(m)) return { partition, value: m };
	return { partition, ...(m.key ? { key: m.key } : {}), value: m.value ?? Buffer.alloc(0) };
}

const everywhere = (m: Parameters<typeof at>[1]) => PARTITIONS.map((p) => at(p, m));

/**
 * What the test sends, as produce calls before the stream's restart and after it. Before: the
 * rows twice now and then, partition 2's after partition 1's later ones, then a watermark between
 * the two updates. After: a block of the earlier records again (TiCDC restarted from an older
 * checkpoint), the rest, and the fixture's watermark, partition 2's last.
 */
function feedFor(format: Format): [Message[][], Message[][]] {
	if (format === "ticdc-canal-json") {
		// one message a line: rows to partition id % 3, the DDL to 0, watermarks to every partition
		const [ddl, ins1, ins2, ins3, upd1, upd2, del2, mark] = canalJsonLines("all-types.jsonl");
		return [
			[
				[at(0, ddl), at(1, ins1), at(0, ins3), at(0, ins3), at(1, upd1), at(1, upd1)],
				[at(2, ins2)],
				everywhere(canalJsonWatermark(MIDWAY)),
			],
			[
				[at(0, ddl), at(1, ins1), at(2, ins2), at(0, ins3), at(1, upd1)],
				[at(1, upd2), at(0, mark), at(1, mark)],
				[at(2, del2), at(2, del2), at(2, mark)],
			],
		];
	}
	// batched records as they are: the inserts and the delete to 2, the updates (row 1) to 1; DDL and resolved to every partition
	const [ddl, insert, update, del] = ["ddl", "insert", "update", "delete"].map((n) =>
		openProtocolRecord(`all-types-${n}`),
	);
	const resolved = openProtocolRecord("resolved");
	return [
		[
			[at(0, ddl), at(1, ddl), at(1, update), at(1, update)],
			[at(2, ddl), at(2, insert), at(2, insert)],
			everywhere(openProtocolMessage([{ kind: "resolved", ts: MIDWAY }])),
		],
		[
			[...everywhere(ddl), at(2, insert)],
			[at(0, resolved), at(1, resolved)],
			[at(2, del), at(2, del), at(2, resolved)],
		],
	];
}

/** A value as the comparison sees it: bytes as hex, FLOAT as a float, JSON parsed, anything else as text. */
function comparable(row: RowImage): Record<string, unknown> {
	return Object.fromEntries(
		ALL_TYPES_COLUMNS.map(({ name, dataType }) => {
			const v = row[name];
			if (v === null || v === undefined) return [name, v];
			if (Buffer.isBuffer(v)) return [name, `0x${v.toString("hex")}`];
			if (dataType === "float") return [name, Math.fround(Number(v))];
			// the driver parses a column MariaDB marks as JSON itself
			if (dataType === "json") return [name, typeof v === "string" ? JSON.parse(v) : v];
			return [name, String(v)];
		}),
	);
}

describe("TiCDC's fixtures through Kafka into MariaDB (MariaDB stands in for TiDB's SQL side)", () => {
	const fx = useTestContext("feed-fixtures");
	const producer = new Producer({ clientId: "ticdc-fixtures", bootstrapBrokers: kafkaCredentials.brokers });
	let createdTestDatabase = false;

	beforeAll(async () => {
		// the fixtures' table at the "TiDB": the reader types the feed's values by its columns
		const [found] = await fx.src.query<RowDataPacket[]>("SHOW DATABASES LIKE 'test'");
		createdTestDatabase = found.length === 0;
		if (createdTestDatabase) await fx.src.query("CREATE DATABASE test");
		await fx.src.query("DROP TABLE IF EXISTS test.all_types");
		await fx.src.query(CREATE_SQL.replace("CREATE TABLE all_types", "CREATE TABLE test.all_types"));
	});

	afterAll(async () => {
		await producer.close();
		await fx.src.query(createdTestDatabase ? "DROP DATABASE test" : "DROP TABLE test.all_types");
	});

	async function project(format: Format, topic: string, db: string): Promise<string> {
		const add = (name: string, input: object) =>
			addDataSource(fx.ctx, DataSourceInput.parse({ name, ...input })).then((d) => d.id);
		const kafka = await add("kafka", { engine: "kafka", brokers: kafkaCredentials.brokers });
		const p = await createProject(
			fx.ctx,
			ProjectInput.parse({
				name: `fixtures ${format}`,
				sourceId: await add("tidb", { engine: "mariadb", ...sourceCredentials }),
				destinationId: await add("dst", { engine: "mariadb", ...destinationCredentials }),
				types: ["incremental"],
				objects: [{ database: "test", table: "all_types", renameDatabase: db }],
				feed: { dataSourceId: kafka, topics: [topic], format, timeZone: CHANGEFEED_ZONE },
			}),
		);
		const names = ALL_TYPES_COLUMNS.map((c) => ({ source: c.name, destination: c.name }));
		await createTable(fx.ctx, p.id, {
			index: 0,
			mapping: {
				source: { database: "test", table: "all_types" },
				destination: { database: db, table: "all_types" },
				columns: names,
			},
			rowsEstimate: 0,
			planned: true,
			chunks: 0,
		});
		await updateProject(fx.ctx, p.id, (q) => ({
			...q,
			state: "running",
			incremental: { startPosition: { gtid: "", file: "", pos: 0, tso: (TSO.ddl - 1n).toString() } },
			steps: q.steps.map((s) => ({ ...s, state: s.name === "incremental" ? "running" : "done" })),
		}));
		return p.id;
	}

	async function produce(topic: string, sends: Message[][]): Promise<void> {
		for (const messages of sends) {
			await producer.send({ messages: messages.map((m) => ({ topic, ...m })) });
			// the stream reads a round or two in between: it sees the partitions drift apart
			await sleep(300);
		}
	}

	/** Waits until the stream's position is `tso` (a session ending on an error is retried: only a fatal stop ends the wait). */
	async function reached(id: string, tso: bigint): Promise<void> {
		const s = await waitForStatus(
			fx.ctx,
			id,
			(x) => x.fatal !== undefined || BigInt(x.position?.tso ?? 0) >= tso,
			60_000,
		);
		expect(s?.fatal?.message).toBeUndefined();
		expect(s?.position?.tso, `the stream's position (last error: ${s?.lastError ?? "none"})`).toBe(tso.toString());
	}

	it.each<Format>(["ticdc-canal-json", "ticdc-open-protocol"])(
		"%s: duplicates, a late partition, a TiCDC restart and a stream restart leave the destination exact",
		async (format) => {
			const topic = uniqueTopic("ticdc-fixtures");
			const db = fx.database("ticdcfx");
			await createTopics(PARTITIONS.length, [topic]);
			// the destination database, as the schema step leaves it; the table comes from the DDL event
			await fx.dst.query(`CREATE DATABASE ${quoteId(db)} CHARACTER SET utf8mb4`);
			const id = replicationId(await project(format, topic, db), "forward");
			fx.streams.push(id);
			const [first, second] = feedFor(format);

			let stop = new AbortController();
			let task = runReplication(fx.ctx, id, stop.signal);
			try {
				await produce(topic, first);
				await reached(id, MIDWAY - 1n);
				stop.abort();
				expect(await task).toBe("stopped");
				// the checkpoint a new session resumes from: the first update applied, the second still to come
				expect((await readCheckpoint(fx.dst, id))?.position.tso).toBe((MIDWAY - 1n).toString());

				stop = new AbortController();
				task = runReplication(fx.ctx, id, stop.signal);
				await produce(topic, second);
				await reached(id, TSO.watermark - 1n);
			} finally {
				stop.abort();
				await task;
			}
			expect((await replicationStatus(fx.ctx, id))?.inconsistencies).toBe(0);

			await fx.dst.query("SET SESSION time_zone = '+00:00'");
			// FLOAT as the double it holds: its text is rounded to 6 digits
			const list = ALL_TYPES_COLUMNS.map((c) => (c.dataType === "float" ? `${c.name} + 0e0 AS ${c.name}` : c.name));
			const [rows] = await fx.dst.query<RowDataPacket[]>(
				`SELECT ${list.join(", ")} FROM ${quoteId(db)}.all_types ORDER BY id`,
			);
			expect(rows.map((r) => comparable(r))).toEqual([ROW_1_UPDATED_AGAIN, ROW_3].map(comparable));
		},
		120_000,
	);
});
