import { DescribeTasksCommand, ListTasksCommand, RunTaskCommand, StopTaskCommand } from "@aws-sdk/client-ecs";
import { describe, expect, it } from "vitest";
import { EcsTaskLauncher } from "../../shared/aws/ecs-launcher.ts";

/** ECS RunTask cannot run here: a recorded fake answers the way ECS does and records each call. */
function recordedEcs(answers: Record<string, unknown>) {
	const calls: { name: string; input: Record<string, unknown> }[] = [];
	return {
		calls,
		client: {
			send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
				calls.push({ name: command.constructor.name, input: command.input });
				return answers[command.constructor.name] ?? {};
			},
		},
	};
}

const settings = {
	cluster: "arn:aws:ecs:eu-west-1:111122223333:cluster/ferry",
	taskDefinition: "arn:aws:ecs:eu-west-1:111122223333:task-definition/ferry-capture-replay:3",
	container: "capture-replay",
	subnets: ["subnet-a", "subnet-b"],
	securityGroups: ["sg-1", "sg-2"],
};

describe("the ECS task launcher (recorded fake ECS client)", () => {
	it("starts one Fargate task per project in private subnets, naming the project", async () => {
		const ecs = recordedEcs({ RunTaskCommand: { tasks: [{ taskArn: "arn:task/1" }], failures: [] } });
		await new EcsTaskLauncher(ecs.client as never, settings).start("pr-1234");
		expect(ecs.calls).toHaveLength(1);
		const run = ecs.calls[0];
		expect(run?.name).toBe(RunTaskCommand.name);
		expect(run?.input).toMatchObject({
			cluster: settings.cluster,
			taskDefinition: settings.taskDefinition,
			launchType: "FARGATE",
			startedBy: "ferry-pr-1234",
			networkConfiguration: {
				awsvpcConfiguration: {
					subnets: ["subnet-a", "subnet-b"],
					securityGroups: ["sg-1", "sg-2"],
					assignPublicIp: "DISABLED",
				},
			},
			overrides: {
				containerOverrides: [
					{ name: "capture-replay", environment: [{ name: "FERRY_REPLICATION_ID", value: "pr-1234" }] },
				],
			},
			tags: [
				{ key: "ferry:project", value: "pr-1234" },
				{ key: "ferry:replication", value: "pr-1234" },
			],
		});
	});

	it("keeps a project's reverse replication task apart from its forward one", async () => {
		const ecs = recordedEcs({ RunTaskCommand: { tasks: [{ taskArn: "arn:task/2" }], failures: [] } });
		await new EcsTaskLauncher(ecs.client as never, settings).start("pr-1a2b3c4d.reverse");
		expect(ecs.calls[0]?.input).toMatchObject({
			startedBy: "ferry-pr-1a2b3c4d.reverse",
			overrides: {
				containerOverrides: [
					{ name: "capture-replay", environment: [{ name: "FERRY_REPLICATION_ID", value: "pr-1a2b3c4d.reverse" }] },
				],
			},
			tags: [
				{ key: "ferry:project", value: "pr-1a2b3c4d" },
				{ key: "ferry:replication", value: "pr-1a2b3c4d.reverse" },
			],
		});
		const list = recordedEcs({ ListTasksCommand: { taskArns: [] } });
		await new EcsTaskLauncher(list.client as never, settings).running("pr-1a2b3c4d");
		expect(list.calls[0]?.input).toMatchObject({ startedBy: "ferry-pr-1a2b3c4d" });
	});

	it("reports an ECS refusal with its reason", async () => {
		const ecs = recordedEcs({
			RunTaskCommand: { tasks: [], failures: [{ reason: "RESOURCE:MEMORY", detail: "no capacity" }] },
		});
		await expect(new EcsTaskLauncher(ecs.client as never, settings).start("pr-1")).rejects.toThrow(
			/RESOURCE:MEMORY no capacity/,
		);
	});

	it("sees a running task, ignores a stopping one, and stops tasks of a project", async () => {
		const running = recordedEcs({
			ListTasksCommand: { taskArns: ["arn:task/1"] },
			DescribeTasksCommand: { tasks: [{ lastStatus: "RUNNING", desiredStatus: "RUNNING" }] },
		});
		expect(await new EcsTaskLauncher(running.client as never, settings).running("pr-1")).toBe(true);
		expect(running.calls.map((c) => c.name)).toEqual([ListTasksCommand.name, DescribeTasksCommand.name]);
		expect(running.calls[0]?.input).toMatchObject({ startedBy: "ferry-pr-1", desiredStatus: "RUNNING" });

		const stopping = recordedEcs({
			ListTasksCommand: { taskArns: ["arn:task/1"] },
			DescribeTasksCommand: { tasks: [{ lastStatus: "RUNNING", desiredStatus: "STOPPED" }] },
		});
		expect(await new EcsTaskLauncher(stopping.client as never, settings).running("pr-1")).toBe(false);

		const none = recordedEcs({ ListTasksCommand: { taskArns: [] } });
		expect(await new EcsTaskLauncher(none.client as never, settings).running("pr-1")).toBe(false);

		const stop = recordedEcs({ ListTasksCommand: { taskArns: ["arn:task/1", "arn:task/2"] } });
		await new EcsTaskLauncher(stop.client as never, settings).stop("pr-1");
		expect(stop.calls.filter((c) => c.name === StopTaskCommand.name).map((c) => c.input.task)).toEqual([
			"arn:task/1",
			"arn:task/2",
		]);
	});
});
