import type { ChildProcess } from "node:child_process";
import { compareDatabases } from "../../cli/demo/compare.ts";
import type { Credentials } from "../../shared/model/datasource.ts";
import { kafkaCredentials } from "./kafka.ts";
import { firstDifferences } from "./rebuild.ts";
import { type StackFixture, waitFor } from "./stack.ts";

/*
 * What the synchronization end-to-end tests share: killing the replication task under load,
 * waiting until the stream has caught up, and comparing the rebuilt tables with the source.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SIGKILLs the stack's replication task `times` times, 1.5-3 s apart; returns how many kills landed. */
export async function killReplicationTask(t: StackFixture, times: number): Promise<number> {
	let kills = 0;
	for (let i = 0; i < 20 * times && kills < times; i++) {
		await sleep(1500 + Math.random() * 1500);
		const alive = t.stack.tasks().filter((p: ChildProcess) => p.exitCode === null && p.signalCode === null);
		if (alive[0]?.kill("SIGKILL")) kills += 1;
	}
	return kills;
}

/** Waits until the project's sync step is done and its stream is within a second of the source. */
export async function waitForSyncCaughtUp(t: StackFixture, projectId: string): Promise<void> {
	await waitFor(
		"the stream to catch up",
		async () => {
			const s = await t.status(projectId);
			const done = s.steps.find((x) => x.name === "sync")?.state === "done";
			return done && (s.incremental?.latencySeconds ?? 99) <= 1 ? s : undefined;
		},
		180_000,
	);
}

/** Compares the database at both servers; a difference's message lists the first differing rows. */
export async function compareRebuilt(
	source: Credentials,
	rebuilt: Credentials,
	database: string,
): Promise<{ identical: boolean; message: string }> {
	const report = await compareDatabases(source, rebuilt, database);
	const differing = report.lines.filter((l) => l.includes("!=")).map((l) => l.split(":")[0] as string);
	const details = await Promise.all(
		differing.map(async (table) => JSON.stringify(await firstDifferences(source, rebuilt, database, table))),
	);
	return { identical: report.identical, message: [...report.lines, ...details].join("\n") };
}

/** Registers the local Kafka broker (scripts/services/kafka.sh) as a data source; returns its id. */
export async function addLocalKafka(t: StackFixture, name = "kafka"): Promise<string> {
	const ds = await t.api.post<{ id: string }>("/datasources", {
		name,
		engine: "kafka",
		brokers: kafkaCredentials.brokers,
	});
	return ds.id;
}
