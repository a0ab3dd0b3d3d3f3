import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { METRICS_NAMESPACE } from "./config.ts";

export interface FerryAlarmsProps {
	readonly deadLetterQueues: Record<string, sqs.IQueue>;
	readonly functions: Record<string, lambda.IFunction>;
}

/**
 * Alarms beside the alert catalogue's (alert-alarms.ts, which has replication latency): a message in
 * any DLQ, any function error, a blocked switchover, a stopped replication task.
 */
export class FerryAlarms extends Construct {
	readonly alarms: cloudwatch.Alarm[] = [];

	constructor(scope: Construct, id: string, props: FerryAlarmsProps) {
		super(scope, id);
		for (const [name, dlq] of Object.entries(props.deadLetterQueues)) {
			this.alarms.push(
				dlq
					.metricApproximateNumberOfMessagesVisible({
						period: Duration.minutes(1),
						statistic: "Maximum",
					})
					.createAlarm(this, `${name}DlqNotEmpty`, {
						alarmDescription: `Messages in the ${name} dead-letter queue: chunks failed 5 times`,
						threshold: 0,
						comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
						evaluationPeriods: 1,
						treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
					}),
			);
		}
		for (const [name, fn] of Object.entries(props.functions)) {
			this.alarms.push(
				fn.metricErrors({ period: Duration.minutes(5), statistic: "Sum" }).createAlarm(this, `${name}Errors`, {
					alarmDescription: `The ${name} function failed (errors, timeouts or crashes)`,
					threshold: 0,
					comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
					evaluationPeriods: 1,
					treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
				}),
			);
		}
		// a switchover or a replication task that needs a person: the scheduler counts each ticket
		for (const [metric, what] of [
			[
				"SwitchoverBlocked",
				"A switchover step is blocked: see the project's ticket (latency, verification or a failed step)",
			],
			[
				"ReplicationStopped",
				"A replication task stopped on something only a person can decide: see the project's ticket",
			],
		] as const) {
			const expr = new cloudwatch.MathExpression({
				expression: `SELECT SUM(${metric}) FROM "${METRICS_NAMESPACE}"`,
				label: metric,
				period: Duration.minutes(1),
				usingMetrics: {},
			});
			this.alarms.push(
				expr.createAlarm(this, metric, {
					alarmDescription: what,
					threshold: 0,
					comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
					evaluationPeriods: 1,
					treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
				}),
			);
		}
	}
}
