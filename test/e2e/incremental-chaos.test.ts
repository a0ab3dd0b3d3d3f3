import { type ChildProcess, execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProjectStatus } from "../../shared/control/status.ts";
import { connect } from "../../shared/db/connect.ts";
import { runWriteLoad } from "../../shared/local/load.ts";
import { createSampleDatabase } from "../../shared/local/sample.ts";
import { dropDatabase, scratch2Credentials, scratchCredentials, uniqueDatabase } from "../support/databases.ts";
import { addLocalDataSources, startTestStack, waitForIdentical } from "../support/stack.ts";

const MARIADB_SH = fileURLToPath(new URL("../../scripts/services/mariadb.sh", import.meta.url));
const restart = async (instance: string) => {
	await promisify(execFile)("bash", [MARIADB_SH, "stop", instance]);
	await promisify(execFile)("bash", [MARIADB_SH, "start", instance]);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("full + incremental with SIGKILLs of every Ferry process and restarts of both servers", () => {
	const db = uniqueDatabase("chaos");
	let t: Awaited<ReturnType<typeof startTestStack>>;

	beforeAll(async () => {
		// a killed task's lease and a lost message are taken over within seconds
		process.env.FERRY_CHUNK_LEASE_MS = "3000";
		process.env.FERRY_CHUNK_QUEUED_MS = "3000";
		process.env.FERRY_REPLICATION_HEARTBEAT_TIMEOUT_MS = "3000";
		const src = await connect(scratchCredentials);
		await createSampleDatabase(src, db, 0.1);
		await src.end();
		t = await startTestStack(2);
	});

	afterAll(async () => {
		await t?.close();
		for (const name of ["FERRY_CHUNK_LEASE_MS", "FERRY_CHUNK_QUEUED_MS", "FERRY_REPLICATION_HEARTBEAT_TIMEOUT_MS"])
			delete process.env[name];
		await dropDatabase(db, scratchCredentials, scratch2Credentials);
	});

	it("loses and doubles nothing", async () => {
		const load = new AbortController();
		const writes = runWriteLoad(scratchCredentials, db, { signal: load.signal, connections: 2, pauseMs: 5 });
		const ids = await addLocalDataSources(t.api, scratchCredentials, scratch2Credentials);
		const project = await t.api.post<{ id: string }>("/projects", {
			name: "chaos",
			...ids,
			types: ["schema", "full", "incremental"],
			objects: [{ database: db }],
			options: { parallelism: 2, chunkRows: 400 },
		});
		await t.api.post(`/projects/${project.id}/actions/start`);

		const status = () => t.api.get<ProjectStatus>(`/projects/${project.id}/status`);
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
