import type { Node } from "constructs";
import { type PrincipalRoles, parsePrincipalRoles } from "../shared/aws/api-caller.ts";

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
	/** The subnets' route tables, in the same order; needed only for gateway endpoints (vpcEndpoints). */
	readonly privateSubnetRouteTableIds?: string[];
}

/** How a chunk worker (the copy or the verify function) is sized; every field has a default. */
export interface WorkerSizing {
	/**
	 * Memory of the function in MiB, 128..10240 (Lambda gives CPU in proportion).
	 * @default 1024
	 */
	readonly memorySize?: number;
	/**
	 * Chunks one invocation takes from the queue, 1..10.
	 * @default 5
	 */
	readonly batchSize?: number;
	/**
	 * Most concurrent invocations the queue's event source starts, 2..1000; with the batch size it
	 * bounds the connections a worker opens on the databases.
	 * @default 10, or reservedConcurrency when that is lower (and at least 2)
	 */
	readonly maxConcurrency?: number;
	/**
	 * Concurrent executions reserved for the function (and its ceiling), 1..1000.
	 * @default none: the account's unreserved pool
	 */
	readonly reservedConcurrency?: number;
}

/** A worker's sizing with the defaults filled in. */
export interface WorkerConfig {
	readonly memorySize: number;
	readonly batchSize: number;
	readonly maxConcurrency?: number;
	readonly reservedConcurrency?: number;
}

/** Size of the capture-replay Fargate task. */
export interface TaskSizing {
	/**
	 * vCPU units, 1024 = 1 vCPU: 256, 512, 1024, 2048, 4096, 8192 or 16384.
	 * @default 1024
	 */
	readonly cpu?: number;
	/**
	 * Memory in MiB, a size Fargate offers for that cpu (for 1024: 2048..8192 in steps of 1024).
	 * @default 2048
	 */
	readonly memoryLimitMiB?: number;
}

export interface FerryConfig {
	/** Existing VPC to run in; undefined creates a small VPC. */
	readonly vpc?: ImportedVpcConfig;
	/** Container image URI for the capture-replay Fargate task; absent, it is built from this repository. */
	readonly taskImage?: string;
	readonly copyWorker: WorkerSizing;
	readonly verifyWorker: WorkerSizing;
	readonly replicationTask: TaskSizing;
	/** AWS service endpoints in the VPC; absent, the construct's default. */
	readonly vpcEndpoints?: boolean;
	/** NAT gateways of the VPC Ferry makes; absent, the construct's default. */
	readonly natGateways?: number;
	/** Roles of IAM principals in the API (shared/aws/api-caller.ts); absent, every IAM caller is an admin. */
	readonly iamRoles?: PrincipalRoles;
	/** The console's managed-login domain prefix; absent, `ferry-<account>`. */
	readonly consoleDomainPrefix?: string;
}

/**
 * Reads the stack's configuration from CDK context (cdk.json or `-c key=value`).
 *
 * - `vpcId`, `privateSubnetIds`, `availabilityZones`: import an existing VPC (lists as JSON arrays or comma-separated);
 *   `privateSubnetRouteTableIds` too when `vpcEndpoints` should add gateway endpoints to it.
 * - `taskImage`: image URI for the capture-replay task (default: built from tasks/replication at deploy).
 * - `copyBatchSize`, `copyMaxConcurrency`, `copyReservedConcurrency`, `copyMemorySize`: copy worker
 *   sizing (`verify...` likewise for the verify worker).
 * - `taskCpu`, `taskMemory`: the capture-replay task's vCPU units and MiB.
 * - `vpcEndpoints` (true/false), `natGateways`: the VPC's way out (cdk/ferry.ts FerryProps).
 * - `consoleDomainPrefix`: the web console's Cognito managed-login domain prefix (unique in the region).
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
		const routeTables = stringList(node, "privateSubnetRouteTableIds");
		if (routeTables.length > 0 && routeTables.length !== privateSubnetIds.length) {
			throw new Error(
				`context privateSubnetRouteTableIds (${routeTables.length}) must name one route table per subnet of privateSubnetIds (${privateSubnetIds.length})`,
			);
		}
		vpc = {
			vpcId,
			privateSubnetIds,
			availabilityZones,
			...(routeTables.length > 0 && { privateSubnetRouteTableIds: routeTables }),
		};
	}
	return {
		vpc,
		taskImage: optionalString(node, "taskImage"),
		copyWorker: workerConfig(node, "copy"),
		verifyWorker: workerConfig(node, "verify"),
		replicationTask: {
			cpu: optionalInt(node, "taskCpu", 256, 16384),
			memoryLimitMiB: optionalInt(node, "taskMemory", 512, 122880),
		},
		vpcEndpoints: optionalBoolean(node, "vpcEndpoints"),
		natGateways: optionalInt(node, "natGateways", 0, 3),
		iamRoles: iamRoles(node),
		consoleDomainPrefix: optionalString(node, "consoleDomainPrefix"),
	};
}

function iamRoles(node: Node): PrincipalRoles | undefined {
	const value: unknown = node.tryGetContext("iamRoles");
	if (value === undefined || value === null || value === "") return undefined;
	return parsePrincipalRoles(typeof value === "string" ? value : JSON.stringify(value));
}

function workerConfig(node: Node, prefix: string): WorkerSizing {
	const sizing = {
		memorySize: optionalInt(node, `${prefix}MemorySize`, 128, 10240),
		batchSize: optionalInt(node, `${prefix}BatchSize`, 1, 10),
		reservedConcurrency: optionalInt(node, `${prefix}ReservedConcurrency`, 1, 1000),
		maxConcurrency: optionalInt(node, `${prefix}MaxConcurrency`, 2, 1000),
	};
	const { maxConcurrency: max, reservedConcurrency: reserved } = sizing;
	if (max !== undefined && reserved !== undefined && max > reserved) {
		throw new Error(
			`context ${prefix}MaxConcurrency (${max}) must not exceed ${prefix}ReservedConcurrency (${reserved})`,
		);
	}
	return sizing;
}

/** Fills in a worker's defaults and checks its ranges; `label` names it in errors (e.g. copyWorker). */
export function resolveWorker(label: string, sizing: WorkerSizing = {}): WorkerConfig {
	const memorySize = checkedInt(`${label}.memorySize`, sizing.memorySize, 128, 10240) ?? 1024;
	const batchSize = checkedInt(`${label}.batchSize`, sizing.batchSize, 1, 10) ?? 5;
	const reservedConcurrency = checkedInt(`${label}.reservedConcurrency`, sizing.reservedConcurrency, 1, 1000);
	let maxConcurrency = checkedInt(`${label}.maxConcurrency`, sizing.maxConcurrency, 2, 1000);
	if (maxConcurrency === undefined) {
		// Above the reserved concurrency the poller would only get throttled; the event source minimum is 2.
		const wanted = Math.min(DEFAULT_MAX_CONCURRENCY, reservedConcurrency ?? DEFAULT_MAX_CONCURRENCY);
		maxConcurrency = wanted >= 2 ? wanted : undefined;
	} else if (reservedConcurrency !== undefined && maxConcurrency > reservedConcurrency) {
		throw new Error(
			`${label}.maxConcurrency (${maxConcurrency}) must not exceed ${label}.reservedConcurrency (${reservedConcurrency})`,
		);
	}
	return { memorySize, batchSize, maxConcurrency, reservedConcurrency };
}

/** Fargate's cpu → memory (MiB) offers: [min, max, step]. */
const FARGATE_MEMORY: Record<number, [number, number, number]> = {
	256: [512, 2048, 512],
	512: [1024, 4096, 1024],
	1024: [2048, 8192, 1024],
	2048: [4096, 16384, 1024],
	4096: [8192, 30720, 1024],
	8192: [16384, 61440, 4096],
	16384: [32768, 122880, 8192],
};

/** Fills in the task's defaults and checks the pair is one Fargate offers (else the deploy would fail). */
export function resolveTask(sizing: TaskSizing = {}): Required<TaskSizing> {
	const cpu = sizing.cpu ?? 1024;
	const offer = FARGATE_MEMORY[cpu];
	if (!offer)
		throw new Error(`replicationTask.cpu must be one of ${Object.keys(FARGATE_MEMORY).join(", ")}, got ${cpu}`);
	const [min, max, step] = offer;
	const memoryLimitMiB = sizing.memoryLimitMiB ?? Math.max(2048, min);
	if (memoryLimitMiB < min || memoryLimitMiB > max || (memoryLimitMiB - min) % step !== 0) {
		throw new Error(
			`replicationTask.memoryLimitMiB ${memoryLimitMiB} is not offered with cpu ${cpu}: ${min}..${max} in steps of ${step}`,
		);
	}
	return { cpu, memoryLimitMiB };
}

function checkedInt(name: string, value: number | undefined, min: number, max: number): number | undefined {
	if (value === undefined) return undefined;
	if (!Number.isInteger(value) || value < min || value > max) {
		throw new Error(`${name} must be an integer from ${min} to ${max}, got ${value}`);
	}
	return value;
}

/** Default concurrency cap per worker, which also caps the connections a worker opens on the databases. */
const DEFAULT_MAX_CONCURRENCY = 10;

function optionalBoolean(node: Node, key: string): boolean | undefined {
	const value: unknown = node.tryGetContext(key);
	if (value === undefined || value === null || value === "") return undefined;
	if (value === true || value === "true") return true;
	if (value === false || value === "false") return false;
	throw new Error(`context ${key} must be true or false, got ${String(value)}`);
}

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
