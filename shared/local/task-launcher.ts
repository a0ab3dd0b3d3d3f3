import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { logger } from "../observability.ts";
import type { TaskLauncher } from "../ports.ts";

const REPLICATION_TASK = fileURLToPath(new URL("../../tasks/replication/main.ts", import.meta.url));
const TSX_LOADER = import.meta.resolve("tsx");

/** Local mode's stand-in for ECS RunTask: a replication task as a child process per replication stream. */
export class LocalTaskLauncher implements TaskLauncher {
	private readonly children = new Map<string, ChildProcess>();
	private held = false;

	constructor(private readonly env: Record<string, string>) {}

	async start(replicationId: string): Promise<void> {
		if (this.held || (await this.running(replicationId))) return;
		const child = fork(REPLICATION_TASK, [], {
			env: { ...process.env, ...this.env, FERRY_REPLICATION_ID: replicationId },
			execArgv: ["--import", TSX_LOADER],
			stdio: ["ignore", "inherit", "inherit", "ipc"],
		});
		child.on("exit", (code, signal) => {
			if (this.children.get(replicationId) === child) this.children.delete(replicationId);
			if (code !== 0) logger.warn("replication task exited", { replicationId, code, signal });
		});
		this.children.set(replicationId, child);
	}

	async running(replicationId: string): Promise<boolean> {
		const child = this.children.get(replicationId);
		return child !== undefined && child.exitCode === null && child.signalCode === null;
	}

	async stop(replicationId: string): Promise<void> {
		const child = this.children.get(replicationId);
		if (!child || child.exitCode !== null || child.signalCode !== null) return;
		await new Promise<void>((resolve) => {
			child.once("exit", () => resolve());
			child.kill("SIGTERM");
			setTimeout(() => child.kill("SIGKILL"), 10_000).unref();
		});
	}

	/**
	 * While held, `start` starts nothing: a task that dies stays down (the scheduler's restarts
	 * wait) until released. Tests keep a killed task down this way, to see it reported dead.
	 */
	holdStarts(held: boolean): void {
		this.held = held;
	}

	/** The running task processes, for tests that kill them. */
	processes(): ChildProcess[] {
		return [...this.children.values()];
	}

	async stopAll(): Promise<void> {
		await Promise.all([...this.children.keys()].map((id) => this.stop(id)));
	}
}
