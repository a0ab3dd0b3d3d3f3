import { CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import type { Construct } from "constructs";
import { readConfig } from "./config.ts";
import { Ferry } from "./ferry.ts";

export interface FerryStackProps extends StackProps {
	/**
	 * Directory with package-lock.json and the functions/ entries; defaults to the repo root.
	 * Template tests point it at stub entries.
	 */
	readonly sourceRoot?: string;
	/** The built web console (default console/dist; cdk/app.ts builds it when missing). */
	readonly consoleDir?: string;
}

/** The stack `cdk deploy` makes: the Ferry construct configured from CDK context (cdk/config.ts), and its outputs. */
export class FerryStack extends Stack {
	readonly ferry: Ferry;

	constructor(scope: Construct, id: string, props: FerryStackProps = {}) {
		super(scope, id, props);
		const config = readConfig(this.node);
		// Vpc.fromLookup needs AWS credentials at synth; attributes keep synth offline.
		const vpc =
			config.vpc &&
			ec2.Vpc.fromVpcAttributes(this, "Vpc", {
				vpcId: config.vpc.vpcId,
				availabilityZones: config.vpc.availabilityZones,
				privateSubnetIds: config.vpc.privateSubnetIds,
				privateSubnetRouteTableIds: config.vpc.privateSubnetRouteTableIds,
			});

		// "Default" leaves the construct out of logical ids: a stack deployed before the construct
		// existed updates in place instead of replacing its resources.
		this.ferry = new Ferry(this, "Default", {
			vpc,
			subnets: vpc && { subnets: vpc.privateSubnets },
			taskImage: config.taskImage,
			copyWorker: config.copyWorker,
			verifyWorker: config.verifyWorker,
			replicationTask: config.replicationTask,
			iamRoles: config.iamRoles,
			vpcEndpoints: config.vpcEndpoints,
			natGateways: config.natGateways,
			sourceRoot: props.sourceRoot,
			console: { distDir: props.consoleDir, domainPrefix: config.consoleDomainPrefix },
		});

		const ferry = this.ferry;
		new CfnOutput(this, "AlertTopicArn", { value: ferry.alertTopic.topicArn });
		new CfnOutput(this, "ApiUrl", { value: ferry.apiUrl });
		new CfnOutput(this, "StateTableName", { value: ferry.stateTable.tableName });
		new CfnOutput(this, "ClusterArn", { value: ferry.cluster.clusterArn });
		new CfnOutput(this, "SecurityGroupIds", {
			description: "Ferry's functions and tasks carry these: let them into your databases and brokers",
			value: ferry.securityGroups.map((g) => g.securityGroupId).join(","),
		});
		new CfnOutput(this, "RunProjectsPolicyArn", {
			description: "Managed policy for principals that may run projects (every API method)",
			value: ferry.runProjectsPolicy.managedPolicyArn,
		});
		new CfnOutput(this, "ReadOnlyPolicyArn", {
			description: "Managed policy for principals that may only read (GET methods)",
			value: ferry.readOnlyPolicy.managedPolicyArn,
		});
	}
}
