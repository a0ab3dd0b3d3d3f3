import { type ChildProcess, fork } from "node:child_process";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { dynamoDocumentClient, sqsClient } from "../aws/clients.ts";
import { ensureStateTable } from "../aws/state-store.ts";
import { ensureQueueWithDeadLetter } from "../aws/work-queue.ts";
import { configFromEnv } from "../config.ts";
import { type Context, contextFrom } from "../context.ts";
import { LocalMetricsHistory } from "../metrics/local-history.ts";
import type { Role } from "../model/actor.ts";
import { logger } from "../observability.ts";
import { releaseLeasesOf } from "../scheduler/chunks/lease.ts";
import { advanceAll } from "../scheduler/loop.ts";
import { type EmbeddedAws, startEmbeddedAws } from "./embedded-aws.ts";
import { localHttpServer } from "./http-server.ts";
import { startMetricsSampler } from "./metrics-sampler.ts";
import { LocalTaskLauncher } from "./task-launcher.ts";
import { localApiTokens } from "./tokens.ts";

export interface LocalStackOptions {
	/** Ferry's home on this machine (~/.ferry): data, secrets and logs of local mode live here. */
	home: string;
	apiPort: number;
	workers: number;
	schedulerIntervalMs?: number;
	/** Use these servers instead of starting the embedded ones (tests use the emulators this way). */
	dynamoEndpoint?: string;
	sqsEndpoint?: string;
	/** The built console the server serves (default: the repo's console/dist, built by `npm run build:console`). */
	consoleDir?: string;
}

export interface LocalStack {
	apiUrl: string;
	/** The console's address (the same server as the API). */
	consoleUrl: string;
	/** The admin's bearer token. */
	token: string;
	/** Each role's bearer token (shared/local/tokens.ts). */
	tokens: Record<Role, string>;
	/** The copy worker processes, for tests that kill them. */
	workers(): ChildProcess[];
	/** The replication task processes (one per project with incremental migration). */
	tasks(): ChildProcess[];
	/** Holds (true) or releases the starting of replication tasks: a killed task stays down while held. */
	holdTaskStarts(held: boolean): void;
	/** The coordinator's context (its state store, queues, task launcher): a benchmark builds a probe of its own from it. */
	context: Context;
	stop(): Promise<void>;
}

const CONSOLE_DIST = fileURLToPath(new URL("../../console/dist", import.meta.url));
const CHUNK_WORKER = fileURLToPath(new URL("./chunk-worker-process.ts", import.meta.url));
/** Children load TypeScript the way this process does, wherever they are started from. */
const TSX_LOADER = import.meta.resolve("tsx");

/**
 * Local mode: the same handlers as in AWS, on one machine. The API and the scheduler run in
 * this process; copy workers run as child processes fed from the queue; state and queues live
 * on the embedded servers (or on servers the caller names).
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
	let embedded: EmbeddedAws | undefined;
	if (!options.dynamoEndpoint || !options.sqsEndpoint) {
		embedded = await startEmbeddedAws({
			dataDir: join(options.home, "local", "aws"),
		});
	}
	const dynamoEndpoint = options.dynamoEndpoint ?? embedded?.dynamoEndpoint ?? "";
	const sqsEndpoint = options.sqsEndpoint ?? embedded?.sqsEndpoint ?? "";
	const region = "us-east-1";
	const stateTable = "ferry-state";
	await ensureStateTable(dynamoDocumentClient(region, dynamoEndpoint), stateTable);
	const [copy, verify] = await Promise.all(
		["ferry-copy-chunks", "ferry-verify-chunks"].map((name) =>
			ensureQueueWithDeadLetter(sqsClient(region, sqsEndpoint), name, { maxReceiveCount: 5, visibilitySeconds: 900 }),
		),
	);

	const env: Record<string, string> = {
		AWS_REGION: region,
		FERRY_STATE_TABLE: stateTable,
		FERRY_COPY_QUEUE_URL: copy?.url ?? "",
		FERRY_VERIFY_QUEUE_URL: verify?.url ?? "",
		// the scheduler watches them for the ferry_chunk_stuck alert (in AWS a CloudWatch alarm does)
		FERRY_DEAD_LETTER_QUEUE_URLS: [copy?.deadLetterUrl, verify?.deadLetterUrl].filter(Boolean).join(","),
		FERRY_DYNAMODB_ENDPOINT: dynamoEndpoint,
		FERRY_SQS_ENDPOINT: sqsEndpoint,
		FERRY_SECRET_FILE: join(options.home, "secrets", "datasources.json"),
		POWERTOOLS_METRICS_DISABLED: "true",
		POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? "WARN",
	};
	Object.assign(process.env, env);
	const tasks = new LocalTaskLauncher(env);
	const history = new LocalMetricsHistory();
	const ctx = { ...contextFrom(configFromEnv(), tasks), metrics: history };
	const tokens = localApiTokens(options.home);

	const server = localHttpServer({ ctx, tokens, consoleDir: options.consoleDir ?? CONSOLE_DIST });
	server.listen(options.apiPort, "127.0.0.1");
	await new Promise<void>((resolve, reject) => {
		server.once("listening", resolve);
		server.once("error", (err) =>
			reject(new Error(`the local API could not listen on 127.0.0.1:${options.apiPort}: ${err.message}`)),
		);
	});
	const apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

	let stopping = false;
	const children: ChildProcess[] = [];
	const spawnWorker = (slot: number) => {
		const child = fork(CHUNK_WORKER, [], {
			env: { ...process.env, ...env },
			// V8's default young generation let a copying worker grow to 245-287 MiB; 8 MiB
			// semi-spaces keep it near 190 MiB at the same speed (decisions/2026-12-06-speed.md, 6)
			execArgv: ["--max-semi-space-size=8", "--import", TSX_LOADER],
			stdio: ["ignore", "inherit", "inherit", "ipc"],
		});
		children[slot] = child;
		child.on("exit", (code, signal) => {
			if (stopping) return;
			logger.warn("copy worker exited; starting another", {
				slot,
				code,
				signal,
			});
			// its chunks need not wait for their leases to end: this process knows it died
			const pid = child.pid;
			if (pid !== undefined) {
				const how = signal ? `was killed (${signal})` : `exited with code ${code}`;
				releaseLeasesOf(ctx, pid, `copy worker ${pid} ${how} while working on it; released at once`).catch((err) =>
					logger.warn("could not release a dead worker's chunks", { pid, error: (err as Error).message }),
				);
			}
			spawnWorker(slot);
		});
	};
	for (let i = 0; i < options.workers; i++) spawnWorker(i);

	// Like EventBridge's schedule, but a tick never overlaps the previous one in this process.
	let ticking = false;
	const tick = setInterval(() => {
		if (ticking) return;
		ticking = true;
		advanceAll(ctx)
			.catch((err) =>
				logger.error("scheduler tick failed", {
					error: (err as Error).message,
				}),
			)
			.finally(() => {
				ticking = false;
			});
	}, options.schedulerIntervalMs ?? 1000);

	const sampler = startMetricsSampler(ctx, history);

	return {
		apiUrl,
		consoleUrl: `${apiUrl}/`,
		token: tokens.admin,
		tokens,
		workers: () => [...children],
		tasks: () => tasks.processes(),
		holdTaskStarts: (held) => tasks.holdStarts(held),
		context: ctx,
		async stop() {
			stopping = true;
			clearInterval(tick);
			await ticking;
			await sampler.stop();
			await tasks.stopAll();
			await Promise.all(
				children.map(
					(c) =>
						new Promise<void>((resolve) => {
							if (c.exitCode !== null || c.signalCode !== null) return resolve();
							c.once("exit", () => resolve());
							c.kill("SIGTERM");
							setTimeout(() => c.kill("SIGKILL"), 5000).unref();
						}),
				),
			);
			await new Promise<void>((resolve) => server.close(() => resolve()));
			await embedded?.stop();
		},
	};
}
