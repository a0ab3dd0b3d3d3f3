import { CreateTopicCommand, SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";
import { GetQueueAttributesCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { afterEach, describe, expect, it } from "vitest";
import { listAlerts } from "../../shared/alerts/history.ts";
import { setProjectAlertSettings } from "../../shared/alerts/settings.ts";
import { evaluateProjectAlerts } from "../../shared/alerts/tick.ts";
import { SnsPublisher } from "../../shared/aws/sns.ts";
import { ensureQueueWithDeadLetter } from "../../shared/aws/work-queue.ts";
import { updateProject } from "../../shared/state/projects.ts";
import { seedProject } from "../scheduler/support.ts";
import { clientsFor, uniqueName } from "../support/aws.ts";
import { fakeContext } from "../support/fakes.ts";

/*
 * Against the embedded server local mode runs (fauxqs speaks SNS as well as SQS): a topic with a
 * queue subscribed, as an operator would subscribe e-mail or chat in AWS; what Ferry publishes is
 * read back from the queue.
 */
const endpoint = `http://127.0.0.1:${process.env.FERRY_EMBEDDED_SQS_PORT ?? 14566}`;
const { sqs } = clientsFor({ name: "embedded", dynamoEndpoint: "", sqsEndpoint: endpoint });
const sns = new SNSClient({
	region: "us-east-1",
	endpoint,
	credentials: { accessKeyId: "local", secretAccessKey: "local" },
});

async function topicWithQueue(): Promise<{ topicArn: string; queueUrl: string }> {
	const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: uniqueName("alerts") }));
	const { url } = await ensureQueueWithDeadLetter(sqs, uniqueName("alerts-sub"), {
		maxReceiveCount: 3,
		visibilitySeconds: 30,
	});
	const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }));
	await sns.send(
		new SubscribeCommand({
			TopicArn,
			Protocol: "sqs",
			Endpoint: attrs.Attributes?.QueueArn,
			Attributes: { RawMessageDelivery: "true" },
		}),
	);
	return { topicArn: TopicArn as string, queueUrl: url };
}

async function receiveAll(queueUrl: string, expected: number): Promise<string[]> {
	const bodies: string[] = [];
	for (let i = 0; i < 10 && bodies.length < expected; i++) {
		const out = await sqs.send(
			new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
		);
		bodies.push(...(out.Messages ?? []).map((m) => m.Body ?? ""));
	}
	return bodies;
}

afterEach(() => {
	delete process.env.FERRY_ALERT_TOPIC_ARN;
	delete process.env.FERRY_SNS_ENDPOINT;
});

describe("alert notifications to SNS (the embedded SNS server)", () => {
	it("publishes through the AWS SDK's SNS client to the topic's subscribers", async () => {
		const { topicArn, queueUrl } = await topicWithQueue();
		await new SnsPublisher(sns, topicArn).publish("Ferry oms_host_down fired", '{"type":"alert-fired"}', {
			source: "ferry",
		});
		expect(await receiveAll(queueUrl, 1)).toEqual(['{"type":"alert-fired"}']);
	});

	it("sends an alert's firing from the scheduler's evaluation when the stack names a topic", async () => {
		const { topicArn, queueUrl } = await topicWithQueue();
		process.env.FERRY_ALERT_TOPIC_ARN = topicArn;
		process.env.FERRY_SNS_ENDPOINT = endpoint;
		const ctx = fakeContext();
		const seeded = await seedProject(ctx, ["schema", "full"], { state: "failed" });
		const project = await updateProject(ctx, seeded.id, (p) => ({
			...p,
			ticket: { id: "tk-1", step: "full", message: "a chunk failed 5 times", openedAt: new Date().toISOString() },
		}));
		await setProjectAlertSettings(ctx, project.id, { evaluationSeconds: 1 }, { name: "alice", role: "admin" });
		await evaluateProjectAlerts(ctx, project);
		const [body] = await receiveAll(queueUrl, 1);
		const message = JSON.parse(body ?? "{}");
		expect(message).toMatchObject({
			type: "alert-fired",
			alert: { name: "oms_migration_failed", projectId: project.id },
		});
		expect((await listAlerts(ctx, project.id))[0]?.notifications).toEqual({ "sns:fired": "sent" });
	});
});
