import type { SQSClient } from "@aws-sdk/client-sqs";
import type { Context as LambdaContext, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { WorkQueue } from "../aws/work-queue.ts";
import { logger } from "../observability.ts";

const VISIBILITY_SECONDS = 30;

type SqsHandler = (event: SQSEvent, context: LambdaContext) => Promise<SQSBatchResponse | undefined>;

/** Enough of a Lambda context for Powertools; local mode has no AWS request ids. */
function localContext(name: string): LambdaContext {
	return {
		callbackWaitsForEmptyEventLoop: false,
		functionName: name,
		functionVersion: "$LOCAL",
		invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${name}`,
		memoryLimitInMB: "1024",
		awsRequestId: crypto.randomUUID(),
		logGroupName: `/local/${name}`,
		logStreamName: "local",
		getRemainingTimeInMillis: () => 900_000,
		done: () => {},
		fail: () => {},
		succeed: () => {},
	};
}

/**
 * What Lambda's SQS event source mapping does, for local mode: long-polls a queue, hands each
 * batch to the function's handler, deletes the records it did not report as failed, and leaves
 * the failed ones to come back after their visibility timeout.
 */
export async function pollIntoHandler(options: {
	sqs: SQSClient;
	queueUrl: string;
	functionName: string;
	handler: SqsHandler;
	batchSize: number;
	signal: AbortSignal;
}): Promise<void> {
	const queue = new WorkQueue<unknown>(options.sqs, options.queueUrl);
	while (!options.signal.aborted) {
		const items = await queue.receive({
			max: options.batchSize,
			waitSeconds: 1,
			visibilitySeconds: VISIBILITY_SECONDS,
		});
		if (items.length === 0) continue;
		const event: SQSEvent = {
			Records: items.map((m) => ({
				messageId: m.messageId,
				receiptHandle: m.receiptHandle,
				body: JSON.stringify(m.body),
				attributes: {
					ApproximateReceiveCount: String(m.receiveCount),
					SentTimestamp: String(Date.now()),
					SenderId: "local",
					ApproximateFirstReceiveTimestamp: String(Date.now()),
				},
				messageAttributes: {},
				md5OfBody: "",
				eventSource: "aws:sqs",
				eventSourceARN: `arn:aws:sqs:local:000000000000:${options.functionName}`,
				awsRegion: "local",
			})),
		};
		// Unlike Lambda, keep the batch hidden only while this process lives: a killed worker's
		// messages come back within VISIBILITY_SECONDS instead of the queue's long timeout.
		const heartbeat = setInterval(
			() => {
				for (const m of items) queue.extend(m, VISIBILITY_SECONDS).catch(() => {});
			},
			(VISIBILITY_SECONDS * 1000) / 3,
		);
		// A handler that throws fails its whole batch, as in Lambda (Powertools throws when every
		// record failed, e.g. a lone chunk another worker holds): the records come back after their
		// visibility timeout, and the worker process lives on.
		const result = await options
			.handler(event, localContext(options.functionName))
			.catch((err: Error) => {
				logger.warn("a batch failed as a whole; its records come back", {
					functionName: options.functionName,
					records: items.length,
					error: err.message,
				});
				return { batchItemFailures: items.map((m) => ({ itemIdentifier: m.messageId })) };
			})
			.finally(() => clearInterval(heartbeat));
		const failed = new Set((result?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
		for (const m of items) if (!failed.has(m.messageId)) await queue.ack(m);
	}
}
