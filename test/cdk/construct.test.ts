import { readFileSync } from "node:fs";
import { App, type CfnResource, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as kms from "aws-cdk-lib/aws-kms";
import * as sns from "aws-cdk-lib/aws-sns";
import type { Construct } from "constructs";
import { afterAll, describe, expect, it } from "vitest";
import { readConfig } from "../../cdk/config.ts";
import { INTERFACE_ENDPOINTS } from "../../cdk/endpoints.ts";
import { Ferry, type FerryProps } from "../../cdk/ferry.ts";
import { FerryStack } from "../../cdk/ferry-stack.ts";
import { addNagChecks } from "../../cdk/nag.ts";
import { alertNameOfAlarm } from "../../shared/alerts/cloudwatch.ts";
import { FAST_APP, stubSourceRoot } from "./stub-source.ts";

const { sourceRoot, remove } = stubSourceRoot("cdk-construct");
afterAll(remove);

/** A template resource as the assertions library returns it. */
type Resource = ReturnType<Template["findResources"]>[string];

/** A user's CDK app: their own stack, with whatever they make first, and Ferry added to it. */
class UserStack extends Stack {
	readonly ferry: Ferry;
	readonly own: Record<string, Construct> = {};
	constructor(scope: Construct, props: (stack: UserStack) => FerryProps) {
		super(scope, "UserApp", { env: { account: "123456789012", region: "eu-west-1" } });
		this.ferry = new Ferry(this, "Ferry", { ...props(this), sourceRoot });
	}
}

function synth(props: (stack: UserStack) => FerryProps = () => ({})) {
	const app = new App(FAST_APP);
	const stack = new UserStack(app, props);
	const pack = addNagChecks(app);
	const template = Template.fromStack(stack);
	const nag = pack.validateScope(app).violations.map((v) => `${v.ruleName} ${v.violatingResources[0]?.constructPath}`);
	return { stack, template, nag, ref: (c: Construct) => stack.resolve((c.node.defaultChild as CfnResource).ref) };
}

/** The user's VPC: public subnets, an `app` tier Ferry runs in, an isolated `db` tier. */
function userVpc(stack: Stack): ec2.Vpc {
	return new ec2.Vpc(stack, "Vpc", {
		maxAzs: 2,
		natGateways: 1,
		flowLogs: { all: { trafficType: ec2.FlowLogTrafficType.REJECT } },
		subnetConfiguration: [
			{ name: "public", subnetType: ec2.SubnetType.PUBLIC },
			{ name: "app", subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
			{ name: "db", subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
		],
	});
}

const of = (t: Template, type: string) => Object.entries(t.findResources(type)) as Array<[string, Resource]>;
/** Ferry's own functions (BucketDeployment's deploy-time handler, which uploads the console, is not one). */
const functions = (t: Template) =>
	of(t, "AWS::Lambda::Function")
		.map(([, f]) => f)
		.filter((f) => f.Properties.Environment?.Variables?.FERRY_STATE_TABLE);
const fnByDescription = (t: Template, text: string) => {
	const found = functions(t).filter((f) => String(f.Properties.Description).includes(text));
	expect(found, text).toHaveLength(1);
	return found[0] as Resource;
};
const interfaceEndpoints = (t: Template) =>
	of(t, "AWS::EC2::VPCEndpoint").filter(([, e]) => e.Properties.VpcEndpointType === "Interface");
const gatewayEndpoints = (t: Template) =>
	of(t, "AWS::EC2::VPCEndpoint").filter(([, e]) => e.Properties.VpcEndpointType !== "Interface");

/** Every statement of the inline policies attached to the role whose logical id starts with `rolePrefix`. */
function statementsOfRole(t: Template, rolePrefix: string): Array<{ Action: string | string[]; Resource: unknown }> {
	return of(t, "AWS::IAM::Policy")
		.filter(([, p]) => (p.Properties.Roles as Array<{ Ref: string }>).some((r) => r.Ref.startsWith(rolePrefix)))
		.flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
}
const actionsOn = (t: Template, rolePrefix: string, resource: unknown) =>
	statementsOfRole(t, rolePrefix)
		.filter((s) => JSON.stringify(s.Resource).includes(JSON.stringify(resource)))
		.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));

describe("the Ferry construct in a user's CDK app", () => {
	const plain = synth();

	it("makes its own VPC without NAT: isolated subnets, every AWS API through an endpoint", () => {
		const t = plain.template;
		t.resourceCountIs("AWS::EC2::VPC", 1);
		t.resourceCountIs("AWS::EC2::NatGateway", 0);
		t.resourceCountIs("AWS::EC2::InternetGateway", 0);
		const services = interfaceEndpoints(t).map(([, e]) => e.Properties.ServiceName as string);
		expect(services.sort()).toEqual(
			["ecr.api", "ecr.dkr", "ecs", "logs", "monitoring", "secretsmanager", "sns", "sqs"].map(
				(s) => `com.amazonaws.eu-west-1.${s}`,
			),
		);
		expect(services).toHaveLength(Object.keys(INTERFACE_ENDPOINTS).length);
		const gateways = gatewayEndpoints(t).map(([, e]) => JSON.stringify(e.Properties.ServiceName).split(".").pop());
		expect(gateways.sort()).toEqual(['dynamodb"]]}', 's3"]]}']);
		// the endpoints answer HTTPS from Ferry's own group only, in each zone's private subnet
		const sg = plain.ref(plain.stack.ferry.securityGroup as ec2.SecurityGroup);
		for (const [, e] of interfaceEndpoints(t)) {
			expect(e.Properties.PrivateDnsEnabled).toBe(true);
			expect(e.Properties.SubnetIds).toHaveLength(2);
		}
		const ferryGroup = { "Fn::GetAtt": [sg.Ref, "GroupId"] };
		const ingress = of(t, "AWS::EC2::SecurityGroupIngress").map(([, r]) => r.Properties);
		expect(ingress).toEqual([
			expect.objectContaining({ IpProtocol: "tcp", FromPort: 443, ToPort: 443, SourceSecurityGroupId: ferryGroup }),
		]);
		for (const f of functions(t)) expect(f.Properties.VpcConfig.SecurityGroupIds).toEqual([ferryGroup]);
		expect(plain.nag).toEqual([]);
	});

	it("without vpcEndpoints, its VPC gets a NAT gateway (and keeps the free gateway endpoints)", () => {
		const { template: t, nag } = synth(() => ({ vpcEndpoints: false }));
		expect(interfaceEndpoints(t)).toHaveLength(0);
		expect(gatewayEndpoints(t)).toHaveLength(2);
		t.resourceCountIs("AWS::EC2::NatGateway", 1);
		expect(nag).toEqual([]);
		// and NAT on request beside the endpoints, for a database or webhook on the internet
		const both = synth(() => ({ natGateways: 2 })).template;
		both.resourceCountIs("AWS::EC2::NatGateway", 2);
		expect(interfaceEndpoints(both)).toHaveLength(8);
	});

	it("runs in the user's VPC and subnets, adding no VPC and, unless asked, no endpoints", () => {
		let vpc: ec2.Vpc | undefined;
		const {
			template: t,
			stack,
			nag,
		} = synth((s) => {
			vpc = userVpc(s);
			return { vpc, subnets: { subnetGroupName: "app" } };
		});
		t.resourceCountIs("AWS::EC2::VPC", 1); // the user's own
		t.resourceCountIs("AWS::EC2::FlowLog", 1); // the user's own
		expect(interfaceEndpoints(t)).toHaveLength(0);
		const appSubnets = (vpc as ec2.Vpc)
			.selectSubnets({ subnetGroupName: "app" })
			.subnets.map((s) => stack.resolve(s.subnetId));
		expect(appSubnets).toHaveLength(2);
		for (const f of functions(t)) expect(f.Properties.VpcConfig.SubnetIds).toEqual(appSubnets);
		// without a selection: its private subnets, or in a VPC without NAT its isolated ones
		let isolated: ec2.Vpc | undefined;
		const closed = synth((s) => {
			isolated = new ec2.Vpc(s, "Closed", {
				maxAzs: 2,
				flowLogs: { all: {} },
				subnetConfiguration: [{ name: "db", subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
			});
			return { vpc: isolated, vpcEndpoints: true };
		});
		const closedIds = (isolated as ec2.Vpc).isolatedSubnets.map((s) => closed.stack.resolve(s.subnetId));
		for (const f of functions(closed.template)) expect(f.Properties.VpcConfig.SubnetIds).toEqual(closedIds);
		expect(closed.nag).toEqual([]);
		const taskSubnets = fnByDescription(t, "scheduler").Properties.Environment.Variables.FERRY_TASK_SUBNETS;
		expect(JSON.stringify(taskSubnets)).toContain(JSON.stringify(appSubnets[0]));
		expect(JSON.stringify(taskSubnets)).toContain(JSON.stringify(appSubnets[1]));
		expect(nag).toEqual([]);
	});

	it("adds the endpoints to the user's VPC when asked: in the chosen subnets, gateways on their route tables", () => {
		let vpc: ec2.Vpc | undefined;
		const {
			template: t,
			stack,
			nag,
		} = synth((s) => {
			vpc = userVpc(s);
			return { vpc, subnets: { subnetGroupName: "app" }, vpcEndpoints: true };
		});
		const chosen = (vpc as ec2.Vpc).selectSubnets({ subnetGroupName: "app" }).subnets;
		expect(interfaceEndpoints(t)).toHaveLength(8);
		for (const [, e] of interfaceEndpoints(t))
			expect(e.Properties.SubnetIds).toEqual(chosen.map((s) => stack.resolve(s.subnetId)));
		const tables = chosen.map((s) => stack.resolve(s.routeTable.routeTableId));
		for (const [, e] of gatewayEndpoints(t)) expect(e.Properties.RouteTableIds).toEqual(tables);
		expect(nag).toEqual([]);
	});

	it("gives functions and tasks the user's security groups, and lets only those into the endpoints", () => {
		const {
			template: t,
			stack,
			nag,
		} = synth((s) => {
			const vpc = userVpc(s);
			const groups = ["Migrations", "Reporting"].map(
				(id) => new ec2.SecurityGroup(s, id, { vpc, description: `${id}: may reach the databases` }),
			);
			s.own.groups = groups[0] as ec2.SecurityGroup;
			s.own.groups2 = groups[1] as ec2.SecurityGroup;
			return { vpc, securityGroups: groups, vpcEndpoints: true };
		});
		expect(stack.ferry.securityGroup).toBeUndefined();
		const ids = [stack.own.groups, stack.own.groups2].map((g) =>
			stack.resolve((g as ec2.SecurityGroup).securityGroupId),
		);
		for (const f of functions(t)) expect(f.Properties.VpcConfig.SecurityGroupIds).toEqual(ids);
		const env = fnByDescription(t, "scheduler").Properties.Environment.Variables;
		expect(env.FERRY_TASK_SECURITY_GROUPS).toEqual({ "Fn::Join": ["", [ids[0], ",", ids[1]]] });
		// the user's two groups and the endpoints' group, nothing of Ferry's own for the workloads
		t.resourceCountIs("AWS::EC2::SecurityGroup", 3);
		const sources = of(t, "AWS::EC2::SecurityGroupIngress").map(([, r]) => r.Properties.SourceSecurityGroupId);
		expect(sources).toEqual(ids);
		expect(nag).toEqual([]);
	});

	it("encrypts the table, the queues, the topic, every log group and new secrets with the user's key", () => {
		const {
			template: t,
			stack,
			nag,
		} = synth((s) => {
			s.own.key = new kms.Key(s, "Key", { enableKeyRotation: true });
			return { encryptionKey: s.own.key as kms.Key };
		});
		const keyArn = stack.resolve((stack.own.key as kms.Key).keyArn);
		t.resourceCountIs("AWS::KMS::Key", 1); // no topic key of its own
		t.hasResourceProperties("AWS::DynamoDB::Table", { SSESpecification: { SSEEnabled: true, KMSMasterKeyId: keyArn } });
		const queues = of(t, "AWS::SQS::Queue");
		expect(queues).toHaveLength(4);
		for (const [, q] of queues) expect(q.Properties.KmsMasterKeyId).toEqual(keyArn);
		for (const [, topic] of of(t, "AWS::SNS::Topic")) expect(topic.Properties.KmsMasterKeyId).toEqual(keyArn);
		const logGroups = of(t, "AWS::Logs::LogGroup");
		expect(logGroups.length).toBeGreaterThanOrEqual(7); // 4 functions, API access, task, flow logs
		for (const [id, g] of logGroups) expect(g.Properties.KmsKeyId, id).toEqual(keyArn);
		// the key's policy lets CloudWatch Logs and CloudWatch (alarms to the topic) use it
		const keyPolicy = JSON.stringify(Object.values(t.findResources("AWS::KMS::Key"))[0]?.Properties.KeyPolicy);
		expect(keyPolicy).toContain("kms:EncryptionContext:aws:logs:arn");
		expect(keyPolicy).toContain("cloudwatch.amazonaws.com");
		// secrets: the API creates them under the key, the others may decrypt
		expect(fnByDescription(t, "Ferry API").Properties.Environment.Variables.FERRY_SECRET_KMS_KEY_ID).toEqual(keyArn);
		expect(actionsOn(t, "FerryApiFnRole", keyArn)).toEqual(
			expect.arrayContaining(["kms:GenerateDataKey", "kms:Decrypt"]),
		);
		for (const role of [
			"FerrySchedulerFnRole",
			"FerryCopyWorkerFnRole",
			"FerryVerifyWorkerFnRole",
			"FerryReplicationCaptureReplayTaskRole",
		]) {
			expect(actionsOn(t, role, keyArn), role).toContain("kms:Decrypt");
		}
		// the workers send chunks to encrypted queues, the scheduler publishes to the encrypted topic
		expect(actionsOn(t, "FerryCopyWorkerFnRole", keyArn)).toContain("kms:GenerateDataKey*");
		expect(actionsOn(t, "FerrySchedulerFnRole", keyArn)).toContain("kms:GenerateDataKey*");
		expect(nag).toEqual([]);
		// without a key: no key variable, SQS-managed queues
		expect(
			fnByDescription(plain.template, "Ferry API").Properties.Environment.Variables.FERRY_SECRET_KMS_KEY_ID,
		).toBeUndefined();
	});

	it("sends every alarm and the scheduler's notifications to the user's topic", () => {
		const {
			template: t,
			stack,
			nag,
		} = synth((s) => {
			s.own.topic = new sns.Topic(s, "OpsTopic", {
				enforceSSL: true,
				masterKey: new kms.Key(s, "OpsKey", { enableKeyRotation: true }),
			});
			return { alarmTopic: s.own.topic as sns.Topic };
		});
		const topic = stack.resolve((stack.own.topic as sns.Topic).topicArn);
		t.resourceCountIs("AWS::SNS::Topic", 1);
		expect(stack.ferry.alertTopic).toBe(stack.own.topic);
		const alarms = [...of(t, "AWS::CloudWatch::Alarm"), ...of(t, "AWS::CloudWatch::CompositeAlarm")];
		const withActions = alarms.filter(([, a]) => a.Properties.AlarmActions);
		expect(withActions.length).toBeGreaterThanOrEqual(15);
		for (const [id, a] of withActions) expect(a.Properties.AlarmActions, id).toEqual([topic]);
		expect(fnByDescription(t, "scheduler").Properties.Environment.Variables.FERRY_ALERT_TOPIC_ARN).toEqual(topic);
		expect(actionsOn(t, "FerrySchedulerFnRole", topic)).toContain("sns:Publish");
		expect(nag).toEqual([]);
	});

	it("sizes the workers and the replication task as told, and refuses sizes AWS would refuse", () => {
		const { template: t } = synth(() => ({
			copyWorker: { memorySize: 3008, batchSize: 2, maxConcurrency: 20, reservedConcurrency: 40 },
			verifyWorker: { memorySize: 512, batchSize: 10, reservedConcurrency: 3 },
			replicationTask: { cpu: 2048, memoryLimitMiB: 8192 },
		}));
		const copy = fnByDescription(t, "copy worker").Properties;
		expect([copy.MemorySize, copy.ReservedConcurrentExecutions]).toEqual([3008, 40]);
		const verify = fnByDescription(t, "verify worker").Properties;
		expect([verify.MemorySize, verify.ReservedConcurrentExecutions]).toEqual([512, 3]);
		const mappings = of(t, "AWS::Lambda::EventSourceMapping").map(([, m]) => m.Properties);
		expect(mappings.map((m) => [m.BatchSize, m.ScalingConfig?.MaximumConcurrency]).sort()).toEqual([
			[10, 3], // verify: the concurrency cap follows its reservation
			[2, 20],
		]);
		t.hasResourceProperties("AWS::ECS::TaskDefinition", { Cpu: "2048", Memory: "8192" });
		// defaults
		const d = plain.template;
		expect(fnByDescription(d, "copy worker").Properties.MemorySize).toBe(1024);
		d.hasResourceProperties("AWS::ECS::TaskDefinition", { Cpu: "1024", Memory: "2048" });
		expect(() => synth(() => ({ copyWorker: { batchSize: 11 } }))).toThrow(/copyWorker.batchSize/);
		expect(() => synth(() => ({ verifyWorker: { maxConcurrency: 5, reservedConcurrency: 4 } }))).toThrow(
			/verifyWorker.maxConcurrency \(5\) must not exceed/,
		);
		expect(() => synth(() => ({ replicationTask: { cpu: 1024, memoryLimitMiB: 1024 } }))).toThrow(
			/not offered with cpu 1024/,
		);
		expect(() => synth(() => ({ replicationTask: { cpu: 3000 } }))).toThrow(/replicationTask.cpu/);
	});

	it("passes the principals' roles and the task image through", () => {
		const roles = { "arn:aws:iam::123456789012:role/Ops": "operator", "*": "viewer" } as const;
		const { template: t } = synth(() => ({
			iamRoles: roles,
			taskImage: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ferry:7",
		}));
		expect(JSON.parse(fnByDescription(t, "Ferry API").Properties.Environment.Variables.FERRY_IAM_ROLES)).toEqual(roles);
		t.hasResourceProperties("AWS::ECS::TaskDefinition", {
			ContainerDefinitions: [Match.objectLike({ Image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ferry:7" })],
		});
		expect(() => synth(() => ({ iamRoles: { "*": "root" } as never }))).toThrow(/admin, operator or viewer/);
	});

	it("offers two managed policies for the API's callers: every method, or GET only", () => {
		const t = plain.template;
		const api = plain.ref(plain.stack.ferry.api);
		const policies = of(t, "AWS::IAM::ManagedPolicy").map(([, p]) => p.Properties);
		expect(policies).toHaveLength(2);
		const byDescription = (text: string) => {
			const p = policies.find((x) => String(x.Description).includes(text));
			const [statement] = p?.PolicyDocument.Statement ?? [];
			expect(p?.Description).toMatch(/iamRoles/);
			expect(statement.Action).toBe("execute-api:Invoke");
			const arn = JSON.stringify(statement.Resource);
			expect(arn).toContain(JSON.stringify(api));
			return arn;
		};
		expect(byDescription("every method")).toMatch(/\/v1\/\*\/\*"\]\]\}$/);
		expect(byDescription("GET methods only")).toMatch(/\/v1\/GET\/\*"\]\]\}$/);
	});

	it("names its alarms after its place in the stack, so the alert history still knows them", () => {
		const names = of(plain.template, "AWS::CloudWatch::Alarm")
			.map(([, a]) => a.Properties.AlarmName as string | undefined)
			.filter((n): n is string => n !== undefined);
		expect(names.length).toBeGreaterThan(5);
		for (const name of names) expect(name.startsWith("UserApp-Ferry-"), name).toBe(true);
		expect(alertNameOfAlarm("UserApp-Ferry-oms_migration_failed")).toBe("oms_migration_failed");
		plain.template.hasResourceProperties("AWS::Events::Rule", {
			EventPattern: { detail: { alarmName: [{ prefix: "UserApp-Ferry-" }] } },
		});
	});

	it("the stack wraps it with its outputs, under the same logical ids as before the construct", () => {
		const app = new App(FAST_APP);
		const t = Template.fromStack(new FerryStack(app, "FerryStack", { sourceRoot }));
		const outputs = t.toJSON().Outputs as Record<string, { Value: unknown }>;
		// (…ApiEndpoint… are the ones LambdaRestApi adds itself)
		expect(
			Object.keys(outputs)
				.filter((o) => !o.includes("ApiEndpoint"))
				.sort(),
		).toEqual(
			[
				"AlertTopicArn",
				"ApiUrl",
				"ClusterArn",
				"ConsoleUrl",
				"ConsoleUserPoolId",
				"ReadOnlyPolicyArn",
				"RunProjectsPolicyArn",
				"SecurityGroupIds",
				"StateTableName",
			].sort(),
		);
		const policyIds = Object.keys(t.findResources("AWS::IAM::ManagedPolicy"));
		expect(policyIds.map((id) => JSON.stringify({ Ref: id })).sort()).toEqual(
			[JSON.stringify(outputs.ReadOnlyPolicyArn?.Value), JSON.stringify(outputs.RunProjectsPolicyArn?.Value)].sort(),
		);
		// ids an existing deployment has: replacing the table would strand the state in the old one
		expect(Object.keys(t.findResources("AWS::DynamoDB::Table"))).toEqual([
			expect.stringMatching(/^StateTable[0-9A-F]{8}$/),
		]);
		expect(Object.keys(t.findResources("AWS::SQS::Queue")).every((id) => /^(Copy|Verify)Chunks/.test(id))).toBe(true);
	});

	it("docs/deploy.md names every context key the stack reads and every prop of the construct", () => {
		const doc = readFileSync(new URL("../../docs/deploy.md", import.meta.url), "utf8");
		const read: string[] = [];
		const vpc: Record<string, string> = {
			vpcId: "vpc-1",
			privateSubnetIds: "subnet-a",
			availabilityZones: "eu-west-1a",
		};
		const tryGetContext = (key: string) => {
			read.push(key);
			return vpc[key];
		};
		readConfig({ tryGetContext } as never);
		expect(read.length).toBeGreaterThan(15);
		// the table names the copy worker's keys and says `verify…` likewise
		const documented = (key: string) => doc.includes(`\`${key.replace(/^verify/, "copy")}\``);
		expect(read.filter((key) => !documented(key))).toEqual([]);
		const props = readFileSync(new URL("../../cdk/ferry.ts", import.meta.url), "utf8")
			.split("export interface FerryProps {")[1]
			?.split("\n}")[0]
			?.match(/readonly (\w+)\?:/g)
			?.map((m) => m.slice(9, -2));
		expect(props?.length).toBeGreaterThan(10);
		expect(props?.filter((p) => p !== "sourceRoot" && !doc.includes(`\`${p}\``))).toEqual([]);
	});
});
