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

/** How full a queue is (approximate, as SQS counts): the components list shows it. */
export interface QueueStats {
	/** Messages waiting for a worker. */
	visible: number;
	/** Messages a worker holds now. */
	inFlight: number;
	/** Messages that failed too often and wait in the dead-letter queue for a person. */
	deadLetters: number;
}

/** Where chunk messages go: SQS in AWS and local mode (aws/work-queue.ts). */
export interface MessageQueue<T> {
	send(items: readonly T[]): Promise<void>;
	stats(): Promise<QueueStats>;
}
