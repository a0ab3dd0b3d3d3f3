import { type ChildProcess, fork } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FunctionAsset } from "./cdk-out.ts";

/**
 * A synthesized Lambda function run the way Lambda runs it (no Lambda runs here, so the runtime
 * is a stand-in: test/support/lambda-runner.mjs): its asset folder copied out of the repository
 * (so nothing resolves from the repository's node_modules), a fresh Node 24 process with the
 * environment the stack gives it plus what the runtime sets, and invocations one at a time.
 */
export interface RunningFunction {
	readonly name: string;
	/** How long the module took to load (the cold start's init). */
	readonly initMs: number;
	invoke<T = unknown>(event: unknown): Promise<T>;
	/** Everything the function wrote to stdout and stderr (its structured logs). */
	logs(): string;
	stop(): Promise<void>;
}

/** The variables Lambda's runtime sets; the AWS credentials are the test's (local servers accept any). */
function runtimeEnvironment(asset: FunctionAsset, name: string, taskRoot: string): Record<string, string> {
	return {
		PATH: process.env.PATH ?? "/usr/bin:/bin",
		LANG: "en_US.UTF-8",
		TZ: ":UTC",
		LAMBDA_TASK_ROOT: taskRoot,
		LAMBDA_RUNTIME_DIR: taskRoot,
		_HANDLER: asset.handler,
		AWS_EXECUTION_ENV: `AWS_Lambda_${asset.runtime}`,
		AWS_LAMBDA_FUNCTION_NAME: name,
		AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
		AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(asset.memorySize),
		AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${name}`,
		AWS_REGION: "us-east-1",
		AWS_DEFAULT_REGION: "us-east-1",
		AWS_ACCESS_KEY_ID: "AKIDLAMBDATEST",
		AWS_SECRET_ACCESS_KEY: "lambda-test-secret",
		AWS_SESSION_TOKEN: "lambda-test-session",
		FERRY_TEST_TIMEOUT_SECONDS: String(asset.timeoutSeconds),
	};
}

export async function startFunction(
	asset: FunctionAsset,
	environment: Record<string, string>,
	endpoints: Record<string, string>,
): Promise<RunningFunction> {
	const name = asset.logicalId;
	const home = mkdtempSync(join(tmpdir(), "ferry-lambda-"));
	const taskRoot = join(home, "task");
	cpSync(asset.dir, taskRoot, { recursive: true });
	let output = "";
	const child: ChildProcess = fork(join(import.meta.dirname, "lambda-runner.mjs"), [], {
		cwd: taskRoot,
		execArgv: [],
		env: { ...runtimeEnvironment(asset, name, taskRoot), ...environment, ...endpoints },
		stdio: ["ignore", "pipe", "pipe", "ipc"],
	});
	child.stdout?.on("data", (d) => {
		output += d;
	});
	child.stderr?.on("data", (d) => {
		output += d;
	});
	const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
	let next = 0;
	const initMs = await new Promise<number>((resolve, reject) => {
		child.once("exit", (code) => reject(new Error(`${name} exited with ${code} while loading:\n${output}`)));
		child.on("message", (m: { type: string; id?: number; initMs?: number; result?: unknown; error?: string }) => {
			if (m.type === "ready") resolve(m.initMs ?? 0);
			else if (m.type === "init-error") reject(new Error(`${name} failed to load: ${m.error}`));
			const waiting = m.id === undefined ? undefined : pending.get(m.id);
			if (!waiting) return;
			pending.delete(m.id as number);
			if (m.type === "result") waiting.resolve(m.result);
			else waiting.reject(new Error(`${name} failed: ${m.error}`));
		});
	});
	child.on("exit", (code) => {
		for (const p of pending.values()) p.reject(new Error(`${name} exited with ${code}:\n${output.slice(-2000)}`));
		pending.clear();
	});
	return {
		name,
		initMs,
		invoke: <T>(event: unknown) =>
			new Promise<T>((resolve, reject) => {
				const id = next++;
				pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
				child.send({ id, event });
			}),
		logs: () => output,
		async stop() {
			if (child.exitCode === null) {
				const exited = new Promise((r) => child.once("exit", r));
				child.kill("SIGTERM");
				await exited;
			}
			rmSync(home, { recursive: true, force: true });
		},
	};
}
