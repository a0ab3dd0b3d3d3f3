import { Duration } from "aws-cdk-lib";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";

export interface ChunkQueueProps {
	/** Timeout of the consuming function; the visibility timeout is six times this. */
	readonly consumerTimeout: Duration;
	/** Receives before a message moves to the dead-letter queue. */
	readonly maxReceiveCount?: number;
	/** Encrypts both queues; absent, SQS-managed encryption. */
	readonly encryptionKey?: kms.IKey;
}

/** A work queue of chunks with its dead-letter queue, both encrypted and TLS-only. */
export class ChunkQueue extends Construct {
	readonly queue: sqs.Queue;
	readonly deadLetterQueue: sqs.Queue;

	constructor(scope: Construct, id: string, props: ChunkQueueProps) {
		super(scope, id);
		const encryption = props.encryptionKey
			? { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: props.encryptionKey }
			: { encryption: sqs.QueueEncryption.SQS_MANAGED };
		this.deadLetterQueue = new sqs.Queue(this, "Dlq", {
			...encryption,
			enforceSSL: true,
			retentionPeriod: Duration.days(14),
		});
		this.queue = new sqs.Queue(this, "Queue", {
			...encryption,
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
