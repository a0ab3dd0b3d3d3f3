import { Duration } from "aws-cdk-lib";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";

export interface ChunkQueueProps {
	/** Timeout of the consuming function; the visibility timeout is six times this. */
	readonly consumerTimeout: Duration;
	/** Receives before a message moves to the dead-letter queue. */
	readonly maxReceiveCount?: number;
}

/** A work queue of chunks with its dead-letter queue, both encrypted and TLS-only. */
export class ChunkQueue extends Construct {
	readonly queue: sqs.Queue;
	readonly deadLetterQueue: sqs.Queue;

	constructor(scope: Construct, id: string, props: ChunkQueueProps) {
		super(scope, id);
		this.deadLetterQueue = new sqs.Queue(this, "Dlq", {
			encryption: sqs.QueueEncryption.SQS_MANAGED,
			enforceSSL: true,
			retentionPeriod: Duration.days(14),
		});
		this.queue = new sqs.Queue(this, "Queue", {
			encryption: sqs.QueueEncryption.SQS_MANAGED,
			enforceSSL: true,
			visibilityTimeout: Duration.seconds(props.consumerTimeout.toSeconds() * 6),
			retentionPeriod: Duration.days(4),
			deadLetterQueue: {
				queue: this.deadLetterQueue,
				maxReceiveCount: props.maxReceiveCount ?? 5,
			},
		});
	}
}
