import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { TaskLauncher } from "../control/tasks.ts";
import { logger } from "../observability.ts";

const REPLICATION_TASK = fileURLToPath(new URL("../../tasks/replication/main.ts", import.meta.url));
const TSX_LOADER = import.meta.resolve("tsx");

/** Local mode's stand-in for ECS RunTask: the replication task as a child process per project. */
export class LocalTaskLauncher implements TaskLauncher {
	private readonly children = new Map<string, ChildProcess>();

	constructor(private readonly env: Record<string, string>) {}

	async start(projectId: string): Promise<void> {
		if (await this.running(projectId)) return;
		const child = fork(REPLICATION_TASK, [], {
			env: { ...process.env, ...this.env, FERRY_PROJECT_ID: projectId },
			execArgv: ["--import", TSX_LOADER],
			stdio: ["ignore", "inherit", "inherit", "ipc"],
		});
		child.on("exit", (code, signal) => {
			if (this.children.get(projectId) === child) this.children.delete(projectId);
			if (code !== 0) logger.warn("replication task exited", { projectId, code, signal });
		});
		this.children.set(projectId, child);
	}

	async running(projectId: string): Promise<boolean> {
		const child = this.children.get(projectId);
		return child !== undefined && child.exitCode === null && child.signalCode === null;
	}

	async stop(projectId: string): Promise<void> {
		const child = this.children.get(projectId);
		if (!child || child.exitCode !== null || child.signalCode !== null) return;
		await new Promise<void>((resolve) => {
			child.once("exit", () => resolve());
			child.kill("SIGTERM");
			setTimeout(() => child.kill("SIGKILL"), 10_000).unref();
		});
	}

	/** The running task processes, for tests that kill them. */
	processes(): ChildProcess[] {
		return [...this.children.values()];
	}

	async stopAll(): Promise<void> {
		await Promise.all([...this.children.keys()].map((id) => this.stop(id)));
	}
}
