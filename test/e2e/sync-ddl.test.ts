import { describe, expect, it } from "vitest";
import type { Components, TableStatistics } from "../../shared/control/lists.ts";
import {
	createDatabase,
	execute,
	scratch2Credentials,
	scratchCredentials,
	uniqueDatabase,
} from "../support/databases.ts";
import { consumeAll, createTopics } from "../support/kafka.ts";
import { useTestStack, waitFor } from "../support/stack.ts";
import { addLocalKafka } from "../support/sync.ts";

interface CanalMessage {
	isDdl: boolean;
	type: string;
	sql: string;
	data: Record<string, string | null>[] | null;
}

describe("incremental synchronization in Canal format, partitioned by key: DDL in order with its table's rows", () => {
	const db = uniqueDatabase("syncddl");
	const t = useTestStack({
		workers: 1,
		seed: () => createDatabase(scratchCredentials, db, "CREATE TABLE t (id INT PRIMARY KEY, v INT)"),
		databases: [db],
		source: scratchCredentials,
		destination: scratch2Credentials,
	});

	it("puts the ALTER in every partition, after the rows before it and before the rows after it", async () => {
		const topic = `${db}.t`;
		await createTopics(3, [topic]);
		const kafka = { id: await addLocalKafka(t, "kafka") };
		const projectId = await t.startProject({
			name: "ddl order",
			destinationId: kafka.id,
			types: ["incremental"],
			objects: [{ database: db }],
			sync: { format: "canal", partitioning: "key" },
		});
		await waitFor(
			"the stream to run",
			async () => ((await t.status(projectId)).incremental?.state === "running" ? true : undefined),
			60_000,
		);
		const q = (sql: string) => execute(scratchCredentials, `USE \`${db}\``, sql);
		for (let id = 1; id <= 12; id++) await q(`INSERT INTO t VALUES (${id}, ${id})`);
		await q("ALTER TABLE t ADD COLUMN note VARCHAR(10) DEFAULT 'n'");
		for (let id = 13; id <= 24; id++) await q(`INSERT INTO t VALUES (${id}, ${id}, 'x')`);

		const messages = await waitFor(
			"all 24 rows and the DDL",
			async () => {
				const got = await consumeAll([topic], { untilIdleMs: 1000 });
				const rows = got.filter((m) => !(JSON.parse(String(m.value)) as CanalMessage).isDdl);
				return rows.length >= 24 ? got : undefined;
			},
			60_000,
		);
		const partitions = new Set(messages.map((m) => m.partition));
		expect(partitions.size, "rows spread over the partitions by key").toBe(3);
		for (const p of partitions) {
			const ofPartition = messages
				.filter((m) => m.partition === p)
				.sort((a, b) => Number(a.offset - b.offset))
				.map((m) => JSON.parse(String(m.value)) as CanalMessage);
			const ddlAt = ofPartition.findIndex((m) => m.isDdl);
			expect(ofPartition.filter((m) => m.isDdl).map((m) => [m.type, m.sql])).toEqual([
				["ALTER", "ALTER TABLE t ADD COLUMN note VARCHAR(10) DEFAULT 'n'"],
			]);
			const ids = (slice: CanalMessage[]) => slice.flatMap((m) => (m.data ?? []).map((d) => Number(d.id)));
			expect(
				ids(ofPartition.slice(0, ddlAt)).every((id) => id <= 12),
				`partition ${p} before the DDL`,
			).toBe(true);
			expect(
				ids(ofPartition.slice(ddlAt + 1)).every((id) => id > 12),
				`partition ${p} after the DDL`,
			).toBe(true);
			// a row after the ALTER carries the new column; its message says so with the column's value
			for (const m of ofPartition.slice(ddlAt + 1)) expect(m.data?.[0]?.note).toBe("x");
		}
		// the per-table statistics count what the stream sent, and the components list names it a sink
		const replay = await waitFor(
			"the stream's per-table counts",
			async () => {
				const stats = await t.api.get<TableStatistics[]>(`/projects/${projectId}/tables`);
				const counts = stats.find((s) => s.source === `${db}.t`)?.replay;
				return (counts?.inserts ?? 0) >= 24 ? counts : undefined;
			},
			30_000,
		);
		expect(replay).toEqual({ inserts: 24, updates: 0, deletes: 0, ddl: 1 });
		const { replicationTasks } = await t.api.get<Components>("/components");
		expect(replicationTasks.find((r) => r.projectId === projectId)?.stream).toBe("sink");
	}, 120_000);
});
