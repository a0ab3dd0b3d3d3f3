import type { Node } from "constructs";
import { parsePrincipalRoles } from "../shared/aws/api-caller.ts";

/** Secrets Manager name prefix for data-source passwords: `ferry/datasources/<id>`. */
export const SECRET_PREFIX = "ferry/datasources/";

/** CloudWatch namespace for Ferry's custom metrics. */
export const METRICS_NAMESPACE = "Ferry";

/** POWERTOOLS_SERVICE_NAME shared by every function and task. */
export const SERVICE_NAME = "ferry";

export interface ImportedVpcConfig {
	readonly vpcId: string;
	readonly privateSubnetIds: string[];
	readonly availabilityZones: string[];
}

export interface WorkerConfig {
	/** SQS batch size, 1..10. */
	readonly batchSize: number;
	/** Event source maximum concurrency (2..1000), if set. */
	readonly maxConcurrency?: number;
	/** Reserved concurrent executions of the function, if set. */
	readonly reservedConcurrency?: number;
}

export interface FerryConfig {
	/** Existing VPC to run in; undefined creates a small VPC. */
	readonly vpc?: ImportedVpcConfig;
	/** Container image URI for the capture-replay Fargate task; absent, it is built from this repository. */
	readonly taskImage?: string;
	readonly copyWorker: WorkerConfig;
	readonly verifyWorker: WorkerConfig;
	/** FERRY_IAM_ROLES for the api function (shared/aws/api-caller.ts), as JSON; absent, every IAM caller is an admin. */
	readonly iamRoles?: string;
}

/**
 * Reads the stack's configuration from CDK context (cdk.json or `-c key=value`).
 *
 * - `vpcId`, `privateSubnetIds`, `availabilityZones`: import an existing VPC (lists as JSON arrays or comma-separated).
 * - `taskImage`: image URI for the capture-replay task (default: built from tasks/replication at deploy).
 * - `copyBatchSize`, `copyMaxConcurrency`, `copyReservedConcurrency`: copy worker tuning
 *   (`verify...` likewise for the verify worker).
 * - `iamRoles`: the API's roles of IAM principals, an object (or its JSON) from principal ARN to
 *   admin, operator or viewer, `*` for the others (shared/aws/api-caller.ts); checked here so a
 *   mistake fails the synth, not the function.
 */
export function readConfig(node: Node): FerryConfig {
	const vpcId = optionalString(node, "vpcId");
	let vpc: ImportedVpcConfig | undefined;
	if (vpcId !== undefined) {
		const privateSubnetIds = stringList(node, "privateSubnetIds");
		const availabilityZones = stringList(node, "availabilityZones");
		if (privateSubnetIds.length === 0 || availabilityZones.length === 0) {
			throw new Error(
				"context vpcId needs privateSubnetIds and availabilityZones too (e.g. -c privateSubnetIds=subnet-a,subnet-b -c availabilityZones=eu-west-1a,eu-west-1b)",
			);
		}
		if (privateSubnetIds.length % availabilityZones.length !== 0) {
			throw new Error(
				`context privateSubnetIds (${privateSubnetIds.length}) must be a multiple of availabilityZones (${availabilityZones.length}), one subnet per zone in zone order`,
			);
		}
		vpc = { vpcId, privateSubnetIds, availabilityZones };
	}
	return {
		vpc,
		taskImage: optionalString(node, "taskImage"),
		copyWorker: workerConfig(node, "copy"),
		verifyWorker: workerConfig(node, "verify"),
		iamRoles: iamRoles(node),
	};
}

function iamRoles(node: Node): string | undefined {
	const value: unknown = node.tryGetContext("iamRoles");
	if (value === undefined || value === null || value === "") return undefined;
	const roles = parsePrincipalRoles(typeof value === "string" ? value : JSON.stringify(value));
	return roles && JSON.stringify(roles);
}

function workerConfig(node: Node, prefix: string): WorkerConfig {
	const batchSize = optionalInt(node, `${prefix}BatchSize`, 1, 10) ?? 5;
	const reservedConcurrency = optionalInt(node, `${prefix}ReservedConcurrency`, 1, 1000);
	let maxConcurrency = optionalInt(node, `${prefix}MaxConcurrency`, 2, 1000);
	if (maxConcurrency === undefined) {
		// Above the reserved concurrency the poller would only get throttled; the event source minimum is 2.
		const wanted = Math.min(DEFAULT_MAX_CONCURRENCY, reservedConcurrency ?? DEFAULT_MAX_CONCURRENCY);
		maxConcurrency = wanted >= 2 ? wanted : undefined;
	} else if (reservedConcurrency !== undefined && maxConcurrency > reservedConcurrency) {
		throw new Error(
			`context ${prefix}MaxConcurrency (${maxConcurrency}) must not exceed ${prefix}ReservedConcurrency (${reservedConcurrency})`,
		);
	}
	return { batchSize, maxConcurrency, reservedConcurrency };
}

/** Default concurrency cap per worker, which also caps the connections a worker opens on the databases. */
const DEFAULT_MAX_CONCURRENCY = 10;

function optionalString(node: Node, key: string): string | undefined {
	const value: unknown = node.tryGetContext(key);
	if (value === undefined || value === null || value === "") return undefined;
	if (typeof value !== "string") throw new Error(`context ${key} must be a string`);
	return value;
}

function stringList(node: Node, key: string): string[] {
	const value: unknown = node.tryGetContext(key);
	if (value === undefined || value === null || value === "") return [];
	if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value;
	if (typeof value === "string") {
		const text = value.trim();
		if (text.startsWith("[")) return stringListFromJson(key, text);
		return text
			.split(",")
			.map((s) => s.trim())
			.filter((s) => s !== "");
	}
	throw new Error(`context ${key} must be a list of strings or a comma-separated string`);
}

function stringListFromJson(key: string, text: string): string[] {
	const parsed: unknown = JSON.parse(text);
	if (Array.isArray(parsed) && parsed.every((v) => typeof v === "string")) return parsed;
	throw new Error(`context ${key} must be a JSON array of strings`);
}

function optionalInt(node: Node, key: string, min: number, max: number): number | undefined {
	const value: unknown = node.tryGetContext(key);
	if (value === undefined || value === null || value === "") return undefined;
	const n = typeof value === "number" ? value : Number(value);
	if (!Number.isInteger(n) || n < min || n > max) {
		throw new Error(`context ${key} must be an integer from ${min} to ${max}, got ${String(value)}`);
	}
	return n;
}
