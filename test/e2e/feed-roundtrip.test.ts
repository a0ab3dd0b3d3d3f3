import { describe, expect, it } from "vitest";
import { runWriteLoad } from "../../cli/demo/load.ts";
import { hasReached } from "../../shared/binlog/position.ts";
import type { FeedFormatName } from "../../shared/model/feed.ts";
import type { FormatName } from "../../shared/model/sync.ts";
import { sampleDatabases, scratch2Credentials, scratchCredentials, uniqueDatabase } from "../support/databases.ts";
import { createTopics } from "../support/kafka.ts";
import { position } from "../support/replication.ts";
import { type StackFixture, useTestStack, waitFor } from "../support/stack.ts";
import { addLocalKafka, compareRebuilt, killReplicationTask, waitForSyncCaughtUp } from "../support/sync.ts";

/*
 * A migration through a queue: MariaDB -> Ferry synchronization (Debezium, and Canal) -> Kafka
 * -> a Ferry migration fed from those topics -> a second MariaDB, under a write load, with the
 * replication tasks SIGKILLed. The second database must equal the first by query, and the
 * migration's own verification must say so.
 */

const TABLES = ["customers", "products", "orders", "order_items", "audit_log", "digits", "seq"];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Leg {
	db: string;
	sync: FormatName;
	feed: FeedFormatName;
}

async function startSync(t: StackFixture, kafkaId: string, leg: Leg): Promise<string> {
	return t.startProject({
		name: `sync-${leg.sync}`,
		destinationId: kafkaId,
		types: ["full", "incremental"],
		objects: [{ database: leg.db }],
		sync: { format: leg.sync, topic: "{database}.{table}", partitioning: "key", heartbeatIntervalMs: 1000 },
	});
}

async function startFedMigration(t: StackFixture, kafkaId: string, leg: Leg, synchronization: string): Promise<string> {
	return t.startProject({
		name: `fed-${leg.feed}`,
		types: ["schema", "full", "incremental", "verification"],
		objects: [{ database: leg.db }],
		feed: {
			dataSourceId: kafkaId,
			topics: TABLES.map((table) => `${leg.db}.${table}`),
			format: leg.feed,
			// both legs write to one server: its GTID state moves with the other leg's transactions too
			synchronization,
		},
	});
}

describe("a migration through a queue: MariaDB -> sync -> Kafka -> Ferry fed from Kafka -> MariaDB", () => {
	const legs: Leg[] = [
		{ db: uniqueDatabase("feedd"), sync: "debezium", feed: "debezium" },
		{ db: uniqueDatabase("feedc"), sync: "canal", feed: "canal" },
	];
	const t = useTestStack({
		workers: 1,
		env: { FERRY_REPLICATION_HEARTBEAT_TIMEOUT_MS: "3000" },
		seed: () => sampleDatabases(scratchCredentials, 0.02, ...legs.map((l) => l.db)),
		databases: legs.map((l) => l.db),
		source: scratchCredentials,
		destination: scratch2Credentials,
	});

	it("ends with equal databases, by query and by Ferry's verification, though its tasks were killed", async () => {
		const kafkaId = await addLocalKafka(t, "kafka");
		for (const leg of legs) {
			await createTopics(
				3,
				TABLES.map((table) => `${leg.db}.${table}`),
			);
		}
		const load = new AbortController();
		const writes = legs.map((leg) =>
			runWriteLoad(scratchCredentials, leg.db, { signal: load.signal, connections: 1, pauseMs: 10 }),
		);
		const syncs = await Promise.all(legs.map((leg) => startSync(t, kafkaId, leg)));
		// the migration starts once the synchronization's snapshot is in Kafka (an earlier start is refused: feed/reader.ts)
		for (const id of syncs) await waitForSyncCaughtUp(t, id);
		const fed = await Promise.all(legs.map((leg, i) => startFedMigration(t, kafkaId, leg, syncs[i] as string)));

		const kills = await killReplicationTask(t, 4);
		await sleep(3000);
		load.abort();
		const done = await Promise.all(writes);
		expect(kills).toBe(4);
		for (const d of done) expect(d.transactions).toBeGreaterThan(50);
		// where the source's binlog ends: each fed migration must get there, the other leg's transactions included
		const end = await position(scratchCredentials);

		for (const [i, id] of fed.entries()) {
			const leg = legs[i] as Leg;
			let last: unknown;
			const status = await waitFor(
				`the ${leg.feed}-fed migration's verification`,
				async () => {
					const s = await t.status(id);
					last = { steps: s.steps, incremental: s.incremental, verification: s.verification?.run };
					if (s.ticket) throw new Error(`ticket on ${s.ticket.step}: ${s.ticket.message}`);
					const verified = s.steps.find((x) => x.name === "verify")?.state === "done";
					const there = hasReached(s.incremental?.position, end);
					return verified && there && (s.incremental?.latencySeconds ?? 99) <= 1 ? s : undefined;
				},
				240_000,
			).catch((err) => {
				throw new Error(`${(err as Error).message}; last status: ${JSON.stringify(last)}`);
			});
			expect(status.verification?.run.totals, `${leg.feed}: Ferry's verification`).toMatchObject({
				missing: 0,
				extra: 0,
				different: 0,
			});
			expect(status.verification?.run.totals?.rowsChecked ?? 0).toBeGreaterThan(1000);
			const compared = await compareRebuilt(scratchCredentials, scratch2Credentials, leg.db);
			expect(compared.identical, `${leg.feed}: ${compared.message}`).toBe(true);
			expect(status.incremental?.rows ?? 0, `${leg.feed}: rows replayed from the feed`).toBeGreaterThan(50);
		}
	}, 600_000);
});
