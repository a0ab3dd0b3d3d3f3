import {
	DescribeTasksCommand,
	ECSClient,
	ListTasksCommand,
	RunTaskCommand,
	StopTaskCommand,
} from "@aws-sdk/client-ecs";
import type { TaskLauncher } from "../ports.ts";
import { parseReplicationId } from "../replication/ids.ts";

export interface EcsTaskSettings {
	cluster: string;
	taskDefinition: string;
	container: string;
	subnets: string[];
	securityGroups: string[];
}

/**
 * The task's `startedBy` marks which stream it serves. ECS allows 36 characters:
 * `ferry-pr-xxxxxxxx.reverse` is 25, so forward and reverse stay apart.
 */
const startedBy = (replicationId: string) => {
	const value = `ferry-${replicationId}`;
	if (value.length > 36) throw new Error(`replication id '${replicationId}' is too long for an ECS startedBy`);
	return value;
};

type EcsSender = Pick<ECSClient, "send">;

export class EcsTaskLauncher implements TaskLauncher {
	constructor(
		private readonly ecs: EcsSender,
		private readonly settings: EcsTaskSettings,
	) {}

	async start(replicationId: string): Promise<void> {
		const out = await this.ecs.send(
			new RunTaskCommand({
				cluster: this.settings.cluster,
				taskDefinition: this.settings.taskDefinition,
				launchType: "FARGATE",
				count: 1,
				startedBy: startedBy(replicationId),
				networkConfiguration: {
					awsvpcConfiguration: {
						subnets: this.settings.subnets,
						securityGroups: this.settings.securityGroups,
						assignPublicIp: "DISABLED",
					},
				},
				overrides: {
					containerOverrides: [
						{
							name: this.settings.container,
							environment: [{ name: "FERRY_REPLICATION_ID", value: replicationId }],
						},
					],
				},
				tags: [
					{ key: "ferry:project", value: parseReplicationId(replicationId).projectId },
					{ key: "ferry:replication", value: replicationId },
				],
			}),
		);
		const failure = out.failures?.[0];
		if (failure)
			throw new Error(
				`ECS could not start the replication task of ${replicationId}: ${failure.reason} ${failure.detail ?? ""}`,
			);
	}

	private async taskArns(replicationId: string): Promise<string[]> {
		const out = await this.ecs.send(
			new ListTasksCommand({
				cluster: this.settings.cluster,
				startedBy: startedBy(replicationId),
				desiredStatus: "RUNNING",
			}),
		);
		return out.taskArns ?? [];
	}

	async running(replicationId: string): Promise<boolean> {
		const arns = await this.taskArns(replicationId);
		if (arns.length === 0) return false;
		const out = await this.ecs.send(new DescribeTasksCommand({ cluster: this.settings.cluster, tasks: arns }));
		return (out.tasks ?? []).some((t) => t.lastStatus !== "STOPPED" && t.desiredStatus !== "STOPPED");
	}

	async stop(replicationId: string): Promise<void> {
		for (const task of await this.taskArns(replicationId)) {
			await this.ecs.send(
				new StopTaskCommand({ cluster: this.settings.cluster, task, reason: "Ferry project paused or released" }),
			);
		}
	}
}

export function ecsLauncherFromEnv(): TaskLauncher | undefined {
	const cluster = process.env.FERRY_CLUSTER_ARN;
	if (!cluster) return undefined;
	return new EcsTaskLauncher(new ECSClient({ region: process.env.AWS_REGION }), {
		cluster,
		taskDefinition: process.env.FERRY_TASK_DEFINITION_ARN ?? "",
		container: process.env.FERRY_TASK_CONTAINER ?? "",
		subnets: (process.env.FERRY_TASK_SUBNETS ?? "").split(",").filter(Boolean),
		securityGroups: (process.env.FERRY_TASK_SECURITY_GROUPS ?? "").split(",").filter(Boolean),
	});
}
