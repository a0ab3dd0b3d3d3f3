import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { FileSecretStore } from "../../shared/aws/secrets.ts";
import { DynamoStateStore, ensureStateTable } from "../../shared/aws/state-store.ts";
import { ensureQueueWithDeadLetter, WorkQueue } from "../../shared/aws/work-queue.ts";
import type { SourcePosition } from "../../shared/binlog/position.ts";
import { currentPosition } from "../../shared/binlog/position.ts";
import type { Context } from "../../shared/context.ts";
import { addDataSource } from "../../shared/control/datasources.ts";
import { createProject } from "../../shared/control/projects.ts";
import { verificationResults } from "../../shared/control/verification.ts";
import { type Connection, connect } from "../../shared/db/connect.ts";
import { quoteId } from "../../shared/db/sql.ts";
import { LocalMetricsHistory } from "../../shared/metrics/local-history.ts";
import type { ChunkMessage } from "../../shared/model/chunk-message.ts";
import type { Credentials } from "../../shared/model/datasource.ts";
import { type Project, ProjectInput } from "../../shared/model/project.ts";
import type { TableMapping } from "../../shared/model/rules.ts";
import type { TaskLauncher } from "../../shared/ports.ts";
import { CHECKPOINT_TABLE, FEED_POSITION_TABLE, META_DATABASE } from "../../shared/replay/checkpoint.ts";
import { runChunk } from "../../shared/scheduler/chunks/worker.ts";
import { advanceVerification } from "../../shared/scheduler/verification.ts";
import type { VerificationResults } from "../../shared/scheduler/verification-results.ts";
import { FormattedStore } from "../../shared/state/formatted-store.ts";

import { getProject, updateProject } from "../../shared/state/projects.ts";
import type { ReplicationStatus } from "../../shared/state/streams.ts";
import { replicationStatus } from "../../shared/state/streams.ts";
import { createTable, type TableItem } from "../../shared/state/tables.ts";
import { awsBackends, clientsFor, uniqueName } from "./aws.ts";
import { destinationCredentials, dropDatabase, sourceCredentials, uniqueDatabase } from "./databases.ts";

/**
 * Replication tasks run in the test's own process (tasks/replication/run.ts `runReplication`)
 * against the real source and destination instances and the embedded AWS servers, without a
 * scheduler: a state store of their own, and the project items the scheduler's steps would leave.
 */

const NO_TASKS: TaskLauncher = { start: async () => {}, running: async () => false, stop: async () => {} };

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A context on a fresh state table, with secrets under `home` and no task launcher; with `verify`, a verify queue of its own. */
/** A context whose verify queue the test drains itself (`verifyToEnd`). */
export type TestContext = Context & { verifyQueue: WorkQueue<ChunkMessage> };

async function testContext(home: string, options: { verify?: boolean } = {}): Promise<TestContext> {
	const backend = awsBackends()[0];
	if (!backend) throw new Error("no AWS backend configured (FERRY_TEST_BACKENDS)");
	const { dynamo, sqs } = clientsFor(backend);
	const table = uniqueName("replication-state");
	await ensureStateTable(dynamo, table);
	const unused = new WorkQueue<ChunkMessage>(sqs, `${backend.sqsEndpoint}/000000000000/unused`);
	const verifyQueue = options.verify
		? new WorkQueue<ChunkMessage>(
				sqs,
				(await ensureQueueWithDeadLetter(sqs, uniqueName("verify"), { maxReceiveCount: 5, visibilitySeconds: 60 })).url,
			)
		: unused;
	return {
		store: new FormattedStore(new DynamoStateStore(dynamo, table)),
		copyQueue: unused,
		verifyQueue,
		secrets: new FileSecretStore(join(home, "datasources.json")),
		tasks: NO_TASKS,
		metrics: new LocalMetricsHistory(),
	};
}

/** What an e2e file that runs replication in its own process works with (see `useTestContext`). */
export interface ContextFixture {
	readonly ctx: TestContext;
	/** Connections to the source and the destination instances. */
	readonly src: Connection;
	readonly dst: Connection;
	/** A database name unique to this run, dropped at both ends afterwards. */
	database(prefix: string): string;
	/** Replication streams whose checkpoints are deleted afterwards. */
	readonly streams: string[];
}

/**
 * The setup those files share, as `beforeAll`/`afterAll` of the enclosing `describe`: a context
 * (`testContext`) in a temp home and connections to both servers; then the connections closed,
 * the checkpoints of `streams` deleted, the databases dropped and the home removed.
 */
export function useTestContext(name: string, options: { verify?: boolean } = {}): ContextFixture {
	const home = mkdtempSync(join(tmpdir(), `ferry-${name}-`));
	const databases: string[] = [];
	const streams: string[] = [];
	let opened: { ctx: TestContext; src: Connection; dst: Connection } | undefined;
	const ready = () => {
		if (!opened) throw new Error("the test context is made by beforeAll");
		return opened;
	};

	beforeAll(async () => {
		const ctx = await testContext(home, options);
		const [src, dst] = await Promise.all([connect(sourceCredentials), connect(destinationCredentials)]);
		opened = { ctx, src, dst };
	});

	afterAll(async () => {
		await Promise.all([opened?.src.end(), opened?.dst.end()]);
		if (streams.length > 0) await deleteCheckpoints(...streams);
		for (const db of databases) await dropDatabase(db, sourceCredentials, destinationCredentials);
		rmSync(home, { recursive: true, force: true });
	});

	return {
		get ctx() {
			return ready().ctx;
		},
		get src() {
			return ready().src;
		},
		get dst() {
			return ready().dst;
		},
		database(prefix) {
			const db = uniqueDatabase(prefix);
			databases.push(db);
			return db;
		},
		streams,
	};
}

/** Table name -> its mapped columns (the same names at both ends). */
export type MappedTables = Record<string, { columns: string[] }>;

export type ReplicationMode =
	/** Both streams, the destination a primary too (options.twoWay). */
	| "two-way"
	/** After a switchover: forward replay stopped and drained, reverse replay running. */
	| "switched";

/**
 * A project item, its tables (the same names at both ends) and both start positions, the way
 * the scheduler's steps leave them; state running. `reverseActive: false` leaves reverse to be
 * turned on by the test. The rules are `objects`, by default the whole database.
 */
export async function replicationProject(
	ctx: Context,
	db: string,
	tables: MappedTables,
	mode: ReplicationMode,
	reverseActive = true,
	objects: unknown[] = [{ database: db }],
): Promise<string> {
	const ids: string[] = [];
	for (const [name, creds] of [
		["src", sourceCredentials],
		["dst", destinationCredentials],
	] as const) {
		ids.push((await addDataSource(ctx, { name, engine: "mariadb", ...creds })).id);
	}
	const twoWay = mode === "two-way";
	const project = await createProject(
		ctx,
		ProjectInput.parse({
			name: `${mode} ${db}`,
			sourceId: ids[0],
			destinationId: ids[1],
			types: twoWay ? ["incremental"] : ["incremental", "switchover", "reverse"],
			objects,
			options: { twoWay },
		}),
	);
	let index = 0;
	for (const [table, t] of Object.entries(tables)) {
		const name = { database: db, table };
		const mapping: TableMapping = {
			source: name,
			destination: name,
			columns: t.columns.map((c) => ({ source: c, destination: c })),
		};
		const item: TableItem = { index, mapping, rowsEstimate: 0, planned: true, chunks: 0 };
		await createTable(ctx, project.id, item);
		index += 1;
	}
	const [forwardFrom, reverseFrom] = await Promise.all([position(sourceCredentials), position(destinationCredentials)]);
	await updateProject(ctx, project.id, (p) => {
		const running: Project = {
			...p,
			state: "running",
			incremental: { startPosition: forwardFrom },
			reverse: { startPosition: reverseFrom, active: reverseActive },
		};
		if (twoWay) {
			return {
				...running,
				steps: p.steps.map((s) => ({ ...s, state: s.name === "incremental" ? "running" : "done" })),
			};
		}
		return {
			...running,
			steps: p.steps.map((s) => ({ ...s, state: s.name === "reverse" ? "running" : "done" })),
			switchover: {
				maxLatencySeconds: 5,
				waiveVerification: true,
				writesStoppedAt: new Date().toISOString(),
				forwardStopped: true,
			},
		};
	});
	return project.id;
}

export async function position(creds: Credentials): Promise<SourcePosition> {
	const c = await connect(creds);
	try {
		return await currentPosition(c);
	} finally {
		await c.end();
	}
}

/** Polls a stream's status until `done` holds (or the time is up); returns the last status. */
export async function waitForStatus(
	ctx: Context,
	id: string,
	done: (s: ReplicationStatus) => boolean,
	timeoutMs = 30_000,
): Promise<ReplicationStatus | undefined> {
	const deadline = Date.now() + timeoutMs;
	let s = await replicationStatus(ctx, id);
	while ((!s || !done(s)) && Date.now() < deadline) {
		await sleep(500);
		s = await replicationStatus(ctx, id);
	}
	return s;
}

/** Removes the streams' checkpoint rows (and feed cursors) on both servers. */
async function deleteCheckpoints(...streams: string[]): Promise<void> {
	for (const creds of [sourceCredentials, destinationCredentials]) {
		const c = await connect(creds);
		for (const table of [CHECKPOINT_TABLE, FEED_POSITION_TABLE]) {
			await c
				.query(`DELETE FROM ${quoteId(META_DATABASE)}.${quoteId(table)} WHERE stream IN (?)`, [streams])
				.catch(() => {});
		}
		await c.end();
	}
}

/**
 * Runs what the scheduler and the verify workers do (context made with `verify`) until the
 * project's verification run is over; returns its results.
 */
export async function verifyToEnd(ctx: TestContext, id: string, timeoutMs = 120_000): Promise<VerificationResults> {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		const project = await advanceVerification(ctx, await getProject(ctx, id));
		const v = project.verification;
		if (v && v.state !== "running" && v.state !== "correcting") return verificationResults(ctx, id);
		const messages = await ctx.verifyQueue.receive({ max: 10, waitSeconds: 0 });
		for (const m of messages) {
			await runChunk(ctx, m.body);
			await ctx.verifyQueue.ack(m);
		}
		if (messages.length === 0) await sleep(200);
	}
	throw new Error(`the verification of project ${id} did not finish in ${timeoutMs} ms`);
}
