import { PurgeQueueCommand } from "@aws-sdk/client-sqs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { listAlerts, STACK_SCOPE } from "../../shared/alerts/history.ts";
import { setAlertDefaults, setWebhookTarget } from "../../shared/alerts/settings.ts";
import { evaluateStackAlerts } from "../../shared/alerts/stack.ts";
import { ensureQueueWithDeadLetter, WorkQueue } from "../../shared/aws/work-queue.ts";
import { clientsFor, uniqueName } from "../support/aws.ts";
import { fakeContext } from "../support/fakes.ts";
import { startWebhookReceiver } from "./support.ts";

/* The dead-letter queues of local mode, on the embedded SQS server: the stack's ferry_chunk_stuck. */
const endpoint = `http://127.0.0.1:${process.env.FERRY_EMBEDDED_SQS_PORT ?? 14566}`;
const { sqs } = clientsFor({ name: "embedded", dynamoEndpoint: "", sqsEndpoint: endpoint });
const SECRET = "dead-letter-test-secret";
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
beforeAll(async () => {
	receiver = await startWebhookReceiver(SECRET);
});
afterAll(() => receiver.close());
afterEach(() => {
	delete process.env.FERRY_DEAD_LETTER_QUEUE_URLS;
	delete process.env.FERRY_SQS_ENDPOINT;
});

describe("the chunk dead-letter queues (the stack's scope)", () => {
	it("fires chunk stuck while a dead-letter queue holds messages, resolves once it is emptied", async () => {
		const { deadLetterUrl } = await ensureQueueWithDeadLetter(sqs, uniqueName("chunks"), {
			maxReceiveCount: 5,
			visibilitySeconds: 30,
		});
		process.env.FERRY_DEAD_LETTER_QUEUE_URLS = deadLetterUrl;
		process.env.FERRY_SQS_ENDPOINT = endpoint;
		const ctx = fakeContext();
		const admin = { name: "alice", role: "admin" as const };
		await setWebhookTarget(ctx, { url: receiver.url, secret: SECRET }, admin);
		await setAlertDefaults(ctx, { evaluationSeconds: 1 }, admin);
		const t0 = Date.now();
		await evaluateStackAlerts(ctx, t0);
		expect(await listAlerts(ctx, STACK_SCOPE)).toEqual([]);

		await new WorkQueue(sqs, deadLetterUrl).send([{ poison: true }]);
		await evaluateStackAlerts(ctx, t0 + 1000);
		const [fired] = await listAlerts(ctx, STACK_SCOPE, {}, t0 + 1000);
		expect(fired).toMatchObject({ name: "ferry_chunk_stuck", state: "firing", value: 1, source: "ferry" });

		await sqs.send(new PurgeQueueCommand({ QueueUrl: deadLetterUrl }));
		await evaluateStackAlerts(ctx, t0 + 2000);
		expect((await listAlerts(ctx, STACK_SCOPE, {}, t0 + 2000))[0]).toMatchObject({ id: fired?.id, state: "resolved" });
		expect(receiver.received.filter((n) => n.alert.id === fired?.id).map((n) => n.type)).toEqual([
			"alert-fired",
			"alert-resolved",
		]);
	});
});
