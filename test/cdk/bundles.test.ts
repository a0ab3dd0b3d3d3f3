import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CreateTableCommand, DeleteTableCommand, DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import { ECSClient } from "@aws-sdk/client-ecs";
import { CreateTopicCommand, SNSClient } from "@aws-sdk/client-sns";
import { DeleteQueueCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FerryClient } from "../../shared/api/client.ts";
import { EcsTaskLauncher } from "../../shared/aws/ecs-launcher.ts";
import { ensureQueueWithDeadLetter, WorkQueue } from "../../shared/aws/work-queue.ts";
import type { ProjectStatus } from "../../shared/control/status.ts";
import { pollIntoHandler } from "../../shared/local/lambda-poller.ts";
import { replicationId } from "../../shared/replication/ids.ts";
import type { VerificationResults } from "../../shared/scheduler/verification-results.ts";
import { type ApiGatewayStandIn, startApiGatewayStandIn } from "../support/api-gateway-standin.ts";
import { uniqueName } from "../support/aws.ts";
import { type AwsStandIns, installTaskImage, startAwsStandIns } from "../support/aws-standins.ts";
import {
	type FunctionAsset,
	functionAsset,
	functionAssets,
	resolveEnvironment,
	resource,
	synthesizedOutput,
	type Template,
	taskImage,
} from "../support/cdk-out.ts";
import {
	createDatabase,
	destinationCredentials,
	dropDatabase,
	execute,
	sourceCredentials,
	uniqueDatabase,
} from "../support/databases.ts";
import { type RunningFunction, startFunction } from "../support/lambda-runtime.ts";
import { waitFor, waitForIdentical } from "../support/stack.ts";

/**
 * The artefacts `cdk synth` writes, run as AWS would run them: each Lambda asset folder loaded in
 * a fresh Node 24 process (Lambda's runtime, API Gateway, Secrets Manager and ECS are stand-ins:
 * they cannot run here), against the embedded DynamoDB/SQS/SNS servers and the MariaDB
 * instances, and the capture-replay image's bundle started by RunTask doing a real replication.
 */

const EMBEDDED_SQS = `http://127.0.0.1:${process.env.FERRY_EMBEDDED_SQS_PORT ?? 14566}`;
const EMBEDDED_DYNAMODB = `http://127.0.0.1:${process.env.FERRY_EMBEDDED_DYNAMODB_PORT ?? 14567}`;
const LOCAL = { region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } };
const CALLER = "arn:aws:sts::123456789012:assumed-role/FerryOperators/alice";
/** Only the cluster matters for StopTask; the stand-in keeps one cluster. */
const ECS_SETTINGS = { cluster: "ferry", taskDefinition: "", container: "", subnets: [], securityGroups: [] };

/** ELF e_machine of a native addon: 0xb7 is AArch64, 0x3e x86-64. */
const elfMachine = (file: string) => readFileSync(file).readUInt16LE(18);

async function createStateTable(template: Template, name: string): Promise<void> {
	const [, table] = resource(template, "AWS::DynamoDB::Table", "StateTable");
	const p = table.Properties as Record<string, never>;
	await new DynamoDBClient({ ...LOCAL, endpoint: EMBEDDED_DYNAMODB }).send(
		new CreateTableCommand({
			TableName: name,
			KeySchema: p.KeySchema,
			AttributeDefinitions: p.AttributeDefinitions,
			BillingMode: p.BillingMode,
		}),
	);
}

describe("the synthesized bundles (Lambda runtime, API Gateway, Secrets Manager and ECS are stand-ins)", () => {
	const db = uniqueDatabase("bundles");
	const tableName = uniqueName("ferry-bundles");
	const sqs = new SQSClient({ ...LOCAL, endpoint: EMBEDDED_SQS });
	const queues: string[] = [];
	let assets: FunctionAsset[];
	const running: Record<string, RunningFunction> = {};
	let aws: AwsStandIns;
	let gateway: ApiGatewayStandIn;
	let api: FerryClient;
	let copyQueueUrl: string;
	let verifyQueueUrl: string;
	const pumps = new AbortController();
	const batches: Array<{ event: SQSEvent; response: SQSBatchResponse | undefined }> = [];

	beforeAll(async () => {
		const { template, outDir } = synthesizedOutput();
		assets = functionAssets(template, outDir);
		await createStateTable(template, tableName);
		const copy = await ensureQueueWithDeadLetter(sqs, uniqueName("copy"), {
			maxReceiveCount: 5,
			visibilitySeconds: 60,
		});
		const verify = await ensureQueueWithDeadLetter(sqs, uniqueName("verify"), {
			maxReceiveCount: 5,
			visibilitySeconds: 60,
		});
		queues.push(copy.url, copy.deadLetterUrl, verify.url, verify.deadLetterUrl);
		copyQueueUrl = copy.url;
		verifyQueueUrl = verify.url;
		const topic = await new SNSClient({ ...LOCAL, endpoint: EMBEDDED_SQS }).send(
			new CreateTopicCommand({ Name: uniqueName("alerts") }),
		);
		const [stateTable] = resource(template, "AWS::DynamoDB::Table", "StateTable");
		const [copyQueue] = resource(template, "AWS::SQS::Queue", "CopyChunksQueue");
		const [verifyQueue] = resource(template, "AWS::SQS::Queue", "VerifyChunksQueue");
		const [cluster] = resource(template, "AWS::ECS::Cluster", "ReplicationCluster");
		const [taskDefinition] = resource(template, "AWS::ECS::TaskDefinition", "ReplicationCaptureReplay");
		const [workloads] = resource(template, "AWS::EC2::SecurityGroup", "NetworkWorkloads");
		const [alertTopic] = resource(template, "AWS::SNS::Topic", "AlertAlarmsTopic");
		const values: Record<string, string> = {
			[stateTable]: tableName,
			[copyQueue]: copy.url,
			[verifyQueue]: verify.url,
			[`${cluster}.Arn`]: "arn:aws:ecs:us-east-1:123456789012:cluster/ferry",
			[taskDefinition]: "arn:aws:ecs:us-east-1:123456789012:task-definition/ferry-capture-replay:1",
			[`${workloads}.GroupId`]: "sg-0123456789abcdef0",
			[alertTopic]: String(topic.TopicArn),
		};
		for (const [id, r] of Object.entries(template.Resources))
			if (r.Type === "AWS::EC2::Subnet") values[id] = `subnet-${id.slice(-8).toLowerCase()}`;

		const image = taskImage(template, outDir);
		const credentials = {
			AWS_ACCESS_KEY_ID: "AKIDTASKROLE",
			AWS_SECRET_ACCESS_KEY: "task-secret",
			AWS_REGION: "us-east-1",
		};
		const endpoints: Record<string, string> = {
			AWS_ENDPOINT_URL_DYNAMODB: EMBEDDED_DYNAMODB,
			AWS_ENDPOINT_URL_SQS: EMBEDDED_SQS,
			AWS_ENDPOINT_URL_SNS: EMBEDDED_SQS,
		};
		// the task role's credentials; the task reaches the stand-ins too (data-source passwords)
		const taskEnvironment = { ...credentials, ...endpoints };
		aws = await startAwsStandIns({
			image: { dir: installTaskImage(image.dir), environment: resolveEnvironment(image.environment, values) },
			taskEnvironment,
		});
		endpoints.AWS_ENDPOINT_URL_SECRETS_MANAGER = aws.endpoint;
		endpoints.AWS_ENDPOINT_URL_ECS = aws.endpoint;
		Object.assign(taskEnvironment, endpoints);
		for (const prefix of ["ApiFn", "SchedulerFn", "CopyWorkerFn", "VerifyWorkerFn"]) {
			const asset = functionAsset(assets, prefix);
			running[prefix] = await startFunction(asset, resolveEnvironment(asset.environment, values), endpoints);
		}
		gateway = await startApiGatewayStandIn(running.ApiFn as RunningFunction, CALLER);
		api = new FerryClient(gateway.url, async (req) => req.headers);
		await createDatabase(
			sourceCredentials,
			db,
			"CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, qty INT NOT NULL)",
			`INSERT INTO items VALUES ${Array.from({ length: 300 }, (_, i) => `(${i + 1}, 'item ${i + 1}', ${i % 7})`).join(",")}`,
		);
	}, 300_000);

	afterAll(async () => {
		pumps.abort();
		await gateway?.close();
		for (const f of Object.values(running)) await f.stop();
		await aws?.close();
		for (const url of queues) await sqs.send(new DeleteQueueCommand({ QueueUrl: url })).catch(() => {});
		await new DynamoDBClient({ ...LOCAL, endpoint: EMBEDDED_DYNAMODB })
			.send(new DeleteTableCommand({ TableName: tableName }))
			.catch(() => {});
		await dropDatabase(db, sourceCredentials, destinationCredentials);
	}, 120_000);

	it("each Node.js function is an arm64 ESM bundle that loads in a fresh Node 24 process and carries the arm64 native addon", () => {
		expect(assets.map((a) => a.logicalId.replace(/Function.*$/, "")).sort()).toEqual([
			"ApiFn",
			"CopyWorkerFn",
			"SchedulerFn",
			"VerifyWorkerFn",
		]);
		for (const a of assets) {
			expect(a.runtime).toBe("nodejs24.x");
			expect(a.architectures).toEqual(["arm64"]);
			const addon = join(a.dir, "node_modules/@node-rs/crc32-linux-arm64-gnu/crc32.linux-arm64-gnu.node");
			expect(elfMachine(addon), `${a.logicalId}: ${addon}`).toBe(0xb7);
		}
		for (const f of Object.values(running)) expect(f.initMs).toBeGreaterThan(0);
	});

	it("the capture-replay image installs from its lockfile at the repository's versions", () => {
		const { outDir, template } = synthesizedOutput();
		const lock = JSON.parse(readFileSync(join(taskImage(template, outDir).dir, "package-lock.json"), "utf8"));
		const repo = JSON.parse(readFileSync(join(import.meta.dirname, "../../package-lock.json"), "utf8"));
		expect(Object.keys(lock.packages[""].dependencies).sort()).toEqual([
			"@platformatic/kafka",
			"@vlasky/zongji",
			"rocketmq-client-nodejs",
		]);
		for (const [path, entry] of Object.entries(lock.packages as Record<string, { version?: string }>)) {
			if (path !== "") expect(entry.version, path).toBe(repo.packages[path]?.version);
		}
		expect(lock.packages["node_modules/@node-rs/crc32-linux-arm64-gnu"]?.optional).toBe(true);
	});

	it("runs a migration end to end: API requests with an IAM identity, scheduled ticks, SQS batches with a failing record, a replication task", async () => {
		// API Gateway proxy events with the caller's IAM identity
		const me = await api.get<{ name: string; role: string }>("/me");
		expect(me).toMatchObject({ name: CALLER, role: "admin" });
		const src = await api.post<{ id: string }>("/datasources", {
			name: "src",
			engine: "mariadb",
			...sourceCredentials,
		});
		const dst = await api.post<{ id: string }>("/datasources", {
			name: "dst",
			engine: "mariadb",
			...destinationCredentials,
		});
		expect([...aws.secrets.keys()].sort()).toEqual(
			[`ferry/datasources/${dst.id}`, `ferry/datasources/${src.id}`].sort(),
		);
		const scan = await new DynamoDBClient({ ...LOCAL, endpoint: EMBEDDED_DYNAMODB }).send(
			new ScanCommand({ TableName: tableName }),
		);
		expect(JSON.stringify(scan.Items)).not.toContain(sourceCredentials.password);

		// a record the message schema refuses waits in the copy queue among the real chunks
		await new WorkQueue(sqs, copyQueueUrl).send([{ projectId: 42, note: "not a chunk message" }]);
		const project = await api.post<{ id: string }>("/projects", {
			name: "bundles",
			sourceId: src.id,
			destinationId: dst.id,
			types: ["schema", "full", "incremental"],
			objects: [{ database: db }],
			options: { chunkRows: 100 },
		});
		await api.post(`/projects/${project.id}/actions/start`);

		// EventBridge's scheduled event, every second instead of every minute
		const tick = async () => {
			while (!pumps.signal.aborted) {
				await (running.SchedulerFn as RunningFunction).invoke({
					version: "0",
					id: crypto.randomUUID(),
					"detail-type": "Scheduled Event",
					source: "aws.events",
					account: "123456789012",
					time: new Date().toISOString(),
					region: "us-east-1",
					resources: ["arn:aws:events:us-east-1:123456789012:rule/FerryStack-SchedulerTick"],
					detail: {},
				});
				await new Promise((r) => setTimeout(r, 1000));
			}
		};
		const scheduler = tick();
		// Lambda's SQS event source mapping for each worker (batch size as in the template)
		const recorded =
			(fn: RunningFunction) =>
			async (event: SQSEvent): Promise<SQSBatchResponse | undefined> => {
				// a function that throws fails the whole batch (Powertools throws when every record failed)
				const response = await fn
					.invoke<SQSBatchResponse | null>(event)
					.catch(() => ({ batchItemFailures: event.Records.map((r) => ({ itemIdentifier: r.messageId })) }));
				batches.push({ event, response: response ?? undefined });
				return response ?? undefined;
			};
		// the refused record shares its batch with real chunks once the scheduler has queued them
		await waitFor("chunks queued beside the refused record", async () => {
			const depth = await new WorkQueue(sqs, copyQueueUrl).depth();
			return depth.visible >= 3 ? depth : undefined;
		});
		const workers = [
			pollIntoHandler({
				sqs,
				queueUrl: copyQueueUrl,
				functionName: "CopyWorkerFn",
				handler: recorded(running.CopyWorkerFn as RunningFunction),
				batchSize: 5,
				signal: pumps.signal,
			}),
			pollIntoHandler({
				sqs,
				queueUrl: verifyQueueUrl,
				functionName: "VerifyWorkerFn",
				handler: recorded(running.VerifyWorkerFn as RunningFunction),
				batchSize: 5,
				signal: pumps.signal,
			}),
		];

		const replaying = await waitFor(
			"replay in exact mode",
			async () => {
				const s = await api.get<ProjectStatus>(`/projects/${project.id}/status`);
				if (s.state !== "running") throw new Error(`project stopped: ${JSON.stringify(s.ticket ?? s.steps)}`);
				return s.incremental?.phase === "exact" ? s : undefined;
			},
			150_000,
		);
		expect(replaying.steps.find((s) => s.name === "full")?.state).toBe("done");

		// the refused record failed alone; the chunks beside it were processed and acknowledged
		const refused = batches.find((b) => b.event.Records.some((r) => r.body.includes("not a chunk message")));
		expect(refused, "a batch held the refused record").toBeDefined();
		const refusedId = refused?.event.Records.find((r) => r.body.includes("not a chunk message"))?.messageId;
		expect(refused?.response?.batchItemFailures).toEqual([{ itemIdentifier: refusedId }]);
		const failures = batches.flatMap((b) => b.response?.batchItemFailures ?? []).map((f) => f.itemIdentifier);
		expect(new Set(failures)).toEqual(new Set([refusedId]));
		expect(refused?.event.Records.length).toBeGreaterThan(1);

		// the replication task: RunTask started the image's bundle, and it replays
		expect(aws.calls).toContain("RunTask");
		// ticks every second start a task again until the first one's heartbeat shows; those
		// find the stream's lease held and exit (shared/replication/lease.ts)
		expect(aws.tasks.filter((t) => t.lastStatus === "RUNNING").length).toBeGreaterThan(0);
		await execute(
			sourceCredentials,
			`USE \`${db}\``,
			"INSERT INTO items VALUES (1001, 'new', 1), (1002, 'newer', 2)",
			"UPDATE items SET qty = qty + 10 WHERE id <= 50",
			"DELETE FROM items WHERE id BETWEEN 100 AND 120",
		);
		const same = await waitForIdentical(sourceCredentials, destinationCredentials, db, 60_000);
		expect(same.identical, same.lines.join("\n")).toBe(true);

		// verification through the verify worker's queue
		await api.post(`/projects/${project.id}/verification`, {});
		const verified = await waitFor(
			"verification done",
			async () => {
				const r = await api.get<VerificationResults>(`/projects/${project.id}/verification`);
				return r.run.state === "done" || r.run.state === "failed" ? r : undefined;
			},
			90_000,
		);
		expect(verified.run.state).toBe("done");
		expect(verified.tables.map((t) => [t.rowsChecked, t.missing, t.extra, t.different])).toEqual([[281, 0, 0, 0]]);

		// the alarm rule's event reaches the same scheduler function and lands in the alert history
		await (running.SchedulerFn as RunningFunction).invoke({
			version: "0",
			id: crypto.randomUUID(),
			"detail-type": "CloudWatch Alarm State Change",
			source: "aws.cloudwatch",
			account: "123456789012",
			time: new Date().toISOString(),
			region: "us-east-1",
			resources: ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:FerryStack-oms_migration_failed"],
			detail: {
				alarmName: "FerryStack-oms_migration_failed",
				state: { value: "ALARM", reason: "Threshold Crossed: 1 datapoint [1.0] was greater than 0.0" },
			},
		});
		const alerts = await api.get<{ alerts: Array<{ name: string; state: string }> }>("/alerts?range=7d");
		expect(alerts.alerts.map((a) => a.name)).toContain("oms_migration_failed");

		// ECS stops a task on a deploy or a host's retirement (StopTask: SIGTERM): it ends at a
		// transaction boundary with exit 0, and the next tick starts its replacement, which resumes
		const ecs = new EcsTaskLauncher(new ECSClient({ ...LOCAL, endpoint: aws.endpoint }), ECS_SETTINGS);
		const first = aws.tasks.filter((t) => t.lastStatus === "RUNNING");
		await ecs.stop(replicationId(project.id, "forward"));
		expect(aws.calls).toContain("StopTask");
		const ended = await waitFor(
			"the stopped task exited",
			async () => (first.every((t) => t.lastStatus === "STOPPED") ? first : undefined),
			60_000,
		);
		expect(
			ended.map((t) => t.exitCode),
			ended.map((t) => t.output.slice(-1000)).join("\n"),
		).toEqual(ended.map(() => 0));
		await waitFor(
			"a replacement task",
			async () => aws.tasks.find((t) => !first.includes(t) && t.lastStatus === "RUNNING"),
			60_000,
		);
		await execute(sourceCredentials, `USE \`${db}\``, "INSERT INTO items VALUES (1003, 'after the stop', 3)");
		const resumed = await waitForIdentical(sourceCredentials, destinationCredentials, db, 60_000);
		expect(resumed.identical, resumed.lines.join("\n")).toBe(true);

		// pausing ends every task with exit 0: the scheduler's StopTask or the task's own heartbeat,
		// which sees the project paused, whichever comes first
		await api.post(`/projects/${project.id}/actions/pause`);
		const stopped = await waitFor(
			"the task stopped",
			async () => (aws.tasks.every((t) => t.lastStatus === "STOPPED") ? aws.tasks : undefined),
			60_000,
		);
		expect(
			stopped.map((t) => t.exitCode),
			stopped.map((t) => t.output.slice(-1000)).join("\n"),
		).toEqual(stopped.map(() => 0));
		pumps.abort();
		await Promise.all([scheduler, ...workers]);
	}, 400_000);
});
