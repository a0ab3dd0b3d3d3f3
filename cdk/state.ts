import { RemovalPolicy } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type * as kms from "aws-cdk-lib/aws-kms";
import { Construct } from "constructs";

/**
 * The single DynamoDB table holding projects, data sources (no secrets), chunks, checkpoints and tickets,
 * keyed by `pk`/`sk`.
 */
export class StateTable extends Construct {
	readonly table: dynamodb.Table;

	constructor(scope: Construct, id: string, encryptionKey?: kms.IKey) {
		super(scope, id);
		this.table = new dynamodb.Table(this, "Table", {
			partitionKey: { name: "pk", type: dynamodb.AttributeType.STRING },
			sortKey: { name: "sk", type: dynamodb.AttributeType.STRING },
			billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
			pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
			removalPolicy: RemovalPolicy.RETAIN,
			...(encryptionKey && { encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED, encryptionKey }),
		});
	}
}
