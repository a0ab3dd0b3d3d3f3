import * as ec2 from "aws-cdk-lib/aws-ec2";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { addServiceEndpoints, GATEWAY_ENDPOINTS } from "./endpoints.ts";

export interface NetworkProps {
	/** The user's VPC; absent, a VPC of its own (two zones, private subnets, flow logs). */
	readonly vpc?: ec2.IVpc;
	/** Subnets of `vpc` to run in; absent, its private subnets (with egress, else isolated). */
	readonly subnets?: ec2.SubnetSelection;
	/** Groups the workloads carry; absent, one is made. */
	readonly securityGroups?: ec2.ISecurityGroup[];
	/** AWS service endpoints in the VPC (endpoints.ts). */
	readonly vpcEndpoints: boolean;
	/** NAT gateways of the VPC it makes (ignored with a user's VPC). */
	readonly natGateways: number;
	/** Encrypts the flow-log group of the VPC it makes. */
	readonly encryptionKey?: kms.IKey;
}

/** A VPC's private subnets with egress, else its isolated ones (CDK files them apart). */
function defaultSubnets(vpc: ec2.IVpc): ec2.SubnetSelection {
	return vpc.privateSubnets.length > 0 ? { subnets: vpc.privateSubnets } : { subnets: vpc.isolatedSubnets };
}

/** The VPC the workloads run in, their subnets, and the security groups they carry. */
export class Network extends Construct {
	readonly vpc: ec2.IVpc;
	readonly subnets: ec2.SubnetSelection;
	readonly securityGroups: ec2.ISecurityGroup[];
	/** The group Ferry made, when none were given: the one a database's group lets in. */
	readonly securityGroup?: ec2.SecurityGroup;

	constructor(scope: Construct, id: string, props: NetworkProps) {
		super(scope, id);
		if (props.vpc) {
			this.vpc = props.vpc;
			this.subnets = props.subnets ?? defaultSubnets(props.vpc);
		} else {
			this.vpc = this.ownVpc(props.natGateways, props.encryptionKey);
			this.subnets = {
				subnetType: props.natGateways > 0 ? ec2.SubnetType.PRIVATE_WITH_EGRESS : ec2.SubnetType.PRIVATE_ISOLATED,
			};
		}
		if (props.securityGroups && props.securityGroups.length > 0) {
			this.securityGroups = props.securityGroups;
		} else {
			this.securityGroup = new ec2.SecurityGroup(this, "Workloads", {
				vpc: this.vpc,
				description: "Ferry functions and tasks: no inbound, outbound to databases, brokers and AWS APIs",
				allowAllOutbound: true,
			});
			this.securityGroups = [this.securityGroup];
		}
		if (props.vpcEndpoints) addServiceEndpoints(this, this.vpc, this.subnets, this.securityGroups, !!props.vpc);
	}

	/** Subnet IDs the scheduler hands to ecs:RunTask, comma-separated. */
	subnetIds(): string {
		return this.vpc.selectSubnets(this.subnets).subnetIds.join(",");
	}

	private ownVpc(natGateways: number, encryptionKey: kms.IKey | undefined): ec2.Vpc {
		const flowLogs = new logs.LogGroup(this, "FlowLogs", {
			retention: logs.RetentionDays.ONE_MONTH,
			encryptionKey,
		});
		// Without NAT the private subnets are isolated: AWS APIs through endpoints, databases through
		// peering, a transit gateway or a VPN the user routes.
		const subnetConfiguration: ec2.SubnetConfiguration[] = [
			{
				name: "private",
				subnetType: natGateways > 0 ? ec2.SubnetType.PRIVATE_WITH_EGRESS : ec2.SubnetType.PRIVATE_ISOLATED,
				cidrMask: 22,
			},
		];
		if (natGateways > 0)
			subnetConfiguration.unshift({ name: "public", subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 });
		const vpc = new ec2.Vpc(this, "Vpc", {
			maxAzs: 2,
			natGateways,
			subnetConfiguration,
			flowLogs: {
				all: {
					trafficType: ec2.FlowLogTrafficType.ALL,
					destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs),
				},
			},
		});
		// Free, so always there; the ids are those of earlier versions, so an upgrade keeps them in place.
		for (const [id, service] of Object.entries(GATEWAY_ENDPOINTS)) vpc.addGatewayEndpoint(id, { service });
		return vpc;
	}
}
