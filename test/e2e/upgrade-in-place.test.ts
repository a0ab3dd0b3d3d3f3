import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PutCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, describe, expect, it } from "vitest";
import { compareDatabases } from "../../cli/demo/compare.ts";
import type { FerryClient } from "../../shared/api/client.ts";
import { dynamoDocumentClient } from "../../shared/aws/clients.ts";
import type { ProjectStatus } from "../../shared/control/status.ts";
import { type Connection, connect } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import { startEmbeddedAws } from "../../shared/local/embedded-aws.ts";
import { type LocalStack, startLocalStack } from "../../shared/local/stack.ts";
import { checkpointTable, readCheckpoint } from "../../shared/replay/checkpoint.ts";
import { FORMAT_ATTRIBUTE } from "../../shared/state/format.ts";
import { chunksPk, itemKind } from "../../shared/state/keys.ts";
import {
	createDatabase,
	destinationCredentials,
	dropDatabase,
	sourceCredentials,
	uniqueDatabase,
} from "../support/databases.ts";
import { addLocalDataSources, waitFor, waitForIdentical, waitForProject } from "../support/stack.ts";
import { ValidatingClient } from "../support/validating-client.ts";

/**
 * Upgrade in place (decisions/2026-12-06-format-versions.md): a Ferry started over the state and
 * checkpoints another one left resumes every project where it was. One checkout holds one Ferry,
 * so the older one is simulated: the stack is stopped with one project mid-copy and one mid-replay,
 * and its state table and checkpoint row are rewritten as the Ferry before format versions left
 * them (no format anywhere, a failed chunk's retry time in `deadline`); then the stack starts again.
 */

const STATE_TABLE = "ferry-state";
const REGION = "us-east-1";
const ENV = {
	// chunks a stopped worker held or a lost message named are queued again soon after the restart
	FERRY_CHUNK_LEASE_MS: "6000",
	FERRY_CHUNK_QUEUED_MS: "8000",
};

type Raw = Record<string, unknown> & { pk: string; sk: string };

/** Every item of the stack's state table as stored (formats included), by the stack's own endpoint. */
async function scanState(endpoint: string): Promise<Raw[]> {
	const db = dynamoDocumentClient(REGION, endpoint);
	const items: Raw[] = [];
	let start: Record<string, unknown> | undefined;
	do {
		const out = await db.send(new ScanCommand({ TableName: STATE_TABLE, ExclusiveStartKey: start }));
		items.push(...((out.Items ?? []) as Raw[]));
		start = out.LastEvaluatedKey;
	} while (start);
	return items;
}

/**
 * Rewrites every item as the Ferry before format versions wrote it: no format attribute, and a
 * pending chunk's retry time in `deadline` (chunk format 1). One pending chunk of the copy is made
 * to look like a failed attempt of that Ferry waiting for its retry (what a failed copy leaves);
 * returns its key and retry time.
 */
async function rewriteAsOlderFerry(endpoint: string, copyProject: string): Promise<{ sk: string; retryAt: number }> {
	const db = dynamoDocumentClient(REGION, endpoint);
	const items = await scanState(endpoint);
	const pending = items.find((i) => i.pk === chunksPk(copyProject) && i.state === "pending");
	if (!pending) throw new Error("the copy has no pending chunk left to make a failed one of");
	const retryAt = Date.now() + 10_000;
	for (const item of items) {
		const { [FORMAT_ATTRIBUTE]: _format, retryAt: retryTime, ...older } = item;
		if (itemKind(item.pk) === "chunk" && retryTime !== undefined) older.deadline = retryTime;
		if (item === pending) {
			Object.assign(older, {
				attempts: 1,
				deadline: retryAt,
				lastError: "connection lost (as left by an older Ferry)",
			});
		}
		await db.send(new PutCommand({ TableName: STATE_TABLE, Item: older }));
	}
	return { sk: pending.sk, retryAt };
}

async function startStack(home: string): Promise<{ stack: LocalStack; api: FerryClient }> {
	const stack = await startLocalStack({ home, apiPort: 0, workers: 1, schedulerIntervalMs: 300 });
	return { stack, api: new ValidatingClient(stack.apiUrl, stack.token) };
}

/** A few source transactions: keyed rows inserted and updated, and rows of a table without a key. */
async function writeTransactions(conn: Connection, db: string, from: number, count: number): Promise<void> {
	for (let i = from; i < from + count; i++) {
		await conn.query("BEGIN");
		await conn.query(`INSERT INTO ${quoteId(db)}.items (id, n) VALUES (?, 0)`, [i]);
		await conn.query(`UPDATE ${quoteId(db)}.items SET n = n + 1 WHERE id = ?`, [i - 1]);
		await conn.query(`INSERT INTO ${quoteId(db)}.journal (k, note) VALUES (?, 'written')`, [i]);
		await conn.query("COMMIT");
	}
}

describe("upgrade in place (the older Ferry simulated by rewriting its state to the previous format)", () => {
	const home = mkdtempSync(join(tmpdir(), "ferry-upgrade-"));
	const copyDb = uniqueDatabase("upg_copy");
	const replayDb = uniqueDatabase("upg_replay");
	let running: LocalStack | undefined;

	afterAll(async () => {
		await running?.stop();
		for (const name of Object.keys(ENV)) delete process.env[name];
		rmSync(home, { recursive: true, force: true });
		await dropDatabase(copyDb, sourceCredentials, destinationCredentials);
		await dropDatabase(replayDb, sourceCredentials, destinationCredentials);
	});

	it("resumes a project mid-copy and one mid-replay: nothing copied twice, nothing lost or doubled, items rewritten", async () => {
		Object.assign(process.env, ENV);
		const rows = Array.from({ length: 6000 }, (_, i) => `(${i + 1}, REPEAT('x', 40))`);
		await createDatabase(
			sourceCredentials,
			copyDb,
			"CREATE TABLE big (id INT PRIMARY KEY, pad VARCHAR(64))",
			`INSERT INTO big VALUES ${rows.join(",")}`,
		);
		await createDatabase(
			sourceCredentials,
			replayDb,
			"CREATE TABLE items (id INT PRIMARY KEY, n INT NOT NULL)",
			"CREATE TABLE journal (k INT, note VARCHAR(20))",
			"INSERT INTO items VALUES (0, 0)",
		);
		const src = await connect(sourceCredentials);

		// --- the older Ferry runs: replay in exact mode, a throttled copy part way -------------
		let { stack, api } = await startStack(home);
		running = stack;
		const ids = await addLocalDataSources(api);
		const create = async (project: Record<string, unknown>) => {
			const p = await api.post<{ id: string }>("/projects", { ...ids, ...project });
			await api.post(`/projects/${p.id}/actions/start`);
			return p.id;
		};
		const replayProject = await create({
			name: "mid-replay",
			types: ["schema", "full", "incremental"],
			objects: [{ database: replayDb }],
		});
		await waitFor("replay in exact mode", async () => {
			const s = await api.get<ProjectStatus>(`/projects/${replayProject}/status`);
			if (s.state !== "running") throw new Error(`replay project ${s.state}: ${JSON.stringify(s.ticket)}`);
			return s.incremental?.phase === "exact" ? s : undefined;
		});
		await writeTransactions(src, replayDb, 1, 20);
		const caughtUp = await waitForIdentical(sourceCredentials, destinationCredentials, replayDb, 60_000);
		expect(caughtUp.identical, caughtUp.lines.join("\n")).toBe(true);

		const copyProject = await create({
			name: "mid-copy",
			types: ["schema", "full"],
			objects: [{ database: copyDb }],
			options: { parallelism: 1, chunkRows: 500, maxRowsPerSecond: 1000 },
		});
		const endpoint = process.env.FERRY_DYNAMODB_ENDPOINT ?? "";
		const chunksOf = async () =>
			(await scanState(process.env.FERRY_DYNAMODB_ENDPOINT ?? endpoint)).filter((i) => i.pk === chunksPk(copyProject));
		await waitFor(
			"a copy part way",
			async () => ((await chunksOf()).filter((c) => c.state === "done").length >= 3 ? true : undefined),
			60_000,
		);
		await writeTransactions(src, replayDb, 21, 10); // replay may be applying these as the stack stops
		await stack.stop();
		running = undefined;
		await writeTransactions(src, replayDb, 31, 10); // written while no Ferry runs

		// --- its state, as the older Ferry left it -------------------------------------------
		const aws = await startEmbeddedAws({ dataDir: join(home, "local", "aws") });
		const failed = await rewriteAsOlderFerry(aws.dynamoEndpoint, copyProject);
		const stateBefore = (await scanState(aws.dynamoEndpoint)).filter((i) => i.pk === chunksPk(copyProject));
		await aws.stop();
		const doneBefore = new Map(stateBefore.filter((c) => c.state === "done").map((c) => [c.sk, c]));
		expect(doneBefore.size).toBeGreaterThanOrEqual(3);
		expect(doneBefore.size).toBeLessThan(stateBefore.length);
		const dst = await connect(destinationCredentials);
		// an older Ferry's checkpoint row has no format (the column is this Ferry's; it adds it to older tables)
		await dst.query(`UPDATE ${checkpointTable()} SET format = NULL WHERE stream = ?`, [replayProject]);
		const checkpointBefore = await readCheckpoint(dst, replayProject);
		expect(checkpointBefore).not.toBeNull();
		for (const c of stateBefore) expect(c).not.toHaveProperty(FORMAT_ATTRIBUTE);
		expect(stateBefore.find((c) => c.sk === failed.sk)).toMatchObject({
			state: "pending",
			attempts: 1,
			deadline: failed.retryAt,
		});

		// --- the newer Ferry starts over it ------------------------------------------------------
		({ stack, api } = await startStack(home));
		running = stack;
		// the failed chunk is read as format 1: its `deadline` was its retry time, which it waits for
		const upgraded = await waitFor(
			"the failed chunk rewritten in format 2",
			async () => (await chunksOf()).find((c) => c.sk === failed.sk && c[FORMAT_ATTRIBUTE] === 2),
			failed.retryAt - Date.now(),
		);
		expect(upgraded).toMatchObject({ state: "pending", attempts: 1, retryAt: failed.retryAt });
		expect(upgraded).not.toHaveProperty("deadline");
		// while it waits: replay resumes from the checkpoint the older Ferry left
		await writeTransactions(src, replayDb, 41, 10); // after the upgrade
		const replayed = await waitForIdentical(sourceCredentials, destinationCredentials, replayDb, 60_000);
		// rows written by the older Ferry's replay, while none ran and after: none lost, none doubled (the
		// keyless journal's checksum and count would show a transaction applied twice)
		expect(replayed.identical, replayed.lines.join("\n")).toBe(true);
		const status = await api.get<ProjectStatus>(`/projects/${replayProject}/status`);
		expect(status.state).toBe("running");
		expect(status.incremental?.phase).toBe("exact");
		expect(status.incremental?.inconsistencies).toBe(0);
		const [[format]] = (await dst.query(`SELECT format FROM ${checkpointTable()} WHERE stream = ?`, [
			replayProject,
		])) as unknown as [[{ format: number | null }]];
		expect(format?.format).toBe(1);
		expect((await readCheckpoint(dst, replayProject))?.position).not.toEqual(checkpointBefore?.position);
		const stream = (await scanState(process.env.FERRY_DYNAMODB_ENDPOINT ?? "")).find(
			(i) => i.pk === "REPLICATION" && i.sk === replayProject,
		);
		expect(stream?.[FORMAT_ATTRIBUTE]).toBe(1);

		const copied = await waitForProject(api, copyProject, 90_000);
		expect(copied.state, JSON.stringify(copied.ticket)).toBe("completed");
		const copyReport = await compareDatabases(sourceCredentials, destinationCredentials, copyDb);
		expect(copyReport.identical, copyReport.lines.join("\n")).toBe(true);

		const chunksAfter = await chunksOf();
		expect(chunksAfter).toHaveLength(stateBefore.length);
		expect(chunksAfter.reduce((sum, c) => sum + Number(c.rows), 0)).toBe(6000);
		for (const c of chunksAfter) {
			// every chunk item is read, upgraded and written back in the current format
			expect(c[FORMAT_ATTRIBUTE], c.sk).toBe(2);
			expect(c.state).toBe("done");
			const before = doneBefore.get(c.sk);
			// a chunk done before the upgrade is not copied again (a copy takes an attempt)
			if (before)
				expect({ attempts: c.attempts, rows: c.rows }, c.sk).toEqual({ attempts: before.attempts, rows: before.rows });
		}
		// ... and then its second attempt copied it
		expect(chunksAfter.find((c) => c.sk === failed.sk)).toMatchObject({ attempts: 2, state: "done" });

		await Promise.all([src.end(), dst.end()]);
	}, 240_000);
});
