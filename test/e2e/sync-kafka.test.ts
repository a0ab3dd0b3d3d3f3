import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { runWriteLoad } from "../../cli/demo/load.ts";
import { sampleDatabases, scratch2Credentials, scratchCredentials, uniqueDatabase } from "../support/databases.ts";
import { consumeAll, createTopics } from "../support/kafka.ts";
import { applyDefaultMessages, copyTableDefinitions, type DefaultMessage } from "../support/rebuild.ts";
import { useTestStack } from "../support/stack.ts";
import { addLocalKafka, compareRebuilt, killReplicationTask, waitForSyncCaughtUp } from "../support/sync.ts";

const KAFKA_SH = fileURLToPath(new URL("../../scripts/services/kafka.sh", import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TABLES = ["customers", "products", "orders", "order_items", "audit_log"];

describe("synchronization to Kafka, full + incremental, under SIGKILLs of the task and a broker crash", () => {
	const db = uniqueDatabase("synck");
	const t = useTestStack({
		workers: 1,
		env: { FERRY_REPLICATION_HEARTBEAT_TIMEOUT_MS: "3000" },
		seed: () => sampleDatabases(scratchCredentials, 0.05, db),
		databases: [db],
		source: scratchCredentials,
		destination: scratch2Credentials,
	});

	it("delivers every change exactly once to read_committed consumers, who rebuild the source", async () => {
		// three partitions per table topic: rows are routed by table, DDL with them
		await createTopics(
			3,
			TABLES.map((table) => `${db}.${table}`),
		);
		const kafka = { id: await addLocalKafka(t, "kafka") };
		const load = new AbortController();
		const writes = runWriteLoad(scratchCredentials, db, { signal: load.signal, connections: 2, pauseMs: 5 });
		const projectId = await t.startProject({
			name: "sync-kafka",
			destinationId: kafka.id,
			types: ["full", "incremental"],
			objects: [{ database: db }],
			sync: { format: "default", topic: "{database}.{table}", partitioning: "table", heartbeatIntervalMs: 1000 },
		});

		const kills = await killReplicationTask(t, 3);
		await promisify(execFile)("bash", [KAFKA_SH, "restart"]);
		await sleep(4000);
		load.abort();
		const done = await writes;
		expect(kills).toBe(3);
		expect(done.transactions).toBeGreaterThan(100);

		// caught up: the stream reports no latency and the source takes no more writes
		await waitForSyncCaughtUp(t, projectId);
		await sleep(2000);

		const messages = await consumeAll(
			TABLES.map((table) => `${db}.${table}`),
			{ untilIdleMs: 3000 },
		);
		const rows = messages
			.map((m) => ({ ...m, body: m.value ? (JSON.parse(m.value.toString()) as DefaultMessage) : null }))
			.filter((m) => m.body && m.body.recordType !== "HEARTBEAT" && m.body.recordType !== "DDL");

		// no duplicates and no gaps, by (transaction, row index). A transaction before the last
		// table's snapshot may be partly in a snapshot (the rows of tables read after it), so the
		// gap check takes the transactions after every snapshot: GTIDs past the snapshots' GTID state
		const ids = rows.map((m) => String(m.body?.allMetaData.uniqueId));
		expect(new Set(ids).size).toBe(ids.length);
		const snapshotSeq = new Map<string, number>();
		for (const m of rows.filter((r) => r.body?.recordType === "ROW")) {
			for (const [, domain, seq] of String(m.body?.allMetaData.transId).matchAll(/(\d+)-\d+-(\d+)/g)) {
				snapshotSeq.set(String(domain), Math.max(snapshotSeq.get(String(domain)) ?? 0, Number(seq)));
			}
		}
		// each table's snapshot was sent once, whatever the kills after it
		for (const table of TABLES) {
			const snapshots = new Set(
				rows
					.filter((m) => m.topic === `${db}.${table}` && String(m.body?.allMetaData.uniqueId).startsWith("snapshot:"))
					.map((m) => String(m.body?.allMetaData.uniqueId).split("#")[0]),
			);
			expect(snapshots.size, `snapshots of ${table}`).toBe(1);
		}
		const byTransaction = new Map<string, number[]>();
		for (const id of ids.filter((i) => !i.startsWith("snapshot:"))) {
			const [tx, index] = id.split("#");
			const [domain, , seq] = String(tx).split("-");
			if (Number(seq) <= (snapshotSeq.get(String(domain)) ?? 0)) continue;
			byTransaction.set(String(tx), [...(byTransaction.get(String(tx)) ?? []), Number(index)]);
		}
		expect(byTransaction.size).toBeGreaterThan(20);
		for (const [tx, indexes] of byTransaction) {
			expect(
				indexes.sort((a, b) => a - b),
				`rows of transaction ${tx}`,
			).toEqual(indexes.map((_, i) => i));
		}

		// rebuild each table from its messages (one table's messages are in one partition, in order)
		await copyTableDefinitions(scratchCredentials, scratch2Credentials, db);
		for (const table of TABLES) {
			const ofTable = rows.filter((m) => m.topic === `${db}.${table}`).sort((a, b) => Number(a.offset - b.offset));
			expect(new Set(ofTable.map((m) => m.partition)).size, `partitions of ${table}`).toBe(1);
			await applyDefaultMessages(
				scratch2Credentials,
				ofTable.map((m) => m.body as DefaultMessage),
			);
		}
		const rebuilt = await compareRebuilt(scratchCredentials, scratch2Credentials, db);
		expect(rebuilt.identical, rebuilt.message).toBe(true);
		const final = await t.status(projectId);
		expect(final.state, JSON.stringify(final.ticket)).toBe("running");
	}, 400_000);
});
