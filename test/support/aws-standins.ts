import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Stand-ins for the two AWS services the synthesized functions call that cannot run here:
 * Secrets Manager (data-source passwords) and ECS (RunTask and friends for the capture-replay
 * task). Both speak the services' JSON protocol (X-Amz-Target) so the functions' real SDK
 * clients reach them through AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL_ECS. RunTask
 * starts the capture-replay image's bundle as a process, with the task definition's environment
 * and the call's overrides, the way Fargate would start the container.
 */

interface Task {
	arn: string;
	startedBy: string;
	desiredStatus: "RUNNING" | "STOPPED";
	lastStatus: "RUNNING" | "STOPPED";
	exitCode?: number;
	process: ChildProcess;
	output: string;
}

export interface TaskImage {
	/** A copy of the image's build folder with its dependencies installed as its Dockerfile does. */
	dir: string;
	/** The container's environment from the task definition, resolved. */
	environment: Record<string, string>;
}

/** What the Dockerfile's `npm ci --omit=dev` does, from npm's cache (setup.sh's `npm ci` filled it). */
export function installTaskImage(buildDir: string): string {
	const dir = join(mkdtempSync(join(tmpdir(), "ferry-task-image-")), "app");
	cpSync(buildDir, dir, { recursive: true });
	execFileSync("npm", ["ci", "--omit=dev", "--offline", "--no-audit", "--no-fund", "--loglevel=error"], {
		cwd: dir,
		stdio: "pipe",
	});
	return dir;
}

export interface AwsStandIns {
	readonly endpoint: string;
	readonly secrets: Map<string, string>;
	readonly tasks: Task[];
	/** Calls by target (e.g. "RunTask"), for assertions. */
	readonly calls: string[];
	close(): Promise<void>;
}

class AwsError extends Error {
	constructor(
		readonly type: string,
		message: string,
	) {
		super(message);
	}
}

async function body(req: IncomingMessage): Promise<Record<string, unknown>> {
	const chunks: Buffer[] = [];
	for await (const c of req) chunks.push(c as Buffer);
	return JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
}

export async function startAwsStandIns(options: {
	image: TaskImage;
	/** Endpoints and credentials a started task gets (the task role's, in ECS). */
	taskEnvironment: Record<string, string>;
}): Promise<AwsStandIns> {
	const secrets = new Map<string, string>();
	const tasks: Task[] = [];
	const calls: string[] = [];

	const describe = (t: Task) => ({
		taskArn: t.arn,
		startedBy: t.startedBy,
		desiredStatus: t.desiredStatus,
		lastStatus: t.lastStatus,
		containers: [{ name: "capture-replay", lastStatus: t.lastStatus, exitCode: t.exitCode }],
	});

	function runTask(input: Record<string, unknown>) {
		const overrides = (
			input.overrides as { containerOverrides?: { environment?: { name: string; value: string }[] }[] }
		)?.containerOverrides?.[0]?.environment;
		const env = {
			PATH: process.env.PATH ?? "/usr/bin:/bin",
			...options.image.environment,
			...options.taskEnvironment,
			...Object.fromEntries((overrides ?? []).map((e) => [e.name, e.value])),
		};
		const child = spawn(process.execPath, ["main.mjs"], {
			cwd: options.image.dir,
			env,
			stdio: ["ignore", "pipe", "pipe"],
		});
		const task: Task = {
			arn: `arn:aws:ecs:us-east-1:123456789012:task/ferry/${randomUUID().replaceAll("-", "")}`,
			startedBy: String(input.startedBy ?? ""),
			desiredStatus: "RUNNING",
			lastStatus: "RUNNING",
			process: child,
			output: "",
		};
		child.stdout?.on("data", (d) => {
			task.output += d;
		});
		child.stderr?.on("data", (d) => {
			task.output += d;
		});
		child.on("exit", (code) => {
			task.lastStatus = "STOPPED";
			task.desiredStatus = "STOPPED";
			task.exitCode = code ?? undefined;
		});
		tasks.push(task);
		return { tasks: [describe(task)], failures: [] };
	}

	const actions: Record<string, (input: Record<string, unknown>) => unknown> = {
		"secretsmanager.CreateSecret": (i) => {
			const name = String(i.Name);
			if (secrets.has(name)) throw new AwsError("ResourceExistsException", `${name} already exists`);
			secrets.set(name, String(i.SecretString));
			return { ARN: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}`, Name: name };
		},
		"secretsmanager.PutSecretValue": (i) => {
			const name = String(i.SecretId);
			if (!secrets.has(name)) throw new AwsError("ResourceNotFoundException", `${name} not found`);
			secrets.set(name, String(i.SecretString));
			return { Name: name };
		},
		"secretsmanager.GetSecretValue": (i) => {
			const name = String(i.SecretId);
			const value = secrets.get(name);
			if (value === undefined) throw new AwsError("ResourceNotFoundException", `${name} not found`);
			return { Name: name, SecretString: value };
		},
		"secretsmanager.DeleteSecret": (i) => {
			const name = String(i.SecretId);
			if (!secrets.delete(name)) throw new AwsError("ResourceNotFoundException", `${name} not found`);
			return { Name: name };
		},
		"AmazonEC2ContainerServiceV20141113.RunTask": runTask,
		"AmazonEC2ContainerServiceV20141113.ListTasks": (i) => ({
			taskArns: tasks
				.filter(
					(t) =>
						(!i.startedBy || t.startedBy === i.startedBy) && (!i.desiredStatus || t.desiredStatus === i.desiredStatus),
				)
				.map((t) => t.arn),
		}),
		"AmazonEC2ContainerServiceV20141113.DescribeTasks": (i) => ({
			tasks: tasks.filter((t) => (i.tasks as string[]).includes(t.arn)).map(describe),
			failures: [],
		}),
		"AmazonEC2ContainerServiceV20141113.StopTask": (i) => {
			const task = tasks.find((t) => t.arn === i.task);
			if (!task) throw new AwsError("InvalidParameterException", `no task ${String(i.task)}`);
			task.desiredStatus = "STOPPED";
			task.process.kill("SIGTERM");
			return { task: describe(task) };
		},
	};

	const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
		const target = String(req.headers["x-amz-target"] ?? "");
		const send = (status: number, payload: unknown) => {
			res.writeHead(status, { "content-type": "application/x-amz-json-1.1" });
			res.end(JSON.stringify(payload));
		};
		body(req)
			.then((input) => {
				const action = actions[target];
				calls.push(target.split(".")[1] ?? target);
				if (!action) return send(400, { __type: "UnknownOperationException", message: `no stand-in for ${target}` });
				send(200, action(input));
			})
			.catch((err: Error) =>
				send(400, { __type: err instanceof AwsError ? err.type : "ValidationException", message: err.message }),
			);
	});
	server.listen(0, "127.0.0.1");
	await new Promise((r) => server.once("listening", r));
	return {
		endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
		secrets,
		tasks,
		calls,
		async close() {
			for (const t of tasks) {
				if (t.process.exitCode !== null || t.process.signalCode !== null) continue;
				const exited = new Promise((r) => t.process.once("exit", r));
				t.process.kill("SIGTERM");
				await exited;
			}
			await new Promise((r) => server.close(r));
			rmSync(join(options.image.dir, ".."), { recursive: true, force: true });
		},
	};
}
