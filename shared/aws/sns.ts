import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";

/** Where alert notifications go in AWS: the stack's SNS topic (its subscribers are the operators' e-mail, chat, paging). */
export class SnsPublisher {
	constructor(
		private readonly client: SNSClient,
		readonly topicArn: string,
	) {}

	async publish(subject: string, message: string, attributes: Record<string, string>): Promise<void> {
		await this.client.send(
			new PublishCommand({
				TopicArn: this.topicArn,
				// SNS caps an e-mail subject at 100 characters
				Subject: subject.slice(0, 100),
				Message: message,
				MessageAttributes: Object.fromEntries(
					Object.entries(attributes).map(([k, v]) => [k, { DataType: "String", StringValue: v }]),
				),
			}),
		);
	}
}

/**
 * The stack's alert topic when the environment names one (FERRY_ALERT_TOPIC_ARN, set by the CDK
 * app); FERRY_SNS_ENDPOINT points it at a server that speaks SNS off AWS (the embedded one).
 */
export function snsPublisherFromEnv(env: NodeJS.ProcessEnv = process.env): SnsPublisher | undefined {
	const topicArn = env.FERRY_ALERT_TOPIC_ARN;
	if (!topicArn) return undefined;
	const endpoint = env.FERRY_SNS_ENDPOINT;
	const client = new SNSClient({
		region: env.AWS_REGION ?? "us-east-1",
		// a notification that cannot go now is tried again at a later evaluation (alerts/notify.ts)
		maxAttempts: 2,
		requestHandler: { connectionTimeout: 3000, requestTimeout: 5000 },
		...(endpoint ? { endpoint, credentials: { accessKeyId: "local", secretAccessKey: "local" } } : {}),
	});
	return new SnsPublisher(client, topicArn);
}
