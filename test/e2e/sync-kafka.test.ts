import { type ChildProcess, execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { compareDatabases } from "../../cli/demo/compare.ts";
import { runWriteLoad } from "../../cli/demo/load.ts";
import { sampleDatabases, scratch2Credentials, scratchCredentials, uniqueDatabase } from "../support/databases.ts";
import { consumeAll, createTopics } from "../support/kafka.ts";
import {
	applyDefaultMessages,
	copyTableDefinitions,
	type DefaultMessage,
	firstDifferences,
} from "../support/rebuild.ts";
import { useTestStack, waitFor } from "../support/stack.ts";

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
		const kafka = await t.api.post<{ id: string }>("/datasources", {
			name: "kafka",
			engine: "kafka",
			brokers: ["127.0.0.1:19092"],
		});
		const load = new AbortController();
		const writes = runWriteLoad(scratchCredentials, db, { signal: load.signal, connections: 2, pauseMs: 5 });
		const projectId = await t.startProject({
			name: "sync-kafka",
			destinationId: kafka.id,
			types: ["full", "incremental"],
			objects: [{ database: db }],
			sync: { format: "default", topic: "{database}.{table}", partitioning: "table", heartbeatIntervalMs: 1000 },
		});

		const killTask = () => {
			const alive = t.stack.tasks().filter((p: ChildProcess) => p.exitCode === null && p.signalCode === null);
			return alive[0]?.kill("SIGKILL") ?? false;
		};
		let kills = 0;
		for (let i = 0; i < 60 && kills < 3; i++) {
			await sleep(1500 + Math.random() * 1500);
			if (killTask()) kills += 1;
		}
		await promisify(execFile)("bash", [KAFKA_SH, "restart"]);
		await sleep(4000);
		load.abort();
		const done = await writes;
		expect(kills).toBe(3);
		expect(done.transactions).toBeGreaterThan(100);

		// caught up: the stream reports no latency and the source takes no more writes
		await waitFor(
			"the stream to catch up",
			async () => {
				const s = await t.status(projectId);
				return s.steps.find((x) => x.name === "sync")?.state === "done" && (s.incremental?.latencySeconds ?? 99) <= 1
					? s
					: undefined;
			},
			180_000,
		);
		await sleep(2000);

		const messages = await consumeAll(
			TABLES.map((table) => `${db}.${table}`),
			{ untilIdleMs: 3000 },
		);
		const rows = messages
			.map((m) => ({ ...m, body: m.value ? (JSON.parse(m.value.toString()) as DefaultMessage) : null }))
			.filter((m) => m.body && m.body.recordType !== "HEARTBEAT" && m.body.recordType !== "DDL");

		// no duplicates and no gaps, by (transaction, row index)
		const ids = rows.map((m) => String(m.body?.allMetaData.uniqueId));
		expect(new Set(ids).size).toBe(ids.length);
		const byTransaction = new Map<string, number[]>();
		for (const id of ids.filter((i) => !i.startsWith("snapshot:"))) {
			const [tx, index] = id.split("#");
			byTransaction.set(String(tx), [...(byTransaction.get(String(tx)) ?? []), Number(index)]);
		}
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
		const report = await compareDatabases(scratchCredentials, scratch2Credentials, db);
		const differing = report.lines.filter((l) => l.includes("!=")).map((l) => l.split(":")[0] as string);
		const details = await Promise.all(
			differing.map(async (table) =>
				JSON.stringify(await firstDifferences(scratchCredentials, scratch2Credentials, db, table)),
			),
		);
		expect(report.identical, [...report.lines, ...details].join("\n")).toBe(true);
		const final = await t.status(projectId);
		expect(final.state, JSON.stringify(final.ticket)).toBe("running");
	}, 400_000);
});
