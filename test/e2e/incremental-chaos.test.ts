import { type ChildProcess, execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { runWriteLoad } from "../../cli/demo/load.ts";
import { sampleDatabases, scratch2Credentials, scratchCredentials, uniqueDatabase } from "../support/databases.ts";
import { useTestStack, waitForIdentical } from "../support/stack.ts";

const MARIADB_SH = fileURLToPath(new URL("../../scripts/services/mariadb.sh", import.meta.url));
const restart = async (instance: string) => {
	await promisify(execFile)("bash", [MARIADB_SH, "stop", instance]);
	await promisify(execFile)("bash", [MARIADB_SH, "start", instance]);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("full + incremental with SIGKILLs of every Ferry process and restarts of both servers", () => {
	const db = uniqueDatabase("chaos");
	const t = useTestStack({
		workers: 2,
		// a killed task's lease and a lost message are taken over within seconds
		env: {
			FERRY_CHUNK_LEASE_MS: "3000",
			FERRY_CHUNK_QUEUED_MS: "3000",
			FERRY_REPLICATION_HEARTBEAT_TIMEOUT_MS: "3000",
		},
		seed: () => sampleDatabases(scratchCredentials, 0.1, db),
		databases: [db],
		source: scratchCredentials,
		destination: scratch2Credentials,
	});

	it("loses and doubles nothing", async () => {
		const load = new AbortController();
		const writes = runWriteLoad(scratchCredentials, db, { signal: load.signal, connections: 2, pauseMs: 5 });
		const projectId = await t.startProject({
			name: "chaos",
			types: ["schema", "full", "incremental"],
			objects: [{ database: db }],
			options: { parallelism: 2, chunkRows: 400 },
		});

		const status = () => t.status(projectId);
		const killSome = (procs: ChildProcess[]) => {
			const alive = procs.filter((p) => p.exitCode === null && p.signalCode === null);
			const victim = alive[Math.floor(Math.random() * alive.length)];
			return victim?.kill("SIGKILL") ?? false;
		};
		let workerKills = 0;
		let taskKills = 0;
		// during the copy: kill copy workers
		for (let i = 0; i < 40 && (await status()).steps.find((s) => s.name === "full")?.state !== "done"; i++) {
			if (workerKills < 4 && killSome(t.stack.workers())) workerKills += 1;
			await sleep(400 + Math.random() * 600);
		}
		// during replay: kill the replication task, restart the source, then the destination
		for (let i = 0; i < 60 && taskKills < 3; i++) {
			if (killSome(t.stack.tasks())) taskKills += 1;
			await sleep(1500 + Math.random() * 1500);
		}
		await restart("scratch");
		await sleep(3000);
		await restart("scratch2");
		await sleep(3000);
		if (killSome(t.stack.tasks())) taskKills += 1;
		await sleep(3000);
		load.abort();
		const done = await writes;

		expect(workerKills).toBeGreaterThanOrEqual(1);
		expect(taskKills).toBeGreaterThanOrEqual(2);
		expect(done.transactions).toBeGreaterThan(100);
		const report = await waitForIdentical(scratchCredentials, scratch2Credentials, db, 120_000);
		expect(report.identical, report.lines.join("\n")).toBe(true);
		const final = await status();
		expect(final.state, JSON.stringify(final.ticket)).toBe("running");
		expect(final.incremental?.inconsistencies).toBe(0);
	}, 400_000);
});
