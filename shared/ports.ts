/**
 * The interfaces the control plane needs from the outside world beside the state store
 * (state/store.ts), each with its adapters: aws/ for AWS, local/ for one machine, and in-memory
 * fakes in the scheduler's tests.
 */

/**
 * Starts and watches the long-running replication tasks (binlog capture and replay), one per
 * replication stream, named by its replication id (the project id for forward replay,
 * `<project>.reverse` for the way back). In AWS a task is an ECS Fargate task
 * (aws/ecs-launcher.ts); in local mode a child process (local/task-launcher.ts). Starting twice
 * is safe: the task takes a lease in the state table and a second one exits.
 */
export interface TaskLauncher {
	start(replicationId: string): Promise<void>;
	/** Whether a task for the stream is starting or running. */
	running(replicationId: string): Promise<boolean>;
	stop(replicationId: string): Promise<void>;
}

/** Where chunk messages go: SQS in AWS and local mode (aws/work-queue.ts). */
export interface MessageQueue<T> {
	send(items: readonly T[]): Promise<void>;
}
