import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runWriteLoad } from "../../cli/demo/load.ts";
import type { ProjectStatus } from "../../shared/control/status.ts";
import { testKafkaConnection } from "../../shared/sinks/kafka/client.ts";
import { destinationCredentials, sampleDatabases, sourceCredentials, uniqueDatabase } from "../support/databases.ts";
import { FaultProxy } from "../support/fault-proxy.ts";
import { consumeAll, createTopics, kafkaCredentials } from "../support/kafka.ts";
import { applyDefaultMessages, copyTableDefinitions, type DefaultMessage } from "../support/rebuild.ts";
import { statusUntil, useTestStack } from "../support/stack.ts";
import { compareRebuilt } from "../support/sync.ts";

/*
 * A synchronization project whose Kafka sits behind a fault proxy (test/support/fault-proxy.ts).
 * Kafka clients bootstrap, then connect to the address the broker advertises, so a proxy in front
 * of a bootstrap port alone would be bypassed: scripts/services/kafka.sh runs a second PLAINTEXT
 * listener (FERRY_KAFKA_FAULT_PORT) that advertises the proxy's port (FERRY_KAFKA_FAULT_PROXY_PORT),
 * and this file's proxy listens there and forwards to it. Ferry bootstraps through the proxy too;
 * the test's own reader goes to the broker's ordinary listener.
 *
 * For each fault: Ferry notices it within a bound and says so in the status, the stream carries on
 * once the network is back, and what a read_committed consumer reads rebuilds the source: nothing
 * lost, nothing doubled (the Kafka sink is exactly once: the messages and the checkpoint are one
 * transaction).
 */

const PROXY_PORT = Number(process.env.FERRY_KAFKA_FAULT_PROXY_PORT ?? 40103);
const LISTENER_PORT = Number(process.env.FERRY_KAFKA_FAULT_PORT ?? 19095);
/** How long a fault must at most go unnoticed in the status. */
const DETECT_MS = 12_000;
const TABLES = ["customers", "products", "orders", "order_items", "audit_log"];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the status says of the stream in trouble: its last error, or why it does not run. */
function streamTrouble(s: ProjectStatus): string | undefined {
	const stream = s.incremental;
	if (stream?.lastError) return stream.lastError;
	return stream && stream.state !== "running" ? `${stream.state}: ${stream.stateReason}` : undefined;
}

describe("network faults between Ferry and Kafka", () => {
	const db = uniqueDatabase("netfaultk");
	let proxy: FaultProxy | undefined;
	const kafka = () => proxy as FaultProxy;
	const measured: Record<string, number> = {};
	const shown: Record<string, string> = {};
	const t = useTestStack({
		workers: 1,
		env: {
			FERRY_REPLICATION_HEARTBEAT_TIMEOUT_MS: "8000",
			FERRY_REPLICATION_STALE_MS: "3000",
			FERRY_REPLICATION_PROBE_MS: "1000",
			FERRY_REPLICATION_PROBE_TIMEOUT_MS: "4000",
		},
		seed: () => sampleDatabases(sourceCredentials, 0.02, db),
		databases: [db],
	});
	let id = "";
	const status = () => t.status(id);

	beforeAll(async () => {
		proxy = await FaultProxy.start({ host: "127.0.0.1", port: LISTENER_PORT }, PROXY_PORT);
	});
	afterAll(async () => {
		await proxy?.close();
		console.log("Kafka network faults: detection times (ms)", JSON.stringify(measured), JSON.stringify(shown));
	});

	it("streams through the proxy", async () => {
		await createTopics(
			1,
			TABLES.map((table) => `${db}.${table}`),
		);
		const broker = await t.api.post<{ id: string }>("/datasources", {
			name: "kafka behind a fault proxy",
			engine: "kafka",
			brokers: [`127.0.0.1:${PROXY_PORT}`],
		});
		id = await t.startProject({
			name: "kafka network faults",
			destinationId: broker.id,
			types: ["full", "incremental"],
			objects: [{ database: db }],
			// no heartbeats: a reader of the topics can wait until they are idle
			sync: { format: "default", topic: "{database}.{table}", partitioning: "table", heartbeatIntervalMs: 0 },
		});
		await until("the snapshot sent and the stream running", (s) => s.incremental?.phase === "exact");
		// a client that bootstraps at the proxy is sent back to it for every request: nothing bypasses it
		const seen = await testKafkaConnection({ ...kafkaCredentials, brokers: [`127.0.0.1:${PROXY_PORT}`] });
		expect(seen.brokers.map((b) => `${b.host}:${b.port}`)).toEqual([`127.0.0.1:${PROXY_PORT}`]);
		expect(kafka().connections).toBeGreaterThan(0);
	}, 60_000);

	it("a cut (RST, held): shown, the stream resumes, every change once", async () => {
		await underWrites(
			"cut",
			() => kafka().cut({ hold: true }),
			async () => {
				await sleep(2000);
				kafka().restore();
			},
		);
		await deliveredOnce();
	}, 90_000);

	it("a black-holed broker (no RST): shown, the stream resumes when it lifts, every change once", async () => {
		await underWrites(
			"blackhole",
			() => kafka().blackhole(),
			() => kafka().restore(),
		);
		await deliveredOnce();
	}, 90_000);

	/**
	 * Under a write load at the source: `fault`, timed until the stream shows trouble, then
	 * `restore`; the writes stop and the stream catches up. The detection time goes to `measured`.
	 */
	async function underWrites(name: string, fault: () => void, restore: () => Promise<void> | void): Promise<void> {
		const load = new AbortController();
		const writes = runWriteLoad(sourceCredentials, db, {
			signal: load.signal,
			connections: 2,
			pauseMs: 20,
			idOffset: (Date.now() % 100_000) * 1000,
		});
		try {
			await sleep(1000);
			expect(streamTrouble(await status()), "trouble shown before the fault").toBeUndefined();
			const since = Date.now();
			fault();
			let trouble: string | undefined;
			while (!trouble) {
				if (Date.now() - since > DETECT_MS)
					throw new Error(`the fault was not shown in the status within ${DETECT_MS} ms`);
				await sleep(200);
				trouble = streamTrouble(await status());
			}
			measured[name] = Date.now() - since;
			shown[name] = trouble;
			await restore();
			await sleep(1000);
		} finally {
			load.abort();
			const done = await writes;
			expect(done.transactions).toBeGreaterThan(10);
			await until("the stream to catch up", (s) => s.incremental?.state === "running" && !s.incremental.lastError);
			await until("the stream within a second of the source", (s) => (s.incremental?.latencySeconds ?? 99) <= 1);
		}
	}

	/**
	 * What a read_committed consumer reads: each change once (no dedup key twice), and, applied in
	 * order, the source's tables (applyDefaultMessages throws on a change that finds its row missing
	 * or already there).
	 */
	async function deliveredOnce(): Promise<void> {
		const messages = await consumeAll(
			TABLES.map((table) => `${db}.${table}`),
			{ untilIdleMs: 1000 },
		);
		const rows = messages
			.map((m) => ({ ...m, body: JSON.parse(String(m.value)) as DefaultMessage }))
			.filter((m) => m.body.recordType !== "DDL");
		const keys = rows.map((m) => String(m.headers["ferry.dedup"]));
		expect(
			keys.filter((k, i) => keys.indexOf(k) !== i),
			"changes delivered twice",
		).toEqual([]);
		expect(keys).toEqual(rows.map((m) => m.body.allMetaData.uniqueId));
		await copyTableDefinitions(sourceCredentials, destinationCredentials, db);
		for (const table of TABLES) {
			await applyDefaultMessages(
				destinationCredentials,
				rows.filter((m) => m.topic === `${db}.${table}`).map((m) => m.body),
			);
		}
		const rebuilt = await compareRebuilt(sourceCredentials, destinationCredentials, db);
		expect(rebuilt.identical, rebuilt.message).toBe(true);
	}

	const until = (what: string, done: (s: ProjectStatus) => boolean) => statusUntil(status, what, done, 45_000);
});
