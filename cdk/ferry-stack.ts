import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Aws, CfnOutput, Duration, Stack, type StackProps } from "aws-cdk-lib";
import * as cloudwatchActions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import type { Construct } from "constructs";
import { FerryAlarms } from "./alarms.ts";
import { AlertAlarms } from "./alert-alarms.ts";
import { FerryApi } from "./api.ts";
import { METRICS_NAMESPACE, readConfig, SECRET_PREFIX, SERVICE_NAME, type WorkerConfig } from "./config.ts";
import { FerryConsole } from "./console.ts";
import { FerryFunction, type FerryFunctionProps, TIMEOUTS } from "./functions.ts";
import { acknowledge, acknowledgeWildcardResource } from "./nag.ts";
import { Network } from "./network.ts";
import { ChunkQueue } from "./queues.ts";
import { CAPTURE_REPLAY_CONTAINER, ReplicationTasks } from "./replication.ts";
import { StateTable } from "./state.ts";

const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Actions the api function may take on data-source secrets. */
export const SECRET_ADMIN_ACTIONS = [
	"secretsmanager:CreateSecret",
	"secretsmanager:PutSecretValue",
	"secretsmanager:UpdateSecret",
	"secretsmanager:DeleteSecret",
	"secretsmanager:DescribeSecret",
	"secretsmanager:TagResource",
];

export interface FerryStackProps extends StackProps {
	/**
	 * Directory with package-lock.json and the functions/ entries; defaults to the repo root.
	 * Template tests point it at stub entries.
	 */
	readonly sourceRoot?: string;
	/** The built web console (default console/dist; cdk/app.ts builds it when missing). */
	readonly consoleDir?: string;
}

/** Ferry on AWS: API, web console, scheduler, copy worker, replication tasks, state table, copy-chunks queue and alarms. */
export class FerryStack extends Stack {
	constructor(scope: Construct, id: string, props: FerryStackProps = {}) {
		super(scope, id, props);
		const config = readConfig(this.node);
		const sourceRoot = props.sourceRoot ?? REPO_ROOT;

		const network = new Network(this, "Network", { imported: config.vpc });
		const state = new StateTable(this, "State");
		const copyChunks = new ChunkQueue(this, "CopyChunks", {
			consumerTimeout: TIMEOUTS.worker,
		});
		const verifyChunks = new ChunkQueue(this, "VerifyChunks", {
			consumerTimeout: TIMEOUTS.worker,
		});

		// Secret ARNs end in a random 6-character suffix, so a prefix wildcard is the narrowest scope.
		// Pseudo parameters keep the ARN (and the cdk-nag finding id) the same in every environment.
		const secretsArn = `arn:${Aws.PARTITION}:secretsmanager:${Aws.REGION}:${Aws.ACCOUNT_ID}:secret:${SECRET_PREFIX}*`;
		const environment: Record<string, string> = {
			FERRY_STATE_TABLE: state.table.tableName,
			FERRY_COPY_QUEUE_URL: copyChunks.queue.queueUrl,
			FERRY_VERIFY_QUEUE_URL: verifyChunks.queue.queueUrl,
			FERRY_SECRET_PREFIX: SECRET_PREFIX,
			POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
			POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
		};

		const replication = new ReplicationTasks(this, "Replication", {
			vpc: network.vpc,
			image: config.taskImage,
			sourceRoot,
			environment,
		});

		const fnCommon = {
			sourceRoot,
			vpc: network.vpc,
			subnets: network.subnets,
			securityGroup: network.securityGroup,
		};
		const api = new FerryFunction(this, "ApiFn", {
			...fnCommon,
			entry: "functions/api/handler.ts",
			description: "Ferry API: projects, data sources, tickets",
			timeout: TIMEOUTS.api,
			memorySize: 512,
			environment: config.iamRoles ? { ...environment, FERRY_IAM_ROLES: config.iamRoles } : environment,
		});
		const scheduler = new FerryFunction(this, "SchedulerFn", {
			...fnCommon,
			entry: "functions/scheduler/handler.ts",
			description: "Ferry scheduler: advances project state machines, enqueues chunks, launches tasks",
			timeout: TIMEOUTS.scheduler,
			memorySize: 512,
			environment: {
				...environment,
				FERRY_CLUSTER_ARN: replication.cluster.clusterArn,
				FERRY_TASK_DEFINITION_ARN: replication.taskDefinition.taskDefinitionArn,
				FERRY_TASK_CONTAINER: CAPTURE_REPLAY_CONTAINER,
				FERRY_TASK_SUBNETS: network.vpc.selectSubnets(network.subnets).subnetIds.join(","),
				FERRY_TASK_SECURITY_GROUP: network.securityGroup.securityGroupId,
			},
		});
		const copyWorker = this.worker("CopyWorkerFn", {
			...fnCommon,
			entry: "functions/chunk-worker/handler.ts",
			description: "Ferry copy worker: copies one chunk of a full migration",
			environment,
			queue: copyChunks,
			config: config.copyWorker,
		});
		// the same handler: a chunk message says whether it is a copy or a verification
		const verifyWorker = this.worker("VerifyWorkerFn", {
			...fnCommon,
			entry: "functions/chunk-worker/handler.ts",
			description: "Ferry verify worker: checksums one chunk on both sides and narrows differences to rows",
			environment,
			queue: verifyChunks,
			config: config.verifyWorker,
		});

		// Data access.
		for (const fn of [api, scheduler, copyWorker, verifyWorker]) state.table.grantReadWriteData(fn.role);
		state.table.grantReadWriteData(replication.taskDefinition.taskRole);
		copyChunks.queue.grantSendMessages(scheduler.role);
		verifyChunks.queue.grantSendMessages(scheduler.role);
		// A worker that finishes a chunk queues the next ones itself.
		copyChunks.queue.grantSendMessages(copyWorker.role);
		verifyChunks.queue.grantSendMessages(verifyWorker.role);
		replication.grantLaunch(scheduler.role);
		// The operations API: queue depths and dead letters (the components list), the metrics history.
		for (const q of [copyChunks, verifyChunks]) {
			for (const queue of [q.queue, q.deadLetterQueue])
				queue.grant(api.role, "sqs:GetQueueAttributes", "sqs:GetQueueUrl");
		}
		api.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ["cloudwatch:GetMetricData"], resources: ["*"] }));
		acknowledgeWildcardResource(
			api.role,
			"*",
			"cloudwatch:GetMetricData supports no resource-level permissions: the metrics history reads Ferry's namespace with it",
		);

		// Data-source secrets: the API manages them, everything else only reads them.
		const secretReason =
			"Data-source secrets are created at run time as ferry/datasources/<id>; the grant covers that prefix only (secret ARNs also end in a random suffix).";
		api.role.addToPrincipalPolicy(
			new iam.PolicyStatement({
				actions: SECRET_ADMIN_ACTIONS,
				resources: [secretsArn],
			}),
		);
		acknowledgeWildcardResource(api.role, secretsArn, secretReason);
		for (const reader of [scheduler.role, copyWorker.role, verifyWorker.role, replication.taskDefinition.taskRole]) {
			reader.addToPrincipalPolicy(
				new iam.PolicyStatement({
					actions: ["secretsmanager:GetSecretValue"],
					resources: [secretsArn],
				}),
			);
			acknowledgeWildcardResource(reader, secretsArn, secretReason);
		}

		// Entry points.
		const ferryApi = new FerryApi(this, "Api", { handler: api.fn });
		new FerryConsole(this, "Console", {
			handler: api.fn,
			distDir: props.consoleDir ?? join(REPO_ROOT, "console", "dist"),
			domainPrefix: this.node.tryGetContext("consoleDomainPrefix"),
		});
		new events.Rule(this, "SchedulerTick", {
			description: "Runs the Ferry scheduler every minute",
			schedule: events.Schedule.rate(Duration.minutes(1)),
			targets: [
				new targets.LambdaFunction(scheduler.fn, {
					retryAttempts: 0,
					maxEventAge: Duration.minutes(1),
				}),
			],
		});

		const alerts = new AlertAlarms(this, "AlertAlarms", {
			deadLetterQueues: [copyChunks.deadLetterQueue, verifyChunks.deadLetterQueue],
			recorder: scheduler.fn,
		});
		// the scheduler's own alert notifications go to the same topic as the alarms'
		alerts.topic.grantPublish(scheduler.role);
		acknowledge(
			scheduler.role,
			"AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
			"Publishing to the KMS-encrypted alert topic needs GenerateDataKey on its key; the grant names that key only.",
		);
		scheduler.fn.addEnvironment("FERRY_ALERT_TOPIC_ARN", alerts.topic.topicArn);

		const other = new FerryAlarms(this, "Alarms", {
			deadLetterQueues: {
				CopyChunks: copyChunks.deadLetterQueue,
				VerifyChunks: verifyChunks.deadLetterQueue,
			},
			functions: {
				Api: api.fn,
				Scheduler: scheduler.fn,
				CopyWorker: copyWorker.fn,
				VerifyWorker: verifyWorker.fn,
			},
		});

		for (const alarm of other.alarms) alarm.addAlarmAction(new cloudwatchActions.SnsAction(alerts.topic));

		new CfnOutput(this, "AlertTopicArn", { value: alerts.topic.topicArn });
		new CfnOutput(this, "ApiUrl", { value: ferryApi.api.url });
		new CfnOutput(this, "StateTableName", { value: state.table.tableName });
		new CfnOutput(this, "ClusterArn", {
			value: replication.cluster.clusterArn,
		});
	}

	private worker(
		id: string,
		props: Omit<FerryFunctionProps, "timeout" | "memorySize" | "reservedConcurrency"> & {
			queue: ChunkQueue;
			config: WorkerConfig;
		},
	): FerryFunction {
		const { queue, config, ...fnProps } = props;
		const worker = new FerryFunction(this, id, {
			...fnProps,
			timeout: TIMEOUTS.worker,
			memorySize: 1024,
			reservedConcurrency: config.reservedConcurrency,
		});
		worker.fn.addEventSource(
			new SqsEventSource(queue.queue, {
				batchSize: config.batchSize,
				maxConcurrency: config.maxConcurrency,
				reportBatchItemFailures: true,
			}),
		);
		return worker;
	}
}
