import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import type { ImportedVpcConfig } from "./config.ts";

export interface NetworkProps {
	/** Import this VPC instead of creating one. */
	readonly imported?: ImportedVpcConfig;
}

/** The VPC the workloads run in, their private subnets, and the one security group they share. */
export class Network extends Construct {
	readonly vpc: ec2.IVpc;
	readonly subnets: ec2.SubnetSelection;
	readonly securityGroup: ec2.SecurityGroup;

	constructor(scope: Construct, id: string, props: NetworkProps = {}) {
		super(scope, id);
		if (props.imported) {
			// Vpc.fromLookup needs AWS credentials at synth; attributes keep synth offline.
			this.vpc = ec2.Vpc.fromVpcAttributes(this, "Vpc", {
				vpcId: props.imported.vpcId,
				availabilityZones: props.imported.availabilityZones,
				privateSubnetIds: props.imported.privateSubnetIds,
			});
			this.subnets = { subnets: this.vpc.privateSubnets };
		} else {
			const flowLogs = new logs.LogGroup(this, "FlowLogs", {
				retention: logs.RetentionDays.ONE_MONTH,
			});
			const vpc = new ec2.Vpc(this, "Vpc", {
				maxAzs: 2,
				natGateways: 1,
				subnetConfiguration: [
					{ name: "public", subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
					{
						name: "private",
						subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS,
						cidrMask: 22,
					},
				],
				flowLogs: {
					all: {
						trafficType: ec2.FlowLogTrafficType.ALL,
						destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs),
					},
				},
			});
			// Free gateway endpoints keep DynamoDB and S3 (ECR layers) traffic off the NAT gateway.
			vpc.addGatewayEndpoint("DynamoDb", {
				service: ec2.GatewayVpcEndpointAwsService.DYNAMODB,
			});
			vpc.addGatewayEndpoint("S3", {
				service: ec2.GatewayVpcEndpointAwsService.S3,
			});
			this.vpc = vpc;
			this.subnets = { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
		}
		this.securityGroup = new ec2.SecurityGroup(this, "Workloads", {
			vpc: this.vpc,
			description: "Ferry functions and tasks: no inbound, outbound to databases, brokers and AWS APIs",
			allowAllOutbound: true,
		});
	}
}
