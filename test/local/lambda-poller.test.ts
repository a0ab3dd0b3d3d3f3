import { DeleteQueueCommand } from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { afterAll, describe, expect, it } from "vitest";
import { ensureQueueWithDeadLetter, WorkQueue } from "../../shared/aws/work-queue.ts";
import { pollIntoHandler } from "../../shared/local/lambda-poller.ts";
import { awsBackends, clientsFor, uniqueName } from "../support/aws.ts";

const backend = awsBackends()[0];
if (!backend) throw new Error("no AWS-compatible backend configured (FERRY_TEST_BACKENDS)");
const { sqs } = clientsFor(backend);

describe(`local mode's SQS event source mapping (${backend.name})`, () => {
	const urls: string[] = [];
	afterAll(async () => {
		for (const QueueUrl of urls) await sqs.send(new DeleteQueueCommand({ QueueUrl })).catch(() => {});
	});

	it("deletes what the handler did not report, keeps the reported records, and outlives a handler that throws", async () => {
		const queue = await ensureQueueWithDeadLetter(sqs, uniqueName("poller"), {
			maxReceiveCount: 5,
			visibilitySeconds: 30,
		});
		urls.push(queue.url, queue.deadLetterUrl);
		const work = new WorkQueue<{ n: number }>(sqs, queue.url);
		await work.send([{ n: 1 }, { n: 2 }, { n: 3 }]);
		const stop = new AbortController();
		const seen: number[][] = [];
		const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
			const numbers = event.Records.map((r) => (JSON.parse(r.body) as { n: number }).n);
			seen.push(numbers);
			// the first batch throws as a whole, as Powertools does when every record failed
			if (numbers.includes(1)) throw new Error("All records failed processing");
			return {
				batchItemFailures: event.Records.filter((r) => r.body.includes("5")).map((r) => ({
					itemIdentifier: r.messageId,
				})),
			};
		};
		const polling = pollIntoHandler({
			sqs,
			queueUrl: queue.url,
			functionName: "test",
			handler,
			batchSize: 10,
			signal: stop.signal,
		});
		const until = async (done: () => boolean) => {
			for (let i = 0; i < 100 && !done(); i++) await new Promise((r) => setTimeout(r, 100));
		};
		await until(() => seen.flat().length >= 3);
		await work.send([{ n: 4 }, { n: 5 }]);
		await until(() => seen.flat().includes(4) && seen.flat().includes(5));
		stop.abort();
		await polling;
		expect(seen.flat().sort()).toEqual([1, 2, 3, 4, 5]);
		// the thrown batch's three records and the one reported failed are in flight until their
		// visibility ends; the record handled is deleted
		const depth = await work.depth();
		expect(depth.visible + depth.inFlight).toBe(4);
	});
});
