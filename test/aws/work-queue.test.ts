import { describe, expect, it } from "vitest";
import { ensureQueueWithDeadLetter, WorkQueue } from "../../shared/aws/work-queue.ts";
import { awsBackends, clientsFor, uniqueName } from "../support/aws.ts";

describe.each(awsBackends())("work queue on $name", (backend) => {
	const { sqs } = clientsFor(backend);

	it("delivers items in batches larger than one SQS call and acknowledges them", async () => {
		const { url } = await ensureQueueWithDeadLetter(sqs, uniqueName("q"), {
			maxReceiveCount: 3,
			visibilitySeconds: 30,
		});
		const queue = new WorkQueue<{ n: number }>(sqs, url);
		await queue.send(Array.from({ length: 23 }, (_, n) => ({ n })));
		const seen = new Set<number>();
		for (let i = 0; i < 20 && seen.size < 23; i++) {
			for (const item of await queue.receive({ max: 10, waitSeconds: 1 })) {
				seen.add(item.body.n);
				await queue.ack(item);
			}
		}
		expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 23 }, (_, n) => n));
		expect(await queue.depth()).toEqual({ visible: 0, inFlight: 0 });
	});

	it("redrives an item that keeps failing to the dead-letter queue", async () => {
		const { url, deadLetterUrl } = await ensureQueueWithDeadLetter(sqs, uniqueName("q"), {
			maxReceiveCount: 2,
			visibilitySeconds: 30,
		});
		const queue = new WorkQueue<{ poison: boolean }>(sqs, url);
		const dead = new WorkQueue<{ poison: boolean }>(sqs, deadLetterUrl);
		await queue.send([{ poison: true }]);
		const counts: number[] = [];
		for (let i = 0; i < 10 && counts.length < 2; i++) {
			for (const item of await queue.receive({ waitSeconds: 1 })) {
				counts.push(item.receiveCount);
				await queue.release(item); // a failed attempt: back to the queue at once
			}
		}
		expect(counts).toEqual([1, 2]);
		let redriven: { poison: boolean }[] = [];
		for (let i = 0; i < 10 && redriven.length === 0; i++) {
			await queue.receive({ waitSeconds: 1 }); // the third receive moves it to the DLQ
			redriven = (await dead.receive({ waitSeconds: 1 })).map((m) => m.body);
		}
		expect(redriven).toEqual([{ poison: true }]);
	});
});
