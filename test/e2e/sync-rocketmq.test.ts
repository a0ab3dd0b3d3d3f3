import { describe, expect, it } from "vitest";
import { runWriteLoad } from "../../cli/demo/load.ts";
import { sampleDatabases, scratch2Credentials, scratchCredentials, uniqueDatabase } from "../support/databases.ts";
import { applyDefaultMessages, copyTableDefinitions, type DefaultMessage } from "../support/rebuild.ts";
import { createRocketMqTopic, receiveRocketMq, rocketMqCredentials } from "../support/rocketmq.ts";
import { useTestStack } from "../support/stack.ts";
import { compareRebuilt, killReplicationTask, waitForSyncCaughtUp } from "../support/sync.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TABLES = ["customers", "products", "orders", "order_items", "audit_log"];

describe("synchronization to RocketMQ, full + incremental, under SIGKILLs of the task", () => {
	const db = uniqueDatabase("syncr");
	// RocketMQ topic names take no '.': the sink writes {database}.{table} as {database}_{table}
	const topicOf = (table: string) => `${db}_${table}`;
	const t = useTestStack({
		workers: 1,
		env: { FERRY_REPLICATION_HEARTBEAT_TIMEOUT_MS: "3000" },
		seed: () => sampleDatabases(scratchCredentials, 0.05, db),
		databases: [db],
		source: scratchCredentials,
		destination: scratch2Credentials,
	});

	it("delivers every change at least once, duplicates under the same key, and consumers rebuild the source", async () => {
		for (const table of TABLES) await createRocketMqTopic(topicOf(table), "FIFO", 1);
		const broker = await t.api.post<{ id: string }>("/datasources", {
			name: "rocketmq",
			engine: "rocketmq",
			endpoint: rocketMqCredentials.endpoint,
		});
		const load = new AbortController();
		const writes = runWriteLoad(scratchCredentials, db, { signal: load.signal, connections: 2, pauseMs: 5 });
		const projectId = await t.startProject({
			name: "sync-rocketmq",
			destinationId: broker.id,
			types: ["full", "incremental"],
			objects: [{ database: db }],
			sync: { format: "default", partitioning: "table", heartbeatIntervalMs: 1000 },
		});

		const kills = await killReplicationTask(t, 3);
		await sleep(3000);
		load.abort();
		const done = await writes;
		expect(kills).toBe(3);
		expect(done.transactions).toBeGreaterThan(100);
		await waitForSyncCaughtUp(t, projectId);
		// paused, the stream sends no more heartbeats: a consumer can read until the topics are idle
		await t.api.post(`/projects/${projectId}/actions/pause`);
		await sleep(2000);

		await copyTableDefinitions(scratchCredentials, scratch2Credentials, db);
		let duplicates = 0;
		let restarted = 0;
		for (const table of TABLES) {
			// read in bulk (not one message per receive, as a FIFO group would), then put back in the
			// queue's order: one queue, one message group per table ("table" partitioning), so it is
			// the order the group's messages were sent in
			const received = (await receiveRocketMq(topicOf(table), 3000, 120_000, false)).sort(
				(a, b) => (a.offset ?? 0) - (b.offset ?? 0),
			);
			expect(received.every((m) => m.offset !== undefined)).toBe(true);
			// a table whose snapshot a kill interrupted is sent again from a later snapshot, whose
			// position its rows' keys carry (snapshot:<file>:<pos>#n): the latest attempt wins
			const attempts = received
				.map((m) => /^snapshot:(.+)#\d+$/.exec(m.keys[0] ?? "")?.[1])
				.filter((a): a is string => a !== undefined);
			const latest = attempts.at(-1);
			restarted += new Set(attempts).size > 1 ? 1 : 0;
			const firsts = new Map<string, string>();
			const kept: DefaultMessage[] = [];
			for (const m of received) {
				const body = m.body.toString("utf8");
				const message = JSON.parse(body) as DefaultMessage;
				if (message.recordType === "HEARTBEAT" || message.recordType === "DDL") continue;
				const key = m.keys[0] ?? "";
				expect(key, "every message's key is its dedup key").toBe(message.allMetaData.uniqueId);
				if (key.startsWith("snapshot:") && !key.startsWith(`snapshot:${latest}#`)) continue;
				const first = firsts.get(key);
				if (first !== undefined) {
					// a resend after a restart: the same message under the same key
					expect(body, `duplicate ${key}`).toBe(first);
					duplicates += 1;
					continue;
				}
				firsts.set(key, body);
				kept.push(message);
			}
			await applyDefaultMessages(scratch2Credentials, kept);
		}
		const rebuilt = await compareRebuilt(scratchCredentials, scratch2Credentials, db);
		expect(rebuilt.identical, rebuilt.message).toBe(true);
		const final = await t.status(projectId);
		expect(final.state, JSON.stringify(final.ticket)).toBe("paused");
		console.log(
			`RocketMQ: ${duplicates} duplicate messages after ${kills} kills, all under their first copy's key; ${restarted} table snapshots restarted`,
		);
	}, 400_000);
});
