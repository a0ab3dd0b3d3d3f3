import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Duration } from "aws-cdk-lib";
import type * as ec2 from "aws-cdk-lib/aws-ec2";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { type Lockfile, linuxArm64Natives, lockSubset } from "./lockfile.ts";
import { acknowledge } from "./nag.ts";

/**
 * ESM bundles get a real `require`, or CommonJS dependencies (mysql2, kafkajs) fail at load with
 * "Dynamic require of buffer is not supported".
 */
export const ESM_REQUIRE_BANNER =
	"import { createRequire as __ferryCreateRequire } from 'node:module'; const require = __ferryCreateRequire(import.meta.url);";

export interface FerryFunctionProps {
	/** Directory holding package-lock.json and the entry files (the repo root). */
	readonly sourceRoot: string;
	/** Entry file relative to sourceRoot, e.g. functions/api/handler.ts. */
	readonly entry: string;
	readonly description: string;
	readonly timeout: Duration;
	readonly memorySize: number;
	readonly environment: Record<string, string>;
	readonly vpc: ec2.IVpc;
	readonly subnets: ec2.SubnetSelection;
	readonly securityGroups: ec2.ISecurityGroup[];
	readonly reservedConcurrency?: number;
	/** Encrypts the function's log group. */
	readonly encryptionKey?: kms.IKey;
}

/**
 * The Kafka and RocketMQ clients cannot be inlined by esbuild: @platformatic/kafka reads a .wasm
 * file beside its own module at load time, rocketmq-client-nodejs loads a native CRC32 addon. They
 * are installed beside the bundle instead (the API tests a broker's connection, the scheduler's
 * precheck too, the replication task sends to it).
 */
export const BROKER_CLIENTS = ["@platformatic/kafka", "rocketmq-client-nodejs"];

/**
 * Bundling runs `npm ci` on the build machine, which installs only that machine's native
 * packages (rocketmq-client-nodejs's CRC32 addon). The functions run on Linux arm64, so the
 * bundle also gets the arm64 build of each, unpacked beside the build machine's: the same
 * asset then loads on the build machine (the bundle tests) and in Lambda.
 */
export function arm64NativeCommands(sourceRoot: string, outputDir: string): string[] {
	const lock = JSON.parse(readFileSync(join(sourceRoot, "package-lock.json"), "utf8")) as Lockfile;
	return linuxArm64Natives(lockSubset(lock, "bundle", BROKER_CLIENTS)).map(({ name, version }) => {
		const dir = join(outputDir, "node_modules", name);
		const tarball = join(outputDir, `${name.replace(/^@/, "").replace("/", "-")}-${version}.tgz`);
		return `[ -d "${dir}" ] || { mkdir -p "${dir}" && npm pack "${name}@${version}" --silent --pack-destination "${outputDir}" >/dev/null && tar -xzf "${tarball}" -C "${dir}" --strip-components=1 && rm "${tarball}"; }`;
	});
}

/**
 * A Node.js 24 arm64 Lambda function bundled locally by esbuild to ESM, in the VPC, traced, with its own
 * log group and a role that holds only what the function needs (no AWS managed policies).
 */
export class FerryFunction extends Construct {
	readonly fn: NodejsFunction;
	readonly role: iam.Role;
	readonly logGroup: logs.LogGroup;

	constructor(scope: Construct, id: string, props: FerryFunctionProps) {
		super(scope, id);
		this.logGroup = new logs.LogGroup(this, "Logs", {
			retention: logs.RetentionDays.ONE_MONTH,
			encryptionKey: props.encryptionKey,
		});
		this.role = new iam.Role(this, "Role", {
			assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
			description: `Execution role of the Ferry ${id} function`,
		});
		this.logGroup.grantWrite(this.role);
		// What AWSLambdaVPCAccessExecutionRole grants: Lambda manages the function's ENIs with the
		// execution role, and these EC2 actions do not support resource-level scoping.
		this.role.addToPrincipalPolicy(
			new iam.PolicyStatement({
				actions: [
					"ec2:CreateNetworkInterface",
					"ec2:DescribeNetworkInterfaces",
					"ec2:DescribeSubnets",
					"ec2:DeleteNetworkInterface",
					"ec2:AssignPrivateIpAddresses",
					"ec2:UnassignPrivateIpAddresses",
				],
				resources: ["*"],
			}),
		);
		acknowledge(
			this.role,
			"AwsSolutions-IAM5[Resource::*]",
			"Resource * only on actions AWS does not scope: the EC2 network-interface actions Lambda needs for VPC access and X-Ray PutTraceSegments/PutTelemetryRecords.",
		);

		this.fn = new NodejsFunction(this, "Function", {
			entry: join(props.sourceRoot, props.entry),
			projectRoot: props.sourceRoot,
			depsLockFilePath: join(props.sourceRoot, "package-lock.json"),
			handler: "handler",
			description: props.description,
			runtime: lambda.Runtime.NODEJS_24_X,
			architecture: lambda.Architecture.ARM_64,
			memorySize: props.memorySize,
			timeout: props.timeout,
			role: this.role,
			logGroup: this.logGroup,
			tracing: lambda.Tracing.ACTIVE,
			reservedConcurrentExecutions: props.reservedConcurrency,
			vpc: props.vpc,
			vpcSubnets: props.subnets,
			securityGroups: props.securityGroups,
			environment: {
				...props.environment,
				NODE_OPTIONS: "--enable-source-maps",
			},
			bundling: {
				format: OutputFormat.ESM,
				target: "node24",
				mainFields: ["module", "main"],
				banner: ESM_REQUIRE_BANNER,
				// Bundle the AWS SDK too: package.json pins its version, the runtime's copy may differ.
				externalModules: [],
				nodeModules: BROKER_CLIENTS,
				minify: true,
				sourceMap: true,
				sourcesContent: false,
				forceDockerBundling: false,
				commandHooks: {
					beforeBundling: () => [],
					beforeInstall: () => [],
					afterBundling: (_input, outputDir) => arm64NativeCommands(props.sourceRoot, outputDir),
				},
			},
		});
	}
}

/** Default timeouts; queue visibility timeouts derive from the worker timeout. */
export const TIMEOUTS = {
	api: Duration.seconds(29),
	scheduler: Duration.seconds(55),
	worker: Duration.minutes(5),
} as const;
