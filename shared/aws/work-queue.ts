import {
	ChangeMessageVisibilityCommand,
	CreateQueueCommand,
	DeleteMessageCommand,
	GetQueueAttributesCommand,
	GetQueueUrlCommand,
	ReceiveMessageCommand,
	SendMessageBatchCommand,
	type SQSClient,
} from "@aws-sdk/client-sqs";
import type { QueueStats } from "../ports.ts";

export interface WorkItem<T> {
	messageId: string;
	receiptHandle: string;
	/** How many times this message has been handed out, this time included. */
	receiveCount: number;
	body: T;
}

/** SQS allows at most 10 entries in one batch call. */
const SQS_BATCH_LIMIT = 10;

/**
 * A queue of JSON work items on SQS (or a local SQS-compatible server). Delivery is
 * at-least-once: consumers must be idempotent, acknowledge with `ack` after the work is
 * durable, and let failures come back (and end in the dead-letter queue after maxReceiveCount).
 */
export class WorkQueue<T> {
	constructor(
		private readonly sqs: SQSClient,
		readonly url: string,
	) {}

	async send(items: readonly T[]): Promise<void> {
		for (let i = 0; i < items.length; i += SQS_BATCH_LIMIT) {
			const slice = items.slice(i, i + SQS_BATCH_LIMIT);
			const out = await this.sqs.send(
				new SendMessageBatchCommand({
					QueueUrl: this.url,
					Entries: slice.map((item, j) => ({
						Id: String(j),
						MessageBody: JSON.stringify(item),
					})),
				}),
			);
			if (out.Failed?.length) {
				const first = out.Failed[0];
				throw new Error(
					`could not enqueue ${out.Failed.length} item(s) on ${this.url}: ${first?.Code} ${first?.Message}`,
				);
			}
		}
	}

	async receive(
		options: { max?: number; waitSeconds?: number; visibilitySeconds?: number } = {},
	): Promise<WorkItem<T>[]> {
		const out = await this.sqs.send(
			new ReceiveMessageCommand({
				QueueUrl: this.url,
				MaxNumberOfMessages: Math.min(options.max ?? SQS_BATCH_LIMIT, SQS_BATCH_LIMIT),
				WaitTimeSeconds: options.waitSeconds ?? 0,
				VisibilityTimeout: options.visibilitySeconds,
				MessageSystemAttributeNames: ["ApproximateReceiveCount"],
			}),
		);
		return (out.Messages ?? []).map((m) => ({
			messageId: m.MessageId ?? "",
			receiptHandle: m.ReceiptHandle ?? "",
			receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 1),
			body: JSON.parse(m.Body ?? "null") as T,
		}));
	}

	async ack(item: WorkItem<T>): Promise<void> {
		await this.sqs.send(
			new DeleteMessageCommand({
				QueueUrl: this.url,
				ReceiptHandle: item.receiptHandle,
			}),
		);
	}

	/** Hands the item back at once (or after `delaySeconds`) instead of waiting for its visibility to lapse. */
	async release(item: WorkItem<T>, delaySeconds = 0): Promise<void> {
		await this.setVisibility(item, delaySeconds);
	}

	/** Keeps an item hidden from other consumers for `seconds` more, while it is still being worked on. */
	async extend(item: WorkItem<T>, seconds: number): Promise<void> {
		await this.setVisibility(item, seconds);
	}

	private async setVisibility(item: WorkItem<T>, seconds: number): Promise<void> {
		await this.sqs.send(
			new ChangeMessageVisibilityCommand({
				QueueUrl: this.url,
				ReceiptHandle: item.receiptHandle,
				VisibilityTimeout: seconds,
			}),
		);
	}

	/** Messages waiting plus messages being worked on: zero means the queue is drained. */
	async depth(): Promise<{ visible: number; inFlight: number }> {
		const out = await this.sqs.send(
			new GetQueueAttributesCommand({
				QueueUrl: this.url,
				AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
			}),
		);
		return {
			visible: Number(out.Attributes?.ApproximateNumberOfMessages ?? 0),
			inFlight: Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
		};
	}

	/** Depth, in flight, and the dead-letter queue's depth (found by the queue's redrive policy; 0 without one). */
	async stats(): Promise<QueueStats> {
		const [depth, deadLetterUrl] = await Promise.all([this.depth(), this.deadLetterUrl()]);
		const deadLetters = deadLetterUrl ? (await new WorkQueue(this.sqs, deadLetterUrl).depth()).visible : 0;
		return { ...depth, deadLetters };
	}

	private deadLetterUrlFound?: string | null;
	private async deadLetterUrl(): Promise<string | null> {
		if (this.deadLetterUrlFound !== undefined) return this.deadLetterUrlFound;
		const out = await this.sqs.send(
			new GetQueueAttributesCommand({ QueueUrl: this.url, AttributeNames: ["RedrivePolicy"] }),
		);
		const arn =
			out.Attributes?.RedrivePolicy && (JSON.parse(out.Attributes.RedrivePolicy).deadLetterTargetArn as string);
		// a queue's ARN ends in its name
		const name = arn?.split(":").pop();
		this.deadLetterUrlFound = name
			? ((await this.sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl ?? null)
			: null;
		return this.deadLetterUrlFound;
	}
}

/**
 * Creates a queue and its dead-letter queue when missing (local mode and tests; the CDK app
 * owns them in AWS). Returns both URLs.
 */
export async function ensureQueueWithDeadLetter(
	sqs: SQSClient,
	name: string,
	options: { maxReceiveCount: number; visibilitySeconds: number },
): Promise<{ url: string; deadLetterUrl: string }> {
	const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
	const deadLetterUrl = dlq.QueueUrl ?? "";
	const attrs = await sqs.send(
		new GetQueueAttributesCommand({
			QueueUrl: deadLetterUrl,
			AttributeNames: ["QueueArn"],
		}),
	);
	const main = await sqs.send(
		new CreateQueueCommand({
			QueueName: name,
			Attributes: {
				VisibilityTimeout: String(options.visibilitySeconds),
				RedrivePolicy: JSON.stringify({
					deadLetterTargetArn: attrs.Attributes?.QueueArn,
					maxReceiveCount: options.maxReceiveCount,
				}),
			},
		}),
	);
	return { url: main.QueueUrl ?? "", deadLetterUrl };
}
