import { App, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { Queue } from "aws-cdk-lib/aws-sqs";
import { describe, expect, it } from "vitest";
import { addNagChecks } from "../../cdk/nag.ts";
import { makeStack } from "../support/cdk-stack.ts";

const { stack } = makeStack();
const template = Template.fromStack(stack);

type Statement = {
	Action: string | string[];
	Resource: unknown;
	Effect: string;
	Condition?: unknown;
};

/** Every inline IAM statement in the template, with the logical id of the policy holding it. */
function statements(): Array<Statement & { policy: string }> {
	const out: Array<Statement & { policy: string }> = [];
	for (const [id, policy] of Object.entries(template.findResources("AWS::IAM::Policy"))) {
		for (const s of policy.Properties.PolicyDocument.Statement as Statement[]) out.push({ ...s, policy: id });
	}
	for (const [id, role] of Object.entries(template.findResources("AWS::IAM::Role"))) {
		for (const p of (role.Properties.Policies ?? []) as Array<{
			PolicyDocument: { Statement: Statement[] };
		}>) {
			for (const s of p.PolicyDocument.Statement) out.push({ ...s, policy: id });
		}
	}
	return out;
}

const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);

/**
 * Runs the AwsSolutions pack the way cdk/app.ts does (a synth fails on any unacknowledged error), then
 * lists every remaining finding, warnings included.
 */
function nagFindings(context: Record<string, unknown> = {}): string[] {
	const { app } = makeStack(context);
	const pack = addNagChecks(app);
	app.synth();
	return pack
		.validateScope(app)
		.violations.map((v) => `${v.severity} ${v.ruleName} ${v.violatingResources.map((r) => r.constructPath).join(" ")}`);
}

const ECR_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ferry:1";

/** Logical id of the policy attached to the role of the function whose path contains `fnId`. */
function policyOfFunction(fnId: string): string {
	const policies = template.findResources("AWS::IAM::Policy");
	const match = Object.keys(policies).filter((id) => id.startsWith(`${fnId}Role`));
	expect(match, `policy of ${fnId}`).toHaveLength(1);
	return match[0] as string;
}

describe("FerryStack", () => {
	it("has the state table with pk/sk, on-demand, PITR, RETAIN and no TTL", () => {
		template.resourceCountIs("AWS::DynamoDB::Table", 1);
		template.hasResource("AWS::DynamoDB::Table", {
			DeletionPolicy: "Retain",
			UpdateReplacePolicy: "Retain",
			Properties: {
				KeySchema: [
					{ AttributeName: "pk", KeyType: "HASH" },
					{ AttributeName: "sk", KeyType: "RANGE" },
				],
				AttributeDefinitions: Match.arrayWith([
					{ AttributeName: "pk", AttributeType: "S" },
					{ AttributeName: "sk", AttributeType: "S" },
				]),
				BillingMode: "PAY_PER_REQUEST",
				PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
				TimeToLiveSpecification: Match.absent(),
			},
		});
	});

	it("has the copy-chunks and verify-chunks queues, each with an encrypted DLQ, maxReceiveCount 5 and a 6x visibility timeout", () => {
		const queues = template.findResources("AWS::SQS::Queue");
		const main = Object.entries(queues).filter(([, q]) => q.Properties.RedrivePolicy);
		expect(main.map(([id]) => id).sort()).toEqual([
			expect.stringMatching(/^CopyChunksQueue/),
			expect.stringMatching(/^VerifyChunksQueue/),
		]);
		// Each queue and its DLQ, nothing else.
		expect(Object.keys(queues)).toHaveLength(4);
		const workerTimeouts = Object.values(template.findResources("AWS::Lambda::Function"))
			.filter((f) => f.Properties.Description?.includes("worker"))
			.map((f) => f.Properties.Timeout as number);
		for (const [, q] of main) {
			expect(q.Properties.RedrivePolicy.maxReceiveCount).toBe(5);
			const dlqId = q.Properties.RedrivePolicy.deadLetterTargetArn["Fn::GetAtt"][0] as string;
			expect(queues[dlqId]?.Properties.SqsManagedSseEnabled).toBe(true);
			expect(q.Properties.SqsManagedSseEnabled).toBe(true);
			expect(q.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * Math.max(...workerTimeouts));
		}
		// enforceSSL: every queue has a deny-insecure-transport policy.
		const denies = Object.values(template.findResources("AWS::SQS::QueuePolicy")).filter((p) =>
			(p.Properties.PolicyDocument.Statement as Statement[]).some(
				(s) => s.Effect === "Deny" && JSON.stringify(s.Condition).includes("aws:SecureTransport"),
			),
		);
		expect(denies).toHaveLength(4);
	});

	it("feeds the copy and verify workers from their queues with partial batch failures", () => {
		template.resourceCountIs("AWS::Lambda::EventSourceMapping", 2);
		for (const [queue, fn] of [
			["^CopyChunksQueue", "^CopyWorkerFnFunction"],
			["^VerifyChunksQueue", "^VerifyWorkerFnFunction"],
		]) {
			template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
				EventSourceArn: { "Fn::GetAtt": [Match.stringLikeRegexp(queue as string), "Arn"] },
				FunctionName: { Ref: Match.stringLikeRegexp(fn as string) },
				FunctionResponseTypes: ["ReportBatchItemFailures"],
				BatchSize: 5,
				ScalingConfig: { MaximumConcurrency: 10 },
			});
		}
	});

	it("lets the scheduler send to both chunk queues and each worker to its own", () => {
		const all = statements();
		const sendsTo = (fnId: string) =>
			all
				.filter((s) => s.policy === policyOfFunction(fnId) && list(s.Action).includes("sqs:SendMessage"))
				.map((s) => {
					expect(s.Effect).toBe("Allow");
					return (s.Resource as { "Fn::GetAtt": string[] })["Fn::GetAtt"][0]?.replace(/Queue.*/, "");
				})
				.sort();
		expect(sendsTo("SchedulerFn")).toEqual(["CopyChunks", "VerifyChunks"]);
		expect(sendsTo("CopyWorkerFn")).toEqual(["CopyChunks"]);
		expect(sendsTo("VerifyWorkerFn")).toEqual(["VerifyChunks"]);
		// Only those three: the API does not enqueue chunks.
		const senders = new Set(all.filter((s) => list(s.Action).includes("sqs:SendMessage")).map((s) => s.policy));
		expect([...senders].sort()).toEqual(
			[policyOfFunction("CopyWorkerFn"), policyOfFunction("SchedulerFn"), policyOfFunction("VerifyWorkerFn")].sort(),
		);
	});

	it("takes worker batch size and concurrency from context", () => {
		const { stack: tuned } = makeStack({
			copyBatchSize: "10",
			copyReservedConcurrency: "4",
		});
		const t = Template.fromStack(tuned);
		t.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
			EventSourceArn: {
				"Fn::GetAtt": [Match.stringLikeRegexp("^CopyChunksQueue"), "Arn"],
			},
			BatchSize: 10,
			ScalingConfig: { MaximumConcurrency: 4 },
		});
		t.hasResourceProperties("AWS::Lambda::Function", {
			Description: Match.stringLikeRegexp("copy worker"),
			ReservedConcurrentExecutions: 4,
		});
		expect(() => makeStack({ copyBatchSize: 11 })).toThrow(/copyBatchSize/);
		expect(() => makeStack({ copyReservedConcurrency: 2, copyMaxConcurrency: 3 })).toThrow(/copyMaxConcurrency/);
	});

	it("takes memory, task size, endpoints and NAT gateways from context too", () => {
		const t = Template.fromStack(
			makeStack({ verifyMemorySize: "2048", taskCpu: 512, taskMemory: "4096", vpcEndpoints: "false", natGateways: "2" })
				.stack,
		);
		t.hasResourceProperties("AWS::Lambda::Function", {
			Description: Match.stringLikeRegexp("verify worker"),
			MemorySize: 2048,
		});
		t.hasResourceProperties("AWS::ECS::TaskDefinition", { Cpu: "512", Memory: "4096" });
		t.resourceCountIs("AWS::EC2::NatGateway", 2);
		expect(Object.values(t.findResources("AWS::EC2::VPCEndpoint")).map((e) => e.Properties.VpcEndpointType)).toEqual([
			"Gateway",
			"Gateway",
		]);
		expect(() => makeStack({ vpcEndpoints: "yes" })).toThrow(/vpcEndpoints must be true or false/);
		expect(() => makeStack({ taskCpu: 512, taskMemory: 8192 })).toThrow(/not offered with cpu 512/);
	});

	it("passes the IAM principals' roles to the api function only, and refuses a role Ferry does not have", () => {
		const roles = { "arn:aws:iam::123456789012:role/ferry-ops": "operator", "*": "viewer" };
		const t = Template.fromStack(makeStack({ iamRoles: roles }).stack);
		const fns = Object.values(t.findResources("AWS::Lambda::Function"));
		const withRoles = fns.filter((fn) => fn.Properties.Environment?.Variables?.FERRY_IAM_ROLES !== undefined);
		expect(withRoles.map((fn) => fn.Properties.Description)).toEqual([expect.stringMatching(/^Ferry API/)]);
		expect(JSON.parse(withRoles[0]?.Properties.Environment.Variables.FERRY_IAM_ROLES)).toEqual(roles);
		expect(() => makeStack({ iamRoles: JSON.stringify({ "*": "root" }) })).toThrow(/admin, operator or viewer/);
		const plain = Object.values(template.findResources("AWS::Lambda::Function"));
		expect(plain.some((fn) => fn.Properties.Environment?.Variables?.FERRY_IAM_ROLES)).toBe(false);
	});

	it("runs four Node.js 24 arm64 functions in the VPC with the shared environment", () => {
		// besides BucketDeployment's handler, which uploads the console at deploy time (test/cdk/console.test.ts)
		const fns = Object.values(template.findResources("AWS::Lambda::Function")).filter(
			(f) => f.Properties.Environment?.Variables?.FERRY_STATE_TABLE,
		);
		expect(fns).toHaveLength(4);
		for (const fn of fns) {
			expect(fn.Properties.Runtime).toBe("nodejs24.x");
			expect(fn.Properties.Architectures).toEqual(["arm64"]);
			expect(fn.Properties.Handler).toBe("index.handler");
			expect(fn.Properties.TracingConfig).toEqual({ Mode: "Active" });
			expect(fn.Properties.VpcConfig.SubnetIds).toHaveLength(2);
			expect(fn.Properties.VpcConfig.SecurityGroupIds).toHaveLength(1);
			const env = fn.Properties.Environment.Variables;
			for (const key of ["FERRY_STATE_TABLE", "FERRY_COPY_QUEUE_URL", "FERRY_VERIFY_QUEUE_URL"]) {
				expect(env[key], key).toBeDefined();
			}
			expect(env.FERRY_SECRET_PREFIX).toBe("ferry/datasources/");
			expect(env.POWERTOOLS_SERVICE_NAME).toBe("ferry");
			expect(env.POWERTOOLS_METRICS_NAMESPACE).toBe("Ferry");
		}
	});

	it("puts every API method behind AWS_IAM with a Lambda proxy, access logs and tracing", () => {
		// the CLI's API; the console's (ConsoleApi) takes Cognito tokens instead: test/cdk/console.test.ts
		const methods = Object.entries(template.findResources("AWS::ApiGateway::Method"))
			.filter(([id]) => !id.startsWith("Console"))
			.map(([, m]) => m);
		expect(methods.length).toBeGreaterThanOrEqual(2); // ANY on / and on {proxy+}
		for (const m of methods) {
			expect(m.Properties.AuthorizationType).toBe("AWS_IAM");
			expect(m.Properties.Integration.Type).toBe("AWS_PROXY");
		}
		template.hasResourceProperties("AWS::ApiGateway::Resource", {
			PathPart: "{proxy+}",
		});
		template.hasResourceProperties("AWS::ApiGateway::Stage", {
			TracingEnabled: true,
			AccessLogSetting: {
				DestinationArn: Match.anyValue(),
				Format: Match.anyValue(),
			},
		});
	});

	it("runs the scheduler every minute", () => {
		template.hasResourceProperties("AWS::Events::Rule", {
			ScheduleExpression: "rate(1 minute)",
			State: "ENABLED",
			Targets: [
				Match.objectLike({
					Arn: {
						"Fn::GetAtt": [Match.stringLikeRegexp("^SchedulerFnFunction"), "Arn"],
					},
				}),
			],
		});
	});

	it("defines the capture-replay Fargate task on a cluster with container insights", () => {
		template.hasResourceProperties("AWS::ECS::Cluster", {
			ClusterSettings: [{ Name: "containerInsights", Value: "enabled" }],
		});
		template.hasResourceProperties("AWS::ECS::TaskDefinition", {
			RequiresCompatibilities: ["FARGATE"],
			RuntimePlatform: {
				CpuArchitecture: "ARM64",
				OperatingSystemFamily: "LINUX",
			},
			ContainerDefinitions: [
				Match.objectLike({
					Name: "capture-replay",
					// built from this repository at deploy (an image asset in the bootstrap ECR repository)
					Image: { "Fn::Sub": Match.stringLikeRegexp("container-assets") },
					LogConfiguration: Match.objectLike({ LogDriver: "awslogs" }),
				}),
			],
		});
		const t = Template.fromStack(
			makeStack({
				taskImage: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ferry:1",
			}).stack,
		);
		t.hasResourceProperties("AWS::ECS::TaskDefinition", {
			ContainerDefinitions: [
				Match.objectLike({
					Image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ferry:1",
				}),
			],
		});
	});

	it("alarms on DLQs, function errors, replication latency, a blocked switchover and a stopped replication", () => {
		template.hasResourceProperties("AWS::CloudWatch::Alarm", {
			MetricName: "ApproximateNumberOfMessagesVisible",
			Namespace: "AWS/SQS",
			Dimensions: [
				{
					Name: "QueueName",
					Value: {
						"Fn::GetAtt": [Match.stringLikeRegexp("^CopyChunksDlq"), "QueueName"],
					},
				},
			],
			Threshold: 0,
			ComparisonOperator: "GreaterThanThreshold",
		});
		const alarms = Object.values(template.findResources("AWS::CloudWatch::Alarm"));
		expect(alarms.filter((a) => a.Properties.MetricName === "ApproximateNumberOfMessagesVisible")).toHaveLength(2);
		expect(alarms.filter((a) => a.Properties.MetricName === "Errors")).toHaveLength(4);
		for (const metric of ["SwitchoverBlocked", "ReplicationStopped"]) {
			template.hasResourceProperties("AWS::CloudWatch::Alarm", {
				Metrics: [Match.objectLike({ Expression: `SELECT SUM(${metric}) FROM "Ferry"` })],
				Threshold: 0,
			});
		}
		template.hasResourceProperties("AWS::CloudWatch::Alarm", {
			Metrics: [
				Match.objectLike({
					Expression: 'SELECT MAX(ReplicationLatencySeconds) FROM "Ferry"',
					Period: 60,
				}),
			],
			Threshold: 60,
			ComparisonOperator: "GreaterThanThreshold",
			EvaluationPeriods: 5,
			DatapointsToAlarm: 5,
		});
	});

	it("lets workers only read data-source secrets, under the prefix", () => {
		const prefixArn = {
			"Fn::Join": [
				"",
				[
					"arn:",
					{ Ref: "AWS::Partition" },
					":secretsmanager:",
					{ Ref: "AWS::Region" },
					":",
					{ Ref: "AWS::AccountId" },
					":secret:ferry/datasources/*",
				],
			],
		};
		const all = statements();
		for (const fnId of ["CopyWorkerFn", "SchedulerFn"]) {
			const own = all.filter((s) => s.policy === policyOfFunction(fnId));
			const secretActions = own.flatMap((s) => list(s.Action)).filter((a) => a.startsWith("secretsmanager:"));
			expect(secretActions, fnId).toEqual(["secretsmanager:GetSecretValue"]);
			expect(own.find((s) => list(s.Action).includes("secretsmanager:GetSecretValue"))?.Resource).toEqual(prefixArn);
			expect(JSON.stringify(own)).not.toContain("secretsmanager:CreateSecret");
		}
		const api = all.filter((s) => s.policy === policyOfFunction("ApiFn"));
		const admin = api.find((s) => list(s.Action).includes("secretsmanager:CreateSecret"));
		expect(admin?.Resource).toEqual(prefixArn);
		expect(list(admin?.Action ?? [])).not.toContain("secretsmanager:GetSecretValue");
	});

	it("scopes the scheduler's ECS rights to the task definition, the cluster and the two task roles", () => {
		const own = statements().filter((s) => s.policy === policyOfFunction("SchedulerFn"));
		const run = own.find((s) => list(s.Action).includes("ecs:RunTask"));
		expect(run?.Resource).toEqual({
			Ref: expect.stringMatching(/^ReplicationCaptureReplay/),
		});
		const watch = own.find((s) => list(s.Action).includes("ecs:StopTask"));
		expect(list(watch?.Action ?? [])).toContain("ecs:DescribeTasks");
		expect(JSON.stringify(watch?.Resource)).toMatch(/:task\/".*ReplicationCluster.*\/\*"/);
		const pass = own.find((s) => list(s.Action).includes("iam:PassRole"));
		expect(list(pass?.Resource as string[]).map((r) => JSON.stringify(r))).toEqual([
			expect.stringMatching(/ReplicationCaptureReplayTaskRole/),
			expect.stringMatching(/ReplicationCaptureReplayExecutionRole/),
		]);
	});

	it("has no wildcard IAM actions and Resource * only where AWS offers no resource scope", () => {
		// Actions that AWS does not allow to scope to a resource ARN.
		const allowedOnAnyResource = new Set([
			"ec2:CreateNetworkInterface",
			"ec2:DescribeNetworkInterfaces",
			"ec2:DescribeSubnets",
			"ec2:DeleteNetworkInterface",
			"ec2:AssignPrivateIpAddresses",
			"ec2:UnassignPrivateIpAddresses",
			"xray:PutTraceSegments",
			"xray:PutTelemetryRecords",
			"cloudwatch:PutMetricData",
			"cloudwatch:GetMetricData",
			"ecr:GetAuthorizationToken",
		]);
		const offending: string[] = [];
		for (const s of statements()) {
			if (s.Effect !== "Allow") continue;
			const actions = list(s.Action);
			if (actions.some((a) => a === "*" || a.endsWith(":*"))) offending.push(`${s.policy}: ${actions.join(",")}`);
			const resources = Array.isArray(s.Resource) ? s.Resource : [s.Resource];
			if (resources.includes("*")) {
				for (const a of actions) if (!allowedOnAnyResource.has(a)) offending.push(`${s.policy}: ${a} on *`);
			}
		}
		expect(offending).toEqual([]);
		// PutMetricData is held to the Ferry namespace.
		const put = statements().find((s) => list(s.Action).includes("cloudwatch:PutMetricData"));
		expect(put?.Condition).toEqual({
			StringEquals: { "cloudwatch:namespace": "Ferry" },
		});
	});

	it("imports an existing VPC from context instead of creating one", () => {
		const t = Template.fromStack(
			makeStack({
				vpcId: "vpc-0123",
				privateSubnetIds: "subnet-a,subnet-b",
				availabilityZones: ["eu-west-1a", "eu-west-1b"],
			}).stack,
		);
		t.resourceCountIs("AWS::EC2::VPC", 0);
		t.resourceCountIs("AWS::EC2::NatGateway", 0);
		t.hasResourceProperties("AWS::Lambda::Function", {
			VpcConfig: {
				SubnetIds: ["subnet-a", "subnet-b"],
				SecurityGroupIds: Match.anyValue(),
			},
		});
		t.hasResourceProperties("AWS::EC2::SecurityGroup", { VpcId: "vpc-0123" });
		// endpoints in the imported VPC: the gateways need its route tables
		const withEndpoints = {
			vpcId: "vpc-0123",
			privateSubnetIds: "subnet-a,subnet-b",
			availabilityZones: "eu-west-1a,eu-west-1b",
			vpcEndpoints: "true",
		};
		expect(() => makeStack(withEndpoints)).toThrow(/privateSubnetRouteTableIds/);
		const routed = Template.fromStack(makeStack({ ...withEndpoints, privateSubnetRouteTableIds: "rtb-a,rtb-b" }).stack);
		routed.hasResourceProperties("AWS::EC2::VPCEndpoint", {
			VpcEndpointType: "Gateway",
			RouteTableIds: ["rtb-a", "rtb-b"],
		});
		expect(Object.keys(routed.findResources("AWS::EC2::VPCEndpoint"))).toHaveLength(10);
		template.resourceCountIs("AWS::EC2::VPC", 1);
		// its own VPC reaches AWS through endpoints, no NAT gateway
		template.resourceCountIs("AWS::EC2::NatGateway", 0);
		template.resourceCountIs("AWS::EC2::FlowLog", 1);
	});

	it("leaves no unacknowledged cdk-nag AwsSolutions findings", () => {
		expect(nagFindings()).toEqual([]);
		// The other shape: imported VPC and a private ECR image (its pull grant needs a Resource * for the token).
		expect(
			nagFindings({
				vpcId: "vpc-0123",
				privateSubnetIds: "subnet-a,subnet-b",
				availabilityZones: "eu-west-1a,eu-west-1b",
				taskImage: ECR_IMAGE,
			}),
		).toEqual([]);
	});

	it("would report a finding nobody acknowledged", () => {
		const app = new App({ builtinCloudFormationValidation: false });
		new Queue(new Stack(app, "Bare"), "Queue");
		const pack = addNagChecks(app);
		expect(() => app.synth()).toThrow(/AwsSolutions-SQS3/);
		expect(pack.validateScope(app).violations.map((v) => v.ruleName)).toContain("AwsSolutions-SQS4");
	});
});
