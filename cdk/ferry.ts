import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Aws, Duration, Stack } from "aws-cdk-lib";
import type * as apigw from "aws-cdk-lib/aws-apigateway";
import * as cloudwatchActions from "aws-cdk-lib/aws-cloudwatch-actions";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type * as ec2 from "aws-cdk-lib/aws-ec2";
import type * as ecs from "aws-cdk-lib/aws-ecs";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import type * as sns from "aws-cdk-lib/aws-sns";
import { Construct } from "constructs";
import type { PrincipalRoles } from "../shared/aws/api-caller.ts";
import { parsePrincipalRoles } from "../shared/aws/api-caller.ts";
import { FerryAlarms } from "./alarms.ts";
import { AlertAlarms } from "./alert-alarms.ts";
import { FerryApi } from "./api.ts";
import {
	METRICS_NAMESPACE,
	resolveTask,
	resolveWorker,
	SECRET_PREFIX,
	SERVICE_NAME,
	type TaskSizing,
	type WorkerConfig,
	type WorkerSizing,
} from "./config.ts";
import { FerryConsole } from "./console.ts";
import { allowLogsToUse, grantKeyAcknowledged } from "./encryption.ts";
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

export interface FerryProps {
	/**
	 * The VPC Ferry's functions and replication tasks run in, the one that reaches your databases.
	 * @default a VPC of its own: two zones, private subnets, flow logs, no NAT gateway while
	 * `vpcEndpoints` is on
	 */
	readonly vpc?: ec2.IVpc;
	/**
	 * Subnets of `vpc` for the functions, the tasks and the endpoints (one per zone at least).
	 * @default the VPC's private subnets with egress, or its isolated ones when it has none
	 */
	readonly subnets?: ec2.SubnetSelection;
	/**
	 * The security groups Ferry's functions and tasks carry: your databases' (and brokers') security
	 * groups let these in on their ports.
	 * @default one group, made here and exposed as `securityGroup`, all outbound, no inbound
	 */
	readonly securityGroups?: ec2.ISecurityGroup[];
	/**
	 * A customer-managed key for the state table, the chunk queues and their dead-letter queues,
	 * the alert topic (when Ferry makes it), every log group, and data-source secrets. Ferry's
	 * roles get the grants they need; for a key made in your app, its key policy also gets the
	 * CloudWatch Logs and CloudWatch statements; for a key imported by ARN, add those to its policy
	 * yourself (docs/deploy.md).
	 * @default AWS-owned or AWS-managed keys (SQS-managed, DynamoDB-owned), and a key of its own for
	 * the alert topic
	 */
	readonly encryptionKey?: kms.IKey;
	/**
	 * Where every alarm's ALARM and OK and the scheduler's alert notifications go.
	 * @default a topic of its own, KMS-encrypted, exposed as `alertTopic`
	 */
	readonly alarmTopic?: sns.ITopic;
	/** Sizing of the copy worker (full-migration chunks). */
	readonly copyWorker?: WorkerSizing;
	/** Sizing of the verify worker (checksum chunks). */
	readonly verifyWorker?: WorkerSizing;
	/** Sizing of the capture-replay Fargate task (one per running incremental project). */
	readonly replicationTask?: TaskSizing;
	/**
	 * A container image URI for the capture-replay task; an image in a private ECR repository gets
	 * its pull grant.
	 * @default built from this repository at deploy (needs Docker where `cdk deploy` runs)
	 */
	readonly taskImage?: string;
	/**
	 * Roles of IAM principals in the API: principal ARN (or `*` for the others) to admin, operator
	 * or viewer (shared/aws/api-caller.ts). IAM decides who may call; this decides what they may do.
	 * @default every IAM caller the API lets in is an admin
	 */
	readonly iamRoles?: PrincipalRoles;
	/**
	 * Interface endpoints for SQS, Secrets Manager, SNS, CloudWatch (metrics and logs), ECS and ECR,
	 * and gateway endpoints for DynamoDB and S3, so the VPC needs no NAT gateway to reach AWS
	 * (cdk/endpoints.ts lists why each one).
	 * @default true for the VPC Ferry makes; false with your `vpc`, which may have endpoints already
	 * (a second endpoint with private DNS for the same service fails the deploy)
	 */
	readonly vpcEndpoints?: boolean;
	/**
	 * NAT gateways of the VPC Ferry makes (with public subnets when above 0), for databases,
	 * brokers or alert webhooks on the internet. Ignored with your `vpc`.
	 * @default 0 with `vpcEndpoints`, else 1
	 */
	readonly natGateways?: number;
	/**
	 * Directory with package-lock.json and the functions/ and tasks/ entries.
	 * @default this repository's root; template tests point it at stub entries
	 */
	readonly sourceRoot?: string;
	/**
	 * The web console: its files on S3 behind CloudFront, sign-in through a Cognito user pool
	 * (cdk/console.ts). `distDir` is the built console (console/build.ts), `domainPrefix` the
	 * managed login's domain prefix, unique in the region; `false` deploys no console.
	 * @default the repository's console/dist, domain prefix `ferry-<account>`
	 */
	readonly console?: { readonly distDir?: string; readonly domainPrefix?: string } | false;
}

/**
 * Ferry on AWS: the API, the scheduler, the copy and verify workers, the capture-replay tasks, the
 * state table, the chunk queues, the alarms and their topic. Add it to any stack; the fields
 * below are what you wire to the rest of your app.
 */
export class Ferry extends Construct {
	readonly vpc: ec2.IVpc;
	/** The groups Ferry's workloads carry: let them into your databases. */
	readonly securityGroups: ec2.ISecurityGroup[];
	/** The group Ferry made when none was given. */
	readonly securityGroup?: ec2.SecurityGroup;
	readonly api: apigw.RestApi;
	/** Base URL of the API's stage, for `ferry --api`. */
	readonly apiUrl: string;
	readonly stateTable: dynamodb.Table;
	/** Receives alarms and alert notifications. */
	readonly alertTopic: sns.ITopic;
	readonly cluster: ecs.Cluster;
	/** Attach to principals that may run projects (execute-api:Invoke on every method). */
	readonly runProjectsPolicy: iam.ManagedPolicy;
	/** Attach to principals that may only read (execute-api:Invoke on GET). */
	readonly readOnlyPolicy: iam.ManagedPolicy;
	/** The web console, unless `console: false`. */
	readonly console?: FerryConsole;

	constructor(scope: Construct, id: string, props: FerryProps = {}) {
		super(scope, id);
		const sourceRoot = props.sourceRoot ?? REPO_ROOT;
		const key = props.encryptionKey;
		if (key) allowLogsToUse(key);
		const vpcEndpoints = props.vpcEndpoints ?? props.vpc === undefined;
		const iamRoles = props.iamRoles && parsePrincipalRoles(JSON.stringify(props.iamRoles));

		const network = new Network(this, "Network", {
			vpc: props.vpc,
			subnets: props.subnets,
			securityGroups: props.securityGroups,
			vpcEndpoints,
			natGateways: props.natGateways ?? (vpcEndpoints ? 0 : 1),
			encryptionKey: key,
		});
		this.vpc = network.vpc;
		this.securityGroups = network.securityGroups;
		this.securityGroup = network.securityGroup;

		const state = new StateTable(this, "State", key);
		this.stateTable = state.table;
		const copyChunks = new ChunkQueue(this, "CopyChunks", { consumerTimeout: TIMEOUTS.worker, encryptionKey: key });
		const verifyChunks = new ChunkQueue(this, "VerifyChunks", { consumerTimeout: TIMEOUTS.worker, encryptionKey: key });

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
			image: props.taskImage,
			sourceRoot,
			environment,
			...resolveTask(props.replicationTask),
			encryptionKey: key,
		});
		this.cluster = replication.cluster;

		const fnCommon = {
			sourceRoot,
			vpc: network.vpc,
			subnets: network.subnets,
			securityGroups: network.securityGroups,
			encryptionKey: key,
		};
		const api = new FerryFunction(this, "ApiFn", {
			...fnCommon,
			entry: "functions/api/handler.ts",
			description: "Ferry API: projects, data sources, tickets",
			timeout: TIMEOUTS.api,
			memorySize: 512,
			environment: {
				...environment,
				...(iamRoles && { FERRY_IAM_ROLES: JSON.stringify(iamRoles) }),
				...(key && { FERRY_SECRET_KMS_KEY_ID: key.keyArn }),
			},
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
				FERRY_TASK_SUBNETS: network.subnetIds(),
				FERRY_TASK_SECURITY_GROUPS: network.securityGroups.map((g) => g.securityGroupId).join(","),
			},
		});
		const copyWorker = this.worker("CopyWorkerFn", {
			...fnCommon,
			entry: "functions/chunk-worker/handler.ts",
			description: "Ferry copy worker: copies one chunk of a full migration",
			environment,
			queue: copyChunks,
			sizing: resolveWorker("copyWorker", props.copyWorker),
		});
		// the same handler: a chunk message says whether it is a copy or a verification
		const verifyWorker = this.worker("VerifyWorkerFn", {
			...fnCommon,
			entry: "functions/chunk-worker/handler.ts",
			description: "Ferry verify worker: checksums one chunk on both sides and narrows differences to rows",
			environment,
			queue: verifyChunks,
			sizing: resolveWorker("verifyWorker", props.verifyWorker),
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
		api.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: SECRET_ADMIN_ACTIONS, resources: [secretsArn] }));
		acknowledgeWildcardResource(api.role, secretsArn, secretReason);
		const readers = [scheduler.role, copyWorker.role, verifyWorker.role, replication.taskDefinition.taskRole];
		for (const reader of readers) {
			reader.addToPrincipalPolicy(
				new iam.PolicyStatement({ actions: ["secretsmanager:GetSecretValue"], resources: [secretsArn] }),
			);
			acknowledgeWildcardResource(reader, secretsArn, secretReason);
		}
		if (key) {
			// Secrets Manager encrypts a new secret's value with the caller's GenerateDataKey.
			key.grant(api.role, "kms:GenerateDataKey", "kms:Decrypt");
			for (const reader of readers) key.grantDecrypt(reader);
			for (const role of [api.role, ...readers]) grantKeyAcknowledged(role);
		}

		// Entry points.
		const ferryApi = new FerryApi(this, "Api", { handler: api.fn, encryptionKey: key });
		this.api = ferryApi.api;
		this.apiUrl = ferryApi.api.url;
		this.runProjectsPolicy = ferryApi.runProjectsPolicy;
		this.readOnlyPolicy = ferryApi.readOnlyPolicy;
		if (props.console !== false) {
			this.console = new FerryConsole(this, "Console", {
				handler: api.fn,
				distDir: props.console?.distDir ?? join(REPO_ROOT, "console", "dist"),
				domainPrefix: props.console?.domainPrefix,
				encryptionKey: key,
			});
		}
		new events.Rule(this, "SchedulerTick", {
			description: "Runs the Ferry scheduler every minute",
			schedule: events.Schedule.rate(Duration.minutes(1)),
			targets: [new targets.LambdaFunction(scheduler.fn, { retryAttempts: 0, maxEventAge: Duration.minutes(1) })],
		});

		// Alarms and alerts.
		const alerts = new AlertAlarms(this, "AlertAlarms", {
			deadLetterQueues: [copyChunks.deadLetterQueue, verifyChunks.deadLetterQueue],
			recorder: scheduler.fn,
			topic: props.alarmTopic,
			encryptionKey: key,
			namePrefix: this.alarmNamePrefix(),
		});
		this.alertTopic = alerts.topic;
		// the scheduler's own alert notifications go to the same topic as the alarms'
		alerts.topic.grantPublish(scheduler.role);
		acknowledge(
			scheduler.role,
			"AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
			"Publishing to the KMS-encrypted alert topic needs GenerateDataKey on its key; the grant names that key only.",
		);
		scheduler.fn.addEnvironment("FERRY_ALERT_TOPIC_ARN", alerts.topic.topicArn);
		const other = new FerryAlarms(this, "Alarms", {
			deadLetterQueues: { CopyChunks: copyChunks.deadLetterQueue, VerifyChunks: verifyChunks.deadLetterQueue },
			functions: {
				Api: api.fn,
				Scheduler: scheduler.fn,
				CopyWorker: copyWorker.fn,
				VerifyWorker: verifyWorker.fn,
			},
		});
		for (const alarm of other.alarms) alarm.addAlarmAction(new cloudwatchActions.SnsAction(alerts.topic));
	}

	/**
	 * `<stack>` for a Ferry placed as the stack's `Default` child (FerryStack), else `<stack>-<path>`,
	 * so two Ferry constructs in one stack never share an alarm name.
	 */
	private alarmNamePrefix(): string {
		const stack = Stack.of(this);
		const path = this.node.scopes
			.slice(stack.node.scopes.length)
			.map((c) => c.node.id)
			.filter((part) => part !== "Default");
		return [stack.stackName, ...path].join("-");
	}

	private worker(
		id: string,
		props: Omit<FerryFunctionProps, "timeout" | "memorySize" | "reservedConcurrency"> & {
			queue: ChunkQueue;
			sizing: WorkerConfig;
		},
	): FerryFunction {
		const { queue, sizing: config, ...fnProps } = props;
		const worker = new FerryFunction(this, id, {
			...fnProps,
			timeout: TIMEOUTS.worker,
			memorySize: config.memorySize,
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
