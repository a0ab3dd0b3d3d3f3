import { randomUUID } from "node:crypto";
import { dynamoDocumentClient, sqsClient } from "../../shared/aws/clients.ts";

/**
 * The AWS-protocol backends the adapters are tested against: the embedded local default
 * (Node only) and the emulators AWS and the community ship (Java). `FERRY_TEST_BACKENDS`
 * picks a subset, e.g. `embedded` on a machine without Java.
 */
export interface AwsBackend {
	name: string;
	dynamoEndpoint: string;
	sqsEndpoint: string;
}

const ALL: AwsBackend[] = [
	{
		name: "embedded (dynalite + fauxqs)",
		dynamoEndpoint: `http://127.0.0.1:${process.env.FERRY_EMBEDDED_DYNAMODB_PORT ?? 14567}`,
		sqsEndpoint: `http://127.0.0.1:${process.env.FERRY_EMBEDDED_SQS_PORT ?? 14566}`,
	},
	{
		name: "emulator (DynamoDB Local + ElasticMQ)",
		dynamoEndpoint: `http://127.0.0.1:${process.env.FERRY_DYNAMODB_LOCAL_PORT ?? 18000}`,
		sqsEndpoint: `http://127.0.0.1:${process.env.FERRY_ELASTICMQ_PORT ?? 19324}`,
	},
];

export function awsBackends(): AwsBackend[] {
	const wanted = (process.env.FERRY_TEST_BACKENDS ?? "embedded,emulator").split(",");
	return ALL.filter((b) => wanted.some((w) => b.name.startsWith(w.trim())));
}

export function clientsFor(backend: AwsBackend) {
	return {
		dynamo: dynamoDocumentClient("us-east-1", backend.dynamoEndpoint),
		sqs: sqsClient("us-east-1", backend.sqsEndpoint),
	};
}

export function uniqueName(prefix: string): string {
	return `${prefix}-${randomUUID().slice(0, 8)}`;
}
