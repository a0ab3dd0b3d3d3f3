import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "../../shared/db/connect.ts";
import { compareDatabases } from "../../shared/local/compare.ts";
import { createSampleDatabase } from "../../shared/local/sample.ts";
import { destinationCredentials, dropDatabase, sourceCredentials, uniqueDatabase } from "../support/databases.ts";
import { addLocalDataSources, startTestStack, waitForProject } from "../support/stack.ts";

describe("full migration while copy workers are killed with SIGKILL", () => {
	const db = uniqueDatabase("kill");
	let t: Awaited<ReturnType<typeof startTestStack>>;

	beforeAll(async () => {
		// a killed worker's chunk is freed within 3 s, a message lost with it is replaced after 3 s
		process.env.FERRY_CHUNK_LEASE_MS = "3000";
		process.env.FERRY_CHUNK_QUEUED_MS = "3000";
		const src = await connect(sourceCredentials);
		await createSampleDatabase(src, db, 0.1);
		await src.end();
		t = await startTestStack(2);
	});

	afterAll(async () => {
		await t?.close();
		delete process.env.FERRY_CHUNK_LEASE_MS;
		delete process.env.FERRY_CHUNK_QUEUED_MS;
		await dropDatabase(db, sourceCredentials, destinationCredentials);
	});

	it("completes with identical data after several kills at random points", async () => {
		const ids = await addLocalDataSources(t.api);
		const project = await t.api.post<{ id: string }>("/projects", {
			name: "kill test",
			...ids,
			types: ["schema", "full"],
			objects: [{ database: db, table: "*" }],
			options: { parallelism: 2, chunkRows: 400 },
		});
		await t.api.post(`/projects/${project.id}/actions/start`);
		let kills = 0;
		let nextKill = Date.now() + 500;
		const status = await waitForProject(t.api, project.id, 240_000, (s) => {
			if (kills >= 6 || Date.now() < nextKill || s.steps.find((x) => x.name === "full")?.state !== "running") return;
			const workers = t.stack.workers().filter((w) => w.exitCode === null && w.signalCode === null);
			const victim = workers[Math.floor(Math.random() * workers.length)];
			if (victim?.kill("SIGKILL")) kills += 1;
			nextKill = Date.now() + 300 + Math.random() * 900;
		});
		expect(kills).toBeGreaterThanOrEqual(3);
		expect(status.state, JSON.stringify(status.ticket)).toBe("completed");
		const report = await compareDatabases(sourceCredentials, destinationCredentials, db);
		expect(report.identical, report.lines.join("\n")).toBe(true);
	}, 300_000);
});
