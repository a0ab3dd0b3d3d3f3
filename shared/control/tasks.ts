import {
	DescribeTasksCommand,
	ECSClient,
	ListTasksCommand,
	RunTaskCommand,
	StopTaskCommand,
} from "@aws-sdk/client-ecs";

/**
 * Starts and watches the long-running replication task of a project (binlog capture and
 * replay). In AWS it is an ECS Fargate task; in local mode a child process. Starting twice is
 * safe: the task takes a lease in the state table and a second one exits.
 */
export interface TaskLauncher {
	start(projectId: string): Promise<void>;
	/** Whether a task for the project is starting or running. */
	running(projectId: string): Promise<boolean>;
	stop(projectId: string): Promise<void>;
}

export interface EcsTaskSettings {
	cluster: string;
	taskDefinition: string;
	container: string;
	subnets: string[];
	securityGroup: string;
}

/** The task's `startedBy` marks which project it serves (ECS allows 36 characters). */
const startedBy = (projectId: string) => `ferry-${projectId}`.slice(0, 36);

type EcsSender = Pick<ECSClient, "send">;

export class EcsTaskLauncher implements TaskLauncher {
	constructor(
		private readonly ecs: EcsSender,
		private readonly settings: EcsTaskSettings,
	) {}

	async start(projectId: string): Promise<void> {
		const out = await this.ecs.send(
			new RunTaskCommand({
				cluster: this.settings.cluster,
				taskDefinition: this.settings.taskDefinition,
				launchType: "FARGATE",
				count: 1,
				startedBy: startedBy(projectId),
				networkConfiguration: {
					awsvpcConfiguration: {
						subnets: this.settings.subnets,
						securityGroups: [this.settings.securityGroup],
						assignPublicIp: "DISABLED",
					},
				},
				overrides: {
					containerOverrides: [
						{ name: this.settings.container, environment: [{ name: "FERRY_PROJECT_ID", value: projectId }] },
					],
				},
				tags: [{ key: "ferry:project", value: projectId }],
			}),
		);
		const failure = out.failures?.[0];
		if (failure)
			throw new Error(
				`ECS could not start the replication task of ${projectId}: ${failure.reason} ${failure.detail ?? ""}`,
			);
	}

	private async taskArns(projectId: string): Promise<string[]> {
		const out = await this.ecs.send(
			new ListTasksCommand({
				cluster: this.settings.cluster,
				startedBy: startedBy(projectId),
				desiredStatus: "RUNNING",
			}),
		);
		return out.taskArns ?? [];
	}

	async running(projectId: string): Promise<boolean> {
		const arns = await this.taskArns(projectId);
		if (arns.length === 0) return false;
		const out = await this.ecs.send(new DescribeTasksCommand({ cluster: this.settings.cluster, tasks: arns }));
		return (out.tasks ?? []).some((t) => t.lastStatus !== "STOPPED" && t.desiredStatus !== "STOPPED");
	}

	async stop(projectId: string): Promise<void> {
		for (const task of await this.taskArns(projectId)) {
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
		securityGroup: process.env.FERRY_TASK_SECURITY_GROUP ?? "",
	});
}
