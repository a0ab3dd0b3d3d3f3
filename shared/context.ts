import { dynamoDocumentClient, sqsClient } from "./aws/clients.ts";
import { ecsLauncherFromEnv } from "./aws/ecs-launcher.ts";
import { type SecretStore, secretStoreFor } from "./aws/secrets.ts";
import { DynamoStateStore } from "./aws/state-store.ts";
import { WorkQueue } from "./aws/work-queue.ts";
import type { FerryConfig } from "./config.ts";
import { cloudWatchHistoryFromEnv } from "./metrics/cloudwatch-history.ts";
import type { MetricsReader } from "./metrics/series.ts";
import type { ChunkMessage } from "./model/chunk-message.ts";
import type { MessageQueue, TaskLauncher } from "./ports.ts";
import { FormattedStore } from "./state/formatted-store.ts";
import type { StateStore } from "./state/store.ts";

/** What the control plane and the workers need from the outside world, built once per process. */
export interface Context {
	store: StateStore;
	copyQueue: MessageQueue<ChunkMessage>;
	verifyQueue: MessageQueue<ChunkMessage>;
	secrets: SecretStore;
	tasks: TaskLauncher;
	/** Where projects' metrics history is read: CloudWatch in AWS, the main process's store in local mode. */
	metrics: MetricsReader;
}

/** Where no launcher is configured (a bare API function): asking for a task is a configuration error. */
const NO_TASKS: TaskLauncher = {
	start: async () => {
		throw new Error("no task launcher configured: set FERRY_CLUSTER_ARN (AWS) or run in local mode");
	},
	running: async () => false,
	stop: async () => {},
};

export function contextFrom(config: FerryConfig, tasks: TaskLauncher = ecsLauncherFromEnv() ?? NO_TASKS): Context {
	return {
		// every process reads and writes items through their formats (state/format.ts)
		store: new FormattedStore(
			new DynamoStateStore(dynamoDocumentClient(config.region, config.dynamoEndpoint), config.stateTable),
		),
		copyQueue: new WorkQueue(sqsClient(config.region, config.sqsEndpoint), config.copyQueueUrl),
		verifyQueue: new WorkQueue(sqsClient(config.region, config.sqsEndpoint), config.verifyQueueUrl),
		secrets: secretStoreFor(config),
		tasks,
		metrics: cloudWatchHistoryFromEnv(config.region),
	};
}
