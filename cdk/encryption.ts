import { Aws } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import type { IConstruct } from "constructs";
import { acknowledge } from "./nag.ts";

/**
 * Lets CloudWatch Logs encrypt Ferry's log groups with `key`, for log groups of this account and
 * region only. A no-op on a key imported by ARN: its policy needs this statement (docs/deploy.md).
 */
export function allowLogsToUse(key: kms.IKey): void {
	key.addToResourcePolicy(
		new iam.PolicyStatement({
			principals: [new iam.ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`)],
			actions: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
			resources: ["*"],
			conditions: {
				ArnLike: {
					"kms:EncryptionContext:aws:logs:arn": `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:*`,
				},
			},
		}),
	);
}

/** CDK's grants on a customer-managed key use these wildcard actions; each names the one key. */
export function grantKeyAcknowledged(role: IConstruct): void {
	for (const action of ["kms:GenerateDataKey*", "kms:ReEncrypt*"]) {
		acknowledge(
			role,
			`AwsSolutions-IAM5[Action::${action}]`,
			"Encrypting with the customer-managed key given as encryptionKey (table, queues, secrets); the grant names that key only.",
		);
	}
}
