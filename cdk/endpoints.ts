import * as ec2 from "aws-cdk-lib/aws-ec2";
import { Construct } from "constructs";

/**
 * Every AWS API a Ferry function or the capture-replay task calls from inside the VPC
 * (shared/aws/*.ts, the awslogs driver and the image pull), so that no NAT gateway is needed:
 *
 * - DynamoDB (state table) and S3 (ECR image layers): gateway endpoints, free.
 * - SQS (chunk queues), Secrets Manager (data-source passwords), SNS (alert notifications),
 *   CloudWatch monitoring (metrics in, metrics history out), ECS (the scheduler's RunTask,
 *   DescribeTasks, StopTask), ECR api and dkr (the task's image), CloudWatch Logs (the task's
 *   awslogs driver): interface endpoints.
 *
 * Not here, on purpose: ecs-agent and ecs-telemetry serve the agent on EC2 container instances,
 * which Fargate tasks do not use; STS, since the functions and the task take their role's
 * credentials from the runtime, never from AssumeRole; X-Ray and Lambda's logs, since the Lambda
 * service itself delivers a function's logs and its active-tracing segments (no Ferry code calls
 * X-Ray), outside the function's network interfaces.
 */
export const INTERFACE_ENDPOINTS = {
	Sqs: ec2.InterfaceVpcEndpointAwsService.SQS,
	SecretsManager: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
	Sns: ec2.InterfaceVpcEndpointAwsService.SNS,
	Monitoring: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING,
	Ecs: ec2.InterfaceVpcEndpointAwsService.ECS,
	EcrApi: ec2.InterfaceVpcEndpointAwsService.ECR,
	EcrDocker: ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
	Logs: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
} as const;

export const GATEWAY_ENDPOINTS = {
	DynamoDb: ec2.GatewayVpcEndpointAwsService.DYNAMODB,
	S3: ec2.GatewayVpcEndpointAwsService.S3,
} as const;

/**
 * Adds the endpoints to `vpc` under a construct of their own (not under the VPC, which may live in
 * the user's stack): interface endpoints in one subnet per zone of `subnets`, with private DNS, reachable
 * on 443 only from Ferry's security groups; with `gateways`, gateway endpoints on the route tables of
 * `subnets` (the VPC Ferry makes has its gateway endpoints already).
 */
export function addServiceEndpoints(
	scope: Construct,
	vpc: ec2.IVpc,
	subnets: ec2.SubnetSelection,
	clients: ec2.ISecurityGroup[],
	gateways: boolean,
): Construct {
	const endpoints = new Construct(scope, "Endpoints");
	const group = new ec2.SecurityGroup(endpoints, "SecurityGroup", {
		vpc,
		description: "Ferry AWS service endpoints: HTTPS from the Ferry functions and tasks only",
		allowAllOutbound: false,
	});
	for (const client of clients)
		group.addIngressRule(client, ec2.Port.tcp(443), "HTTPS from the Ferry functions and tasks");
	for (const [id, service] of Object.entries(INTERFACE_ENDPOINTS)) {
		new ec2.InterfaceVpcEndpoint(endpoints, id, {
			vpc,
			service,
			subnets: { ...subnets, onePerAz: true },
			securityGroups: [group],
			privateDnsEnabled: true,
			open: false,
		});
	}
	if (gateways) {
		const unknown = vpc.selectSubnets(subnets).subnets.filter((s) => !s.routeTable?.routeTableId);
		if (unknown.length > 0) {
			throw new Error(
				`vpcEndpoints needs the route tables of Ferry's subnets for the DynamoDB and S3 gateway endpoints, and ${unknown.map((s) => s.subnetId).join(", ")} came without one: import the VPC with its route table ids (context privateSubnetRouteTableIds)`,
			);
		}
		for (const [id, service] of Object.entries(GATEWAY_ENDPOINTS)) {
			new ec2.GatewayVpcEndpoint(endpoints, id, { vpc, service, subnets: [subnets] });
		}
	}
	return endpoints;
}
