import { describe, expect, it } from "vitest";
import { execute, scratch2Credentials, scratchCredentials, uniqueDatabase } from "../support/databases.ts";
import { createTopics, uniqueTopic } from "../support/kafka.ts";
import { type StackFixture, useTestStack, verified, waitFor } from "../support/stack.ts";
import { addLocalKafka, compareRebuilt, killReplicationTask } from "../support/sync.ts";
import { type Operation, TicdcStandIn } from "../support/ticdc-standin.ts";

/*
 * A TiDB migration through TiCDC, with MariaDB standing in for TiDB's SQL side (schema, full copy,
 * verification) and the test writing TiCDC's messages for each of its transactions (no TiDB or
 * TiCDC runs here; test/support/ticdc-standin.ts). Writes land before, during and after the full
 * copy; the feed sends duplicates, a partition late and a partition's messages again; a DDL
 * statement and SIGKILLs of the replication task come during replay. At the end the destination
 * must equal the source by query and by Ferry's verification, in both TiCDC formats.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const TABLES = [
	`CREATE TABLE items (
		id BIGINT NOT NULL PRIMARY KEY,
		name VARCHAR(64) CHARACTER SET utf8mb4 NOT NULL,
		price DECIMAL(12,2) NULL,
		qty INT NOT NULL DEFAULT 0,
		status ENUM('new','paid','gone') NOT NULL DEFAULT 'new',
		tags SET('a','b','c') NOT NULL DEFAULT '',
		flags BIT(5) NULL,
		data BLOB NULL,
		doc JSON NULL,
		at DATETIME(6) NULL,
		seen TIMESTAMP(3) NULL,
		day DATE NULL,
		f DOUBLE NULL,
		big BIGINT UNSIGNED NULL
	)`,
	"CREATE TABLE accounts (id INT NOT NULL PRIMARY KEY, balance BIGINT NOT NULL)",
];

function item(id: number): Record<string, unknown> {
	return {
		id,
		name: `item ${id} ${["Zoë", "田中", "🚢"][id % 3]}`,
		price: id % 7 === 0 ? null : ((id * 37) % 100000) / 100,
		qty: id % 50,
		status: ["new", "paid", "gone"][id % 3],
		tags: ["", "a", "a,c", "b,c"][id % 4],
		flags: id % 32,
		data: id % 5 === 0 ? null : Buffer.from([id % 256, 0, 255, 10, 13, 39, 92]),
		doc: id % 6 === 0 ? null : JSON.stringify({ id, tags: ["x", id % 9] }),
		at: `2024-0${1 + (id % 9)}-1${id % 10} 12:34:56.${String(id % 1000000).padStart(6, "0")}`,
		seen: `2023-03-1${id % 10} 0${id % 10}:00:00.${String(id % 1000).padStart(3, "0")}`,
		day: id % 8 === 0 ? null : `20${10 + (id % 20)}-02-0${1 + (id % 9)}`,
		f: id / 3,
		big: id % 4 === 0 ? "18446744073709551615" : String(9007199254740993n + BigInt(id)),
	};
}

async function seed(database: string): Promise<void> {
	await execute(scratchCredentials, `DROP DATABASE IF EXISTS ${database}`, `CREATE DATABASE ${database}`);
	for (const sql of TABLES) await execute(scratchCredentials, `USE ${database}`, sql);
	const rows = Array.from({ length: 3000 }, (_, i) => i + 1);
	for (let i = 0; i < rows.length; i += 500) {
		const values = rows.slice(i, i + 500).map((id) => {
			const r = item(id);
			return `(${id}, 'seed ${id}', ${r.price ?? "NULL"}, ${r.qty}, '${r.status}', '${r.tags}', ${r.flags}, NULL, NULL, NULL, NULL, NULL, ${r.f}, ${r.big})`;
		});
		await execute(scratchCredentials, `INSERT INTO ${database}.items VALUES ${values.join(",")}`);
	}
	await execute(
		scratchCredentials,
		`INSERT INTO ${database}.accounts VALUES ${Array.from({ length: 100 }, (_, i) => `(${i + 1}, 1000)`).join(",")}`,
	);
}

/** Random transactions until `signal` aborts: inserts, updates, deletes, and transfers between two accounts (two partitions, one transaction). */
async function writeLoad(standin: TicdcStandIn, signal: AbortSignal, withNote: () => boolean): Promise<number> {
	let next = 100_000;
	let count = 0;
	const any = () => 1 + Math.floor(Math.random() * 3000);
	while (!signal.aborted) {
		const r = Math.random();
		const ops: Operation[] = [];
		if (r < 0.35) {
			const row = item(next++);
			if (withNote()) row.note = `n${next}`;
			ops.push({ kind: "insert", table: "items", row });
		} else if (r < 0.65) {
			const set: Record<string, unknown> = {
				qty: Math.floor(Math.random() * 100),
				status: "paid",
				tags: "b",
				flags: 31,
			};
			if (withNote()) set.note = "updated";
			ops.push({ kind: "update", table: "items", id: any(), set });
		} else if (r < 0.75) {
			ops.push({ kind: "delete", table: "items", id: any() });
		} else {
			const a = 1 + Math.floor(Math.random() * 100);
			const b = 1 + ((a + 1 + Math.floor(Math.random() * 98)) % 100);
			const amount = Math.floor(Math.random() * 10);
			ops.push({ kind: "update", table: "accounts", id: a, set: { balance: 1000 - amount } });
			ops.push({ kind: "update", table: "accounts", id: b, set: { balance: 1000 + amount } });
		}
		await standin.transaction(ops);
		count++;
		await sleep(5);
	}
	return count;
}

/** Waits until the incremental step is done and, with `until`, replay's position has reached that TSO. */
async function waitForIncremental(t: StackFixture, id: string, until?: bigint): Promise<void> {
	await waitFor(
		"the fed migration to catch up",
		async () => {
			const s = await t.status(id);
			if (s.ticket) throw new Error(`ticket on ${s.ticket.step}: ${s.ticket.message}`);
			const done = s.steps.find((x) => x.name === "incremental")?.state === "done";
			const at = BigInt(s.incremental?.position?.tso ?? 0);
			return done && (s.incremental?.latencySeconds ?? 99) <= 2 && (until === undefined || at >= until) ? s : undefined;
		},
		240_000,
	);
}

describe("a TiDB migration through TiCDC (MariaDB stands in for TiDB's SQL side; the test plays TiCDC)", () => {
	const legs = [
		{ format: "ticdc-canal-json" as const, db: uniqueDatabase("ticdcj"), topic: uniqueTopic("ticdc-json") },
		{ format: "ticdc-open-protocol" as const, db: uniqueDatabase("ticdco"), topic: uniqueTopic("ticdc-open") },
	];
	const t = useTestStack({
		workers: 1,
		env: { FERRY_REPLICATION_HEARTBEAT_TIMEOUT_MS: "3000" },
		seed: async () => {
			for (const leg of legs) await seed(leg.db);
		},
		databases: legs.map((l) => l.db),
		source: scratchCredentials,
		destination: scratch2Credentials,
	});

	it("replays duplicates, late partitions, DDL and a kill into a destination equal to the source", async () => {
		await createTopics(
			3,
			legs.map((l) => l.topic),
		);
		const standins = await Promise.all(
			legs.map((l) => TicdcStandIn.open(scratchCredentials, l.db, l.topic, 3, l.format)),
		);
		const stop = new AbortController();
		const stopMarks = new AbortController();
		let note = false;
		const marks = standins.map(async (s) => {
			while (!stopMarks.signal.aborted) {
				await s.watermark();
				await sleep(200);
			}
		});
		const writes = standins.map((s) => writeLoad(s, stop.signal, () => note));
		try {
			await sleep(1000);
			const kafkaId = await addLocalKafka(t, "kafka");
			const ids = await Promise.all(
				legs.map((leg) =>
					t.startProject({
						name: `tidb-${leg.format}`,
						types: ["schema", "full", "incremental"],
						objects: [{ database: leg.db }],
						feed: { dataSourceId: kafkaId, topics: [leg.topic], format: leg.format },
					}),
				),
			);
			for (const id of ids) await waitForIncremental(t, id);
			// a column added while replay runs: its DDL event is a barrier for the table's rows
			for (const [i, s] of standins.entries()) {
				await s.ddl("items", "ALTER TABLE items ADD COLUMN note VARCHAR(20) NULL");
				expect(legs[i]).toBeDefined();
			}
			note = true;
			expect(await killReplicationTask(t, 2)).toBe(2);
			await sleep(2000);
			stop.abort();
			const written = await Promise.all(writes);
			for (const n of written) expect(n).toBeGreaterThan(100);
			for (const s of standins) expect(s.stats.duplicates).toBeGreaterThan(0);

			for (const [i, id] of ids.entries()) {
				const leg = legs[i] as (typeof legs)[number];
				await waitForIncremental(t, id, standins[i]?.lastTs);
				const compared = await compareRebuilt(scratchCredentials, scratch2Credentials, leg.db);
				expect(compared.identical, `${leg.format}: ${compared.message}`).toBe(true);
				const status = await t.status(id);
				expect(status.incremental?.inconsistencies, `${leg.format}: rows not as the feed expected`).toBe(0);
				expect(status.incremental?.position?.tso, `${leg.format}: position`).toMatch(/^\d{18,20}$/);
				const checked = await verified(t, id);
				expect(checked.run.totals, `${leg.format}: Ferry's verification`).toMatchObject({
					missing: 0,
					extra: 0,
					different: 0,
				});
			}
		} finally {
			stop.abort();
			await Promise.allSettled(writes);
			stopMarks.abort();
			await Promise.allSettled(marks);
			await Promise.all(standins.map((s) => s.close()));
		}
	}, 600_000);
});
