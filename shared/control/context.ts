import { dynamoDocumentClient, sqsClient } from "../aws/clients.ts";
import { type SecretStore, secretStoreFor } from "../aws/secrets.ts";
import { StateStore } from "../aws/state-store.ts";
import { WorkQueue } from "../aws/work-queue.ts";
import type { FerryConfig } from "../config.ts";
import type { ChunkMessage } from "./chunks.ts";

/** What the control plane and the workers need from the outside world, built once per process. */
export interface Context {
	store: StateStore;
	copyQueue: WorkQueue<ChunkMessage>;
	secrets: SecretStore;
}

export function contextFrom(config: FerryConfig): Context {
	return {
		store: new StateStore(dynamoDocumentClient(config.region, config.dynamoEndpoint), config.stateTable),
		copyQueue: new WorkQueue(sqsClient(config.region, config.sqsEndpoint), config.copyQueueUrl),
		secrets: secretStoreFor(config),
	};
}
