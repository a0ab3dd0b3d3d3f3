import { homedir } from "node:os";
import { join } from "node:path";

/**
 * Where the process finds its state table, queues and secrets. In the cloud the CDK app sets
 * these variables; in local mode `ferry local` sets the endpoints of the embedded servers.
 */
export interface FerryConfig {
	region: string;
	stateTable: string;
	copyQueueUrl: string;
	verifyQueueUrl: string;
	/** Set only off AWS: the DynamoDB- and SQS-compatible servers to talk to. */
	dynamoEndpoint?: string;
	sqsEndpoint?: string;
	/** Secrets Manager name prefix in the cloud; a file path in local mode. */
	secretPrefix: string;
	/** KMS key (id or ARN) new data-source secrets are encrypted with; absent, Secrets Manager's own key. */
	secretKmsKeyId?: string;
	secretFile?: string;
}

export function ferryHome(): string {
	return process.env.FERRY_HOME ?? join(homedir(), ".ferry");
}

function required(name: string): string {
	const v = process.env[name];
	if (!v) throw new Error(`environment variable ${name} is not set`);
	return v;
}

export function configFromEnv(): FerryConfig {
	return {
		region: process.env.AWS_REGION ?? "us-east-1",
		stateTable: required("FERRY_STATE_TABLE"),
		copyQueueUrl: required("FERRY_COPY_QUEUE_URL"),
		verifyQueueUrl: required("FERRY_VERIFY_QUEUE_URL"),
		dynamoEndpoint: process.env.FERRY_DYNAMODB_ENDPOINT,
		sqsEndpoint: process.env.FERRY_SQS_ENDPOINT,
		secretPrefix: process.env.FERRY_SECRET_PREFIX ?? "ferry/datasources/",
		secretKmsKeyId: process.env.FERRY_SECRET_KMS_KEY_ID || undefined,
		secretFile: process.env.FERRY_SECRET_FILE,
	};
}
