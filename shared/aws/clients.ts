import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

/** Off AWS the local servers accept any credentials; the SDK still insists on having some. */
const LOCAL_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" };

function local(endpoint: string | undefined) {
	return endpoint ? { endpoint, credentials: LOCAL_CREDENTIALS } : {};
}

export function dynamoDocumentClient(region: string, endpoint?: string): DynamoDBDocumentClient {
	const client = new DynamoDBClient({ region, ...local(endpoint) });
	return DynamoDBDocumentClient.from(client, {
		marshallOptions: {
			removeUndefinedValues: true,
			convertClassInstanceToMap: false,
		},
	});
}

export function sqsClient(region: string, endpoint?: string): SQSClient {
	// An explicit endpoint also keeps the SDK from sending requests to the host in a queue URL.
	return new SQSClient({ region, ...local(endpoint) });
}
