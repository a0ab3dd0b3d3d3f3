import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FerryClient } from "../../shared/api/client.ts";
import { dynamoDocumentClient, sqsClient } from "../../shared/aws/clients.ts";
import { DynamoStateStore } from "../../shared/aws/state-store.ts";
import { WorkQueue } from "../../shared/aws/work-queue.ts";
import { configFromEnv } from "../../shared/config.ts";
import type { Context } from "../../shared/context.ts";
import { type ProjectStatus, projectStatus } from "../../shared/control/status.ts";
import { startEmbeddedAws } from "../../shared/local/embedded-aws.ts";
import { startLocalStack } from "../../shared/local/stack.ts";
import type { Credentials } from "../../shared/model/datasource.ts";
import type { Project } from "../../shared/model/project.ts";
import { advanceAll } from "../../shared/scheduler/loop.ts";
import { FormattedStore } from "../../shared/state/formatted-store.ts";
import { getFullProgress } from "../../shared/state/progress.ts";
import { getProject } from "../../shared/state/projects.ts";
import { type AwsCounts, type CountingRelay, countsSince, emptyCounts, startCountingRelay } from "./aws-counter.ts";
import { type ManyTablesShape, seedManyTables, writeAcrossTables } from "./many-tables-seed.ts";

/**
 * A whole migration of many tables (schema, full, incremental, verification, switchover) on a
 * local stack whose DynamoDB and SQS traffic passes through counting relays, measured as the
 * issue asks: calls per table by step, what one status call and one scheduler tick read, the
 * status payload, step times and memory. A second pair of relays serves a probe context, so that
 * one status call or one tick is counted alone while the stack keeps running.
 */
export interface ManyTablesOptions {
	source: Credentials;
	destination: Credentials;
	database: string;
	shape: ManyTablesShape;
	workers: number;
	parallelism: number;
	chunkRows: number;
	schedulerIntervalMs: number;
	/** How long the stack's idle traffic is measured while the switchover waits (default 10 s). */
	idleWindowMs?: number;
	/** Run the embedded DynamoDB and SQS in a process of their own on these ports (so the coordinator's memory is its own). */
	awsPorts?: { dynamo: number; sqs: number };
	log?: (line: string) => void;
}

export interface Probe {
	items: number;
	calls: number;
	/** The status's JSON size in bytes (status probes only). */
	bytes?: number;
	ms: number;
}

export interface ManyTablesResult {
	tables: number;
	state: Project["state"];
	ticket?: string;
	stepSeconds: Record<string, number>;
	/** The stack's DynamoDB and SQS traffic while each step ran (every Ferry process). */
	dynamoByStep: Record<string, AwsCounts>;
	sqsByStep: Record<string, AwsCounts>;
	dynamo: AwsCounts;
	sqs: AwsCounts;
	/** One status call and one scheduler tick (advanceAll), counted alone, at moments of the run. */
	status: Record<string, Probe>;
	/** The same status call for one page of STATUS_PAGE tables. */
	statusPage: Record<string, Probe>;
	tick: Record<string, Probe>;
	/** The stack's traffic per second while it waits for the user at switch-check (replay running, nothing to copy). */
	idlePerSecond: { dynamoCalls: number; itemsRead: number; sqsCalls: number };
	memoryMiB: { coordinatorRss: number; coordinatorHeap: number; replicationTaskRss: number; workersPeakRss: number[] };
	verification?: { rowsChecked: number; differences: number; tablesDiffering: number };
	writes: number;
	/** Copy and verification chunks planned. */
	chunks: { copy: number; verify: number };
}

/** Tables in one status page (the console's page size). */
export const STATUS_PAGE = 50;

const EMBEDDED_AWS_SERVER = fileURLToPath(new URL("../../shared/local/embedded-aws-server.ts", import.meta.url));
const TSX_LOADER = import.meta.resolve("tsx");

async function spawnEmbeddedAws(dir: string, ports: { dynamo: number; sqs: number }): Promise<ChildProcess> {
	const child = spawn(
		process.execPath,
		["--import", TSX_LOADER, EMBEDDED_AWS_SERVER, dir, String(ports.dynamo), String(ports.sqs)],
		{ stdio: ["ignore", "pipe", "inherit"] },
	);
	await new Promise<void>((resolve, reject) => {
		child.stdout?.on("data", (b: Buffer) => b.toString().includes("ready") && resolve());
		child.once("exit", (code) => reject(new Error(`embedded AWS exited with ${code}`)));
	});
	return child;
}

function procKiB(pid: number | undefined, field: "VmRSS" | "VmHWM"): number {
	if (!pid) return 0;
	try {
		const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
		return m ? Number(m[1]) : 0;
	} catch {
		return 0;
	}
}
const mib = (kib: number) => Math.round(kib / 1024);

const running = (p: Project) => p.steps.find((s) => s.state === "running" || s.state === "pending")?.name;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runManyTables(o: ManyTablesOptions): Promise<ManyTablesResult> {
	const log = o.log ?? (() => {});
	const seedStart = Date.now();
	const seeded = await seedManyTables(o.source, o.database, o.shape);
	log(`seeded ${seeded.all.length} tables and ${seeded.views.length} views in ${(Date.now() - seedStart) / 1000} s`);

	const home = mkdtempSync(join(tmpdir(), "ferry-many-"));
	const awsDir = join(home, "aws");
	let awsProcess: ChildProcess | undefined;
	let embeddedStop: (() => Promise<void>) | undefined;
	let endpoints: { dynamo: string; sqs: string };
	if (o.awsPorts) {
		awsProcess = await spawnEmbeddedAws(awsDir, o.awsPorts);
		endpoints = { dynamo: `http://127.0.0.1:${o.awsPorts.dynamo}`, sqs: `http://127.0.0.1:${o.awsPorts.sqs}` };
	} else {
		const aws = await startEmbeddedAws({ dataDir: awsDir });
		embeddedStop = aws.stop;
		endpoints = { dynamo: aws.dynamoEndpoint, sqs: aws.sqsEndpoint };
	}
	const relays: CountingRelay[] = [];
	const relay = async (to: string) => {
		const r = await startCountingRelay(to);
		relays.push(r);
		return r;
	};
	const [dynamo, sqs, probeDynamo, probeSqs] = await Promise.all([
		relay(endpoints.dynamo),
		relay(endpoints.sqs),
		relay(endpoints.dynamo),
		relay(endpoints.sqs),
	]);
	const stack = await startLocalStack({
		home,
		apiPort: 0,
		workers: o.workers,
		schedulerIntervalMs: o.schedulerIntervalMs,
		dynamoEndpoint: dynamo.endpoint,
		sqsEndpoint: sqs.endpoint,
	});
	// the probe: the coordinator's context, its state and queues reached through relays of its own
	const base = stack.context;
	const region = process.env.AWS_REGION ?? "us-east-1";
	const probe: Context = {
		...base,
		// the coordinator's store is format-aware (state/formatted-store.ts), the probe's must be too
		store: new FormattedStore(
			new DynamoStateStore(dynamoDocumentClient(region, probeDynamo.endpoint), configFromEnv().stateTable),
		),
		copyQueue: new WorkQueue(sqsClient(region, probeSqs.endpoint), (base.copyQueue as WorkQueue<never>).url),
		verifyQueue: new WorkQueue(sqsClient(region, probeSqs.endpoint), (base.verifyQueue as WorkQueue<never>).url),
	};
	const counted = async <T>(what: () => Promise<T>): Promise<{ value: T; probe: Probe }> => {
		const before = probeDynamo.counts();
		const t0 = performance.now();
		const value = await what();
		const d = countsSince(probeDynamo.counts(), before);
		const calls = Object.values(d.calls).reduce((n, x) => n + x, 0);
		return { value, probe: { items: d.itemsRead, calls, ms: Math.round(performance.now() - t0) } };
	};
	const result: ManyTablesResult = {
		tables: seeded.all.length,
		state: "running",
		stepSeconds: {},
		dynamoByStep: {},
		sqsByStep: {},
		dynamo: emptyCounts(),
		sqs: emptyCounts(),
		status: {},
		statusPage: {},
		tick: {},
		idlePerSecond: { dynamoCalls: 0, itemsRead: 0, sqsCalls: 0 },
		memoryMiB: { coordinatorRss: 0, coordinatorHeap: 0, replicationTaskRss: 0, workersPeakRss: [] },
		writes: 0,
		chunks: { copy: 0, verify: 0 },
	};
	// every table (what the console asks for) and one page of STATUS_PAGE tables
	const probeStatus = async (moment: string, id: string) => {
		const all = await counted(() => projectStatus(probe, id));
		result.status[moment] = { ...all.probe, bytes: Buffer.byteLength(JSON.stringify(all.value)) };
		const page = await counted(() => projectStatus(probe, id, { from: 0, limit: STATUS_PAGE }));
		result.statusPage[moment] = { ...page.probe, bytes: Buffer.byteLength(JSON.stringify(page.value)) };
		return all.value as ProjectStatus;
	};
	const quarterCopied = async (id: string) => {
		const p = await getFullProgress(probe, id);
		return p !== undefined && p.tablesTotal > 0 && p.tablesDone >= p.tablesTotal / 4;
	};
	const probeTick = async (moment: string) => {
		result.tick[moment] = (await counted(() => advanceAll(probe))).probe;
	};

	const load = new AbortController();
	let writes: Promise<number> | undefined;
	try {
		const api = new FerryClient(stack.apiUrl, stack.token);
		const login = (c: Credentials) => ({ engine: "mariadb", ...c });
		const s = await api.post<{ id: string }>("/datasources", { name: "src", ...login(o.source) });
		const d = await api.post<{ id: string }>("/datasources", { name: "dst", ...login(o.destination) });
		const { id } = await api.post<{ id: string }>("/projects", {
			name: `many tables ${seeded.all.length}`,
			sourceId: s.id,
			destinationId: d.id,
			types: ["schema", "full", "incremental", "verification", "switchover"],
			objects: [{ database: o.database }],
			options: { parallelism: o.parallelism, chunkRows: o.chunkRows },
		});
		await api.post(`/projects/${id}/actions/start`);
		writes = writeAcrossTables(o.source, o.database, seeded.small, load.signal);

		let last = { dynamo: dynamo.counts(), sqs: sqs.counts() };
		let project = await getProject(probe, id);
		const add = (into: Record<string, AwsCounts>, step: string, d: AwsCounts) => {
			const to = into[step] ?? emptyCounts();
			into[step] = to;
			for (const [op, n] of Object.entries(d.calls)) to.calls[op] = (to.calls[op] ?? 0) + n;
			to.itemsRead += d.itemsRead;
			to.readUnits += d.readUnits;
			to.writeUnits += d.writeUnits;
			to.messagesSent += d.messagesSent;
		};
		const seen = new Set<string>();
		let lastLog = 0;
		for (;;) {
			await sleep(200);
			const step = running(project) ?? "end";
			const now = { dynamo: dynamo.counts(), sqs: sqs.counts() };
			add(result.dynamoByStep, step, countsSince(now.dynamo, last.dynamo));
			add(result.sqsByStep, step, countsSince(now.sqs, last.sqs));
			last = now;
			project = await getProject(probe, id);
			if (project.state !== "running") break;
			const current = running(project) ?? "end";
			if (Date.now() - lastLog > 10_000) {
				lastLog = Date.now();
				log(`  ${current} (${Object.values(now.dynamo.calls).reduce((n, x) => n + x, 0)} DynamoDB calls so far)`);
			}
			if (current === "full" && !seen.has("full") && (await quarterCopied(id))) {
				seen.add("full");
				// mid-copy: planned, a quarter of the tables done, so the tick's window has moved
				await probeStatus("during full copy", id);
				await probeTick("during full copy");
			}
			if (current === "verify" && !seen.has("verify")) {
				seen.add("verify");
				load.abort();
				result.writes = await writes;
			}
			if (current === "switch-check" && !seen.has("switch-check")) {
				seen.add("switch-check");
				const rss = () => procKiB(stack.tasks()[0]?.pid, "VmRSS");
				await probeStatus("waiting at switch-check", id);
				await probeTick("waiting at switch-check");
				const a = { dynamo: dynamo.counts(), sqs: sqs.counts() };
				const windowMs = o.idleWindowMs ?? 10_000;
				await sleep(windowMs);
				const b = { dynamo: dynamo.counts(), sqs: sqs.counts() };
				const dd = countsSince(b.dynamo, a.dynamo);
				const ds = countsSince(b.sqs, a.sqs);
				const per = (n: number) => Math.round((n / windowMs) * 1000 * 10) / 10;
				result.idlePerSecond = {
					dynamoCalls: per(Object.values(dd.calls).reduce((n, x) => n + x, 0)),
					itemsRead: per(dd.itemsRead),
					sqsCalls: per(Object.values(ds.calls).reduce((n, x) => n + x, 0)),
				};
				result.memoryMiB.replicationTaskRss = mib(rss());
				const v = project.verification?.totals;
				if (v) {
					result.verification = {
						rowsChecked: v.rowsChecked,
						differences: v.missing + v.extra + v.different + (v.schema ?? 0),
						tablesDiffering: v.tablesDiffering,
					};
				}
				await api.post(`/projects/${id}/switchover`, { maxLatencySeconds: 30 });
			}
			if (/stop writes/.test(project.switchover?.blocked ?? "") && !project.switchover?.writesStoppedAt) {
				await api.post(`/projects/${id}/switchover/writes-stopped`);
			}
		}
		result.state = project.state;
		result.ticket = project.ticket ? `${project.ticket.step}: ${project.ticket.message}` : undefined;
		for (const st of project.steps) {
			if (st.startedAt && st.finishedAt) {
				result.stepSeconds[st.name] = (Date.parse(st.finishedAt) - Date.parse(st.startedAt)) / 1000;
			}
		}
		const final = await probeStatus("completed", id);
		result.chunks = {
			copy: (final.full?.tables ?? []).reduce((n, t) => n + t.chunksTotal, 0),
			verify: (final.verification?.tables ?? []).reduce((n, t) => n + t.chunksTotal, 0),
		};
		result.dynamo = dynamo.counts();
		result.sqs = sqs.counts();
		const mem = process.memoryUsage();
		result.memoryMiB.coordinatorRss = Math.round(mem.rss / 1048576);
		result.memoryMiB.coordinatorHeap = Math.round(mem.heapUsed / 1048576);
		result.memoryMiB.workersPeakRss = stack.workers().map((w) => mib(procKiB(w.pid, "VmHWM")));
		return result;
	} finally {
		load.abort();
		await writes?.catch(() => 0);
		await stack.stop();
		for (const r of relays) await r.stop();
		await embeddedStop?.();
		awsProcess?.kill("SIGTERM");
		rmSync(home, { recursive: true, force: true });
	}
}
