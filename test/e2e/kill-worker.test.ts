import { describe, expect, it } from "vitest";
import { compareDatabases } from "../../cli/demo/compare.ts";
import { destinationCredentials, sampleDatabases, sourceCredentials, uniqueDatabase } from "../support/databases.ts";
import { useTestStack, waitForProject } from "../support/stack.ts";

describe("full migration while copy workers are killed with SIGKILL", () => {
	const db = uniqueDatabase("kill");
	const t = useTestStack({
		workers: 2,
		// a killed worker's chunk is freed within 3 s, a message lost with it is replaced after 3 s
		env: { FERRY_CHUNK_LEASE_MS: "3000", FERRY_CHUNK_QUEUED_MS: "3000" },
		seed: () => sampleDatabases(sourceCredentials, 0.1, db),
		databases: [db],
	});

	it("completes with identical data after several kills at random points", async () => {
		const projectId = await t.startProject({
			name: "kill test",
			types: ["schema", "full"],
			objects: [{ database: db, table: "*" }],
			options: { parallelism: 2, chunkRows: 400 },
		});
		let kills = 0;
		let nextKill = Date.now() + 500;
		const status = await waitForProject(t.api, projectId, 240_000, (s) => {
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
