import { Duration, Stack } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as sns from "aws-cdk-lib/aws-sns";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { ALERT_NAMES, type AlertName } from "../shared/alerts/catalogue.ts";
import { METRICS_NAMESPACE } from "./config.ts";

export interface AlertAlarmsProps {
	readonly deadLetterQueues: sqs.IQueue[];
	/** Receives the alarms' state changes and records them in the alert history (functions/scheduler). */
	readonly recorder: lambda.IFunction;
	/** Where the alarms send; absent, a topic of its own, KMS-encrypted. */
	readonly topic?: sns.ITopic;
	/** Encrypts the topic it makes; absent, a key of its own. */
	readonly encryptionKey?: kms.IKey;
	/** Alarm names start with `<namePrefix>-`; the EventBridge rule matches that prefix. */
	readonly namePrefix: string;
}

/** A Metrics Insights query over Ferry's namespace: the worst value across every dimension set the publisher adds. */
const insights = (stat: "MAX" | "SUM", metric: string, label: string) =>
	new cloudwatch.MathExpression({
		expression: `SELECT ${stat}(${metric}) FROM "${METRICS_NAMESPACE}"`,
		label,
		period: Duration.minutes(1),
		usingMetrics: {},
	});

interface AlarmSpec {
	metric: cloudwatch.MathExpression;
	threshold: number;
	/** Minutes in a row over the threshold before the alarm fires. */
	minutes?: number;
	description: string;
}

/**
 * The alert catalogue (shared/alerts/catalogue.ts) as CloudWatch alarms, one per alert name,
 * named `<namePrefix>-<alert name>`, each sending to the alert topic; an EventBridge rule
 * hands their state changes to the scheduler, which records ALARM as firing and OK as resolved
 * in the same history as its own evaluation (shared/alerts/cloudwatch.ts). Thresholds are the
 * catalogue's defaults; per-project settings apply to Ferry's own evaluation.
 */
export class AlertAlarms extends Construct {
	readonly topic: sns.ITopic;
	readonly alarms = new Map<AlertName, cloudwatch.IAlarm>();

	constructor(scope: Construct, id: string, props: AlertAlarmsProps) {
		super(scope, id);
		const prefix = props.namePrefix;
		this.topic = props.topic ?? this.ownTopic(props.encryptionKey);

		const deadLetters = new cloudwatch.MathExpression({
			expression: props.deadLetterQueues.map((_, i) => `dlq${i}`).join(" + "),
			label: "Messages in the chunk dead-letter queues",
			period: Duration.minutes(1),
			usingMetrics: Object.fromEntries(
				props.deadLetterQueues.map((q, i) => [
					`dlq${i}`,
					q.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: "Maximum" }),
				]),
			),
		});
		const specs: Record<Exclude<AlertName, "oms_host_threshold">, AlarmSpec> = {
			oms_migration_failed: {
				metric: insights("SUM", "MigrationFailed", "Migration steps failed"),
				threshold: 0,
				description: "A migration project stopped with a ticket",
			},
			oms_migration_delay: {
				metric: insights("MAX", "ReplicationLatencySeconds", "Replication latency (s), worst project"),
				threshold: 60,
				minutes: 5,
				description: "Migration delay: replication is more than 60 s behind the source for 5 minutes",
			},
			oms_sync_failed: {
				metric: insights("SUM", "SyncFailed", "Synchronization steps failed"),
				threshold: 0,
				description: "A synchronization project stopped with a ticket",
			},
			oms_sync_delay: {
				metric: insights("MAX", "SyncLatencySeconds", "Synchronization latency (s), worst project"),
				threshold: 60,
				minutes: 5,
				description: "Synchronization delay: more than 60 s behind the source for 5 minutes",
			},
			oms_sync_status_inconsistent: {
				metric: insights("SUM", "ReplicationTaskUnwanted", "Replication tasks running though stopped"),
				threshold: 0,
				minutes: 3,
				description: "A replication task keeps running though its project stopped it (3 minutes in a row)",
			},
			oms_host_down: {
				metric: insights("MAX", "ReplicationHeartbeatAgeSeconds", "Replication heartbeat age (s), worst task"),
				threshold: 60,
				description: "A wanted replication task has not reported for more than 60 s",
			},
			ferry_verification_inconsistent: {
				metric: insights("SUM", "VerificationDifferences", "Rows a verification found different"),
				threshold: 0,
				description: "A verification run found differences",
			},
			ferry_chunk_stuck: {
				metric: deadLetters,
				threshold: 0,
				description: "Messages in a chunk dead-letter queue: chunks failed 5 times",
			},
		};
		for (const [name, spec] of Object.entries(specs) as Array<[AlertName, AlarmSpec]>) {
			this.add(name, spec.metric.createAlarm(this, name, this.alarmProps(prefix, name, spec)));
		}
		// two measures, one name: a composite alarm over one alarm per measure
		const parts = (["TaskMemoryPercent", "TaskCpuPercent"] as const).map((metric) =>
			insights("MAX", metric, `${metric}, worst task`).createAlarm(this, `oms_host_threshold_${metric}`, {
				alarmName: `${prefix}-oms_host_threshold-${metric}`,
				alarmDescription: `A replication task's ${metric} is over 90 for 5 minutes`,
				threshold: 90,
				comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
				evaluationPeriods: 5,
				datapointsToAlarm: 5,
				treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
			}),
		);
		const host = new cloudwatch.CompositeAlarm(this, "oms_host_threshold", {
			compositeAlarmName: `${prefix}-oms_host_threshold`,
			alarmDescription: "A replication task's memory or CPU use is over its threshold",
			alarmRule: cloudwatch.AlarmRule.anyOf(...parts),
		});
		this.add("oms_host_threshold", host);
		if (ALERT_NAMES.some((n) => !this.alarms.has(n))) throw new Error("every alert name needs its alarm");

		new events.Rule(this, "AlarmChanges", {
			description: "Records the alert alarms' state changes in Ferry's alert history",
			eventPattern: {
				source: ["aws.cloudwatch"],
				detailType: ["CloudWatch Alarm State Change"],
				detail: { alarmName: [{ prefix: `${prefix}-` }] },
			},
			targets: [new targets.LambdaFunction(props.recorder, { retryAttempts: 4, maxEventAge: Duration.hours(1) })],
		});
	}

	/** A topic CloudWatch may publish to, encrypted with a customer-managed key CloudWatch may use. */
	private ownTopic(encryptionKey: kms.IKey | undefined): sns.Topic {
		const key =
			encryptionKey ??
			new kms.Key(this, "TopicKey", {
				description: "Encrypts the Ferry alert topic",
				enableKeyRotation: true,
			});
		// A no-op on a key imported by ARN: its policy must grant CloudWatch these (docs/deploy.md).
		key.addToResourcePolicy(
			new iam.PolicyStatement({
				principals: [new iam.ServicePrincipal("cloudwatch.amazonaws.com")],
				actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
				resources: ["*"],
			}),
		);
		const topic = new sns.Topic(this, "Topic", {
			displayName: "Ferry alerts",
			masterKey: key,
			enforceSSL: true,
		});
		topic.addToResourcePolicy(
			new iam.PolicyStatement({
				principals: [new iam.ServicePrincipal("cloudwatch.amazonaws.com")],
				actions: ["sns:Publish"],
				resources: [topic.topicArn],
				conditions: { StringEquals: { "aws:SourceAccount": Stack.of(this).account } },
			}),
		);
		return topic;
	}

	private alarmProps(prefix: string, name: AlertName, spec: AlarmSpec): cloudwatch.CreateAlarmOptions {
		return {
			alarmName: `${prefix}-${name}`,
			alarmDescription: spec.description,
			threshold: spec.threshold,
			comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
			evaluationPeriods: spec.minutes ?? 1,
			datapointsToAlarm: spec.minutes ?? 1,
			treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
		};
	}

	private add(name: AlertName, alarm: cloudwatch.AlarmBase): void {
		alarm.addAlarmAction(new actions.SnsAction(this.topic));
		alarm.addOkAction(new actions.SnsAction(this.topic));
		this.alarms.set(name, alarm);
	}
}
