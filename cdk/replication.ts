import { join } from "node:path";
import { Aws, Duration, Stack, Stage } from "aws-cdk-lib";
import type * as ec2 from "aws-cdk-lib/aws-ec2";
import * as ecr from "aws-cdk-lib/aws-ecr";
import * as ecs from "aws-cdk-lib/aws-ecs";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct, type IConstruct } from "constructs";
import { METRICS_NAMESPACE } from "./config.ts";
import { acknowledge, acknowledgeWildcardResource } from "./nag.ts";
import { replicationTaskImage } from "./task-image.ts";

export const CAPTURE_REPLAY_CONTAINER = "capture-replay";

/** `<account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:tag|@digest]` */
const ECR_IMAGE = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.(amazonaws\.com(?:\.cn)?)\/([^:@]+)(?:[:@].*)?$/;

export interface ReplicationTasksProps {
	readonly vpc: ec2.IVpc;
	/** An image URI to run; absent, the image is built from this repository (cdk/task-image.ts). */
	readonly image?: string;
	readonly sourceRoot: string;
	readonly environment: Record<string, string>;
	/** Fargate vCPU units (1024 = 1 vCPU) and memory (MiB) of the task; a valid Fargate pair. */
	readonly cpu: number;
	readonly memoryLimitMiB: number;
	/** Encrypts the task's log group. */
	readonly encryptionKey?: kms.IKey;
}

/**
 * The Fargate cluster and the long-running `capture-replay` task (binlog capture and incremental replay)
 * that the scheduler launches with ecs:RunTask.
 */
export class ReplicationTasks extends Construct {
	readonly cluster: ecs.Cluster;
	readonly taskDefinition: ecs.FargateTaskDefinition;
	readonly logGroup: logs.LogGroup;

	constructor(scope: Construct, id: string, props: ReplicationTasksProps) {
		super(scope, id);
		this.cluster = new ecs.Cluster(this, "Cluster", {
			vpc: props.vpc,
			containerInsightsV2: ecs.ContainerInsights.ENABLED,
		});
		this.logGroup = new logs.LogGroup(this, "Logs", {
			retention: logs.RetentionDays.ONE_MONTH,
			encryptionKey: props.encryptionKey,
		});
		this.taskDefinition = new ecs.FargateTaskDefinition(this, "CaptureReplay", {
			cpu: props.cpu,
			memoryLimitMiB: props.memoryLimitMiB,
			runtimePlatform: {
				cpuArchitecture: ecs.CpuArchitecture.ARM64,
				operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
			},
		});
		this.taskDefinition.addContainer("Container", {
			containerName: CAPTURE_REPLAY_CONTAINER,
			image: props.image
				? ecs.ContainerImage.fromRegistry(props.image)
				: replicationTaskImage(
						props.sourceRoot,
						join(Stage.of(this)?.outdir ?? "cdk.out", "capture-replay-image"),
						Stack.of(this).bundlingRequired,
					),
			environment: props.environment,
			logging: ecs.LogDrivers.awsLogs({
				logGroup: this.logGroup,
				streamPrefix: "capture-replay",
			}),
			essential: true,
			// Fargate's maximum: time to flush the last checkpoint after SIGTERM.
			stopTimeout: Duration.seconds(120),
		});
		if (props.image) this.grantPrivateEcrPull(props.image);
		if (!props.image || ECR_IMAGE.test(props.image)) {
			acknowledge(
				this.taskDefinition.obtainExecutionRole(),
				"AwsSolutions-IAM5[Resource::*]",
				"ecr:GetAuthorizationToken supports no resource ARNs; image pulls are limited to the task's repository.",
			);
		}
		// Replication latency and throughput go to CloudWatch; PutMetricData has no resource-level
		// permissions, so the namespace condition is the scope.
		this.taskDefinition.taskRole.addToPrincipalPolicy(
			new iam.PolicyStatement({
				actions: ["cloudwatch:PutMetricData"],
				resources: ["*"],
				conditions: {
					StringEquals: { "cloudwatch:namespace": METRICS_NAMESPACE },
				},
			}),
		);
		acknowledge(
			this.taskDefinition.taskRole,
			"AwsSolutions-IAM5[Resource::*]",
			"cloudwatch:PutMetricData supports no resource ARNs; it is limited to the Ferry namespace by condition.",
		);
		acknowledge(
			this.taskDefinition,
			"AwsSolutions-ECS2",
			"The environment holds only resource names (table, queue URLs, secret prefix, metric namespace); passwords are read from Secrets Manager at run time.",
		);
	}

	/**
	 * fromRegistry does not grant image pulls (fromAsset does); for a private ECR image URI, let the
	 * execution role pull from that one repository.
	 */
	private grantPrivateEcrPull(image: string): void {
		const m = ECR_IMAGE.exec(image);
		if (!m) return;
		const [, account, region, suffix, name] = m as unknown as [string, string, string, string, string];
		const partition = suffix.endsWith(".cn") ? "aws-cn" : "aws";
		const repository = ecr.Repository.fromRepositoryAttributes(this, "ImageRepository", {
			repositoryArn: `arn:${partition}:ecr:${region}:${account}:repository/${name}`,
			repositoryName: name,
		});
		repository.grantPull(this.taskDefinition.obtainExecutionRole());
	}

	/** Lets a launcher (the scheduler) run the task in this cluster, watch and stop it, and pass its roles. */
	grantLaunch(launcher: iam.IGrantable & IConstruct): void {
		const td = this.taskDefinition;
		const principal = launcher.grantPrincipal;
		principal.addToPrincipalPolicy(
			new iam.PolicyStatement({
				actions: ["ecs:RunTask"],
				resources: [td.taskDefinitionArn],
				conditions: { ArnEquals: { "ecs:cluster": this.cluster.clusterArn } },
			}),
		);
		const tasksInCluster = `arn:${Aws.PARTITION}:ecs:${Aws.REGION}:${Aws.ACCOUNT_ID}:task/${this.cluster.clusterName}/*`;
		principal.addToPrincipalPolicy(
			new iam.PolicyStatement({
				actions: ["ecs:DescribeTasks", "ecs:StopTask", "ecs:TagResource"],
				resources: [tasksInCluster],
			}),
		);
		const roles = [td.taskRole.roleArn];
		if (td.executionRole) roles.push(td.executionRole.roleArn);
		principal.addToPrincipalPolicy(
			new iam.PolicyStatement({
				actions: ["iam:PassRole"],
				resources: roles,
				conditions: {
					StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" },
				},
			}),
		);
		acknowledgeWildcardResource(
			launcher,
			tasksInCluster,
			"Task ARNs are only known after RunTask; the wildcard is limited to tasks of the Ferry cluster.",
		);
	}
}
