import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { compareDatabases } from "../../cli/demo/compare.ts";
import { ApiError, type FerryClient } from "../../shared/api/client.ts";
import type { ProjectStatus } from "../../shared/control/status.ts";
import { type LocalStack, startLocalStack } from "../../shared/local/stack.ts";
import type { Credentials } from "../../shared/model/datasource.ts";
import type { VerificationResults } from "../../shared/scheduler/verification-results.ts";
import { destinationCredentials, dropDatabase, sourceCredentials } from "./databases.ts";
import { ValidatingClient } from "./validating-client.ts";

export interface TestStack {
	stack: LocalStack;
	api: FerryClient;
	close(): Promise<void>;
}

export interface DataSourceIds {
	sourceId: string;
	destinationId: string;
}

/**
 * A local-mode Ferry (API, scheduler, copy worker processes) on embedded servers in a temp home;
 * its client checks every answer against docs/openapi.json.
 */
export async function startTestStack(workers = 2): Promise<TestStack> {
	const home = mkdtempSync(join(tmpdir(), "ferry-test-"));
	const stack = await startLocalStack({
		home,
		apiPort: 0,
		workers,
		schedulerIntervalMs: 300,
	});
	return {
		stack,
		api: new ValidatingClient(stack.apiUrl, stack.token),
		async close() {
			await stack.stop();
			rmSync(home, { recursive: true, force: true });
		},
	};
}

/** Registers two local MariaDB instances (by default the source and destination ones) as data sources. */
export async function addLocalDataSources(
	api: FerryClient,
	source: Credentials = sourceCredentials,
	destination: Credentials = destinationCredentials,
): Promise<DataSourceIds> {
	const s = await api.post<{ id: string }>("/datasources", { name: "src", engine: "mariadb", ...source });
	const d = await api.post<{ id: string }>("/datasources", { name: "dst", engine: "mariadb", ...destination });
	return { sourceId: s.id, destinationId: d.id };
}

/** Polls a database comparison until source and destination match (replay caught up) or the deadline passes. */
export async function waitForIdentical(
	source: Credentials,
	destination: Credentials,
	database: string,
	timeoutMs = 90_000,
): Promise<{ identical: boolean; lines: string[] }> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const report = await compareDatabases(source, destination, database);
		if (report.identical || Date.now() > deadline) return report;
		await new Promise((r) => setTimeout(r, 1000));
	}
}

/** Polls the status until the project leaves `running` (or the deadline passes). */
export async function waitForProject(
	api: FerryClient,
	id: string,
	timeoutMs = 120_000,
	onTick?: (s: ProjectStatus) => Promise<void> | void,
): Promise<ProjectStatus> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const status = await api.get<ProjectStatus>(`/projects/${id}/status`);
		if (status.state !== "running") return status;
		if (Date.now() > deadline)
			throw new Error(`project ${id} still running after ${timeoutMs} ms: ${JSON.stringify(status.steps)}`);
		await onTick?.(status);
		await new Promise((r) => setTimeout(r, 250));
	}
}

/** Creates and starts a schema + full + incremental project of one database, and waits until replay runs in exact mode. */
export async function startIncrementalProject(api: FerryClient, ids: DataSourceIds, database: string): Promise<string> {
	const p = await api.post<{ id: string }>("/projects", {
		name: `incremental ${database}`,
		...ids,
		types: ["schema", "full", "incremental"],
		objects: [{ database }],
	});
	await api.post(`/projects/${p.id}/actions/start`);
	for (let i = 0; i < 120; i++) {
		const s = await api.get<ProjectStatus>(`/projects/${p.id}/status`);
		if (s.state !== "running") throw new Error(`project stopped in state ${s.state}: ${JSON.stringify(s.ticket)}`);
		if (s.incremental?.phase === "exact") return p.id;
		await new Promise((r) => setTimeout(r, 500));
	}
	throw new Error("replay did not reach exact mode within 60 s");
}

/** Polls `probe` until it returns a value (or the deadline passes, naming `what`). */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 180_000): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const v = await probe();
		if (v !== undefined) return v;
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 500));
	}
}

/** The local stack an e2e file runs on, started in its `beforeAll`, with the two data sources registered. */
/**
 * The status once `done` holds of it. A ticket fails at once (no fault a test injects may need a
 * person), and a timeout says where the project stood, so a failure is read without a rerun.
 */
export async function statusUntil(
	status: () => Promise<ProjectStatus>,
	what: string,
	done: (s: ProjectStatus) => boolean,
	timeoutMs = 60_000,
): Promise<ProjectStatus> {
	let last: ProjectStatus | undefined;
	try {
		return await waitFor(
			what,
			async () => {
				const s = await status();
				last = s;
				if (s.ticket) throw new Error(`ticket: ${s.ticket.step}: ${s.ticket.message}`);
				return done(s) ? s : undefined;
			},
			timeoutMs,
		);
	} catch (err) {
		const where = last && {
			steps: last.steps.filter((x) => x.state !== "done").map((x) => `${x.name}: ${x.state} ${x.error ?? ""}`),
			copy: last.full?.tables.flatMap((x) => [...x.errors, ...x.waiting]),
			stream: last.incremental,
		};
		throw new Error(`${(err as Error).message}; status: ${JSON.stringify(where)}`);
	}
}

export interface StackFixture {
	readonly stack: LocalStack;
	readonly api: FerryClient;
	readonly ids: DataSourceIds;
	/** Creates a project of the two data sources (`ids` added to `project`) and starts it; returns its id. */
	startProject(project: Record<string, unknown>): Promise<string>;
	status(projectId: string): Promise<ProjectStatus>;
}

export interface StackFixtureOptions {
	/** Copy worker processes (default 2). */
	workers?: number;
	/** Environment the stack reads (short leases, timeouts): set before it starts, removed after. */
	env?: Record<string, string>;
	/** Fills the servers before the stack starts. */
	seed?: () => Promise<void>;
	/** Dropped at both servers once the stack has stopped. */
	databases: string[];
	/** The servers registered as data sources (default: the private source and destination instances). */
	source?: Credentials;
	destination?: Credentials;
}

/**
 * The setup every e2e file on a local stack shares, as `beforeAll`/`afterAll` of the enclosing
 * `describe`: environment, seed, stack, data sources; then stack stopped, environment removed,
 * databases dropped.
 */
export function useTestStack(options: StackFixtureOptions): StackFixture {
	const source = options.source ?? sourceCredentials;
	const destination = options.destination ?? destinationCredentials;
	let t: TestStack | undefined;
	let ids: DataSourceIds | undefined;
	const started = () => {
		if (!t || !ids) throw new Error("the test stack is started by beforeAll");
		return { t, ids };
	};

	beforeAll(async () => {
		Object.assign(process.env, options.env);
		await options.seed?.();
		t = await startTestStack(options.workers);
		ids = await addLocalDataSources(t.api, source, destination);
	});

	afterAll(async () => {
		await t?.close();
		for (const name of Object.keys(options.env ?? {})) delete process.env[name];
		for (const database of options.databases) await dropDatabase(database, source, destination);
	});

	return {
		get stack() {
			return started().t.stack;
		},
		get api() {
			return started().t.api;
		},
		get ids() {
			return started().ids;
		},
		async startProject(project) {
			const { t, ids } = started();
			const p = await t.api.post<{ id: string }>("/projects", { ...ids, ...project });
			await t.api.post(`/projects/${p.id}/actions/start`);
			return p.id;
		},
		status(projectId) {
			return started().t.api.get<ProjectStatus>(`/projects/${projectId}/status`);
		},
	};
}

/** Starts a verification run over every table and waits for its results. */
export async function verified(t: StackFixture, id: string): Promise<VerificationResults> {
	const started = await t.api.post<{ verification: { run: number } }>(`/projects/${id}/verification`, {});
	return waitFor(`verification run ${started.verification.run}`, async () => {
		const r = await t.api.get<VerificationResults>(`/projects/${id}/verification`);
		if (r.run.state === "failed") throw new Error(`verification failed: ${r.run.error}`);
		return r.run.run === started.verification.run && r.run.state === "done" ? r : undefined;
	});
}

/** The API's refusal of a call (an ApiError), failing when the call was accepted. */
export async function refusal(p: Promise<unknown>): Promise<ApiError> {
	try {
		await p;
	} catch (err) {
		if (err instanceof ApiError) return err;
		throw err;
	}
	throw new Error("the call was accepted");
}
