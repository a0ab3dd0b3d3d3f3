import { once } from "node:events";
import { mkdirSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import dynalite from "dynalite";
import { startFauxqs } from "fauxqs";

/**
 * The local default: DynamoDB- and SQS-compatible servers that need only Node. dynalite keeps
 * the state table in LevelDB under `dataDir`, so a killed local run resumes from it. fauxqs
 * keeps queues in memory: its SQLite persistence loses a message whose visibility is set to 0
 * (fauxqs 2.4.1), and nothing depends on queued messages surviving, because the scheduler
 * re-enqueues every chunk that is not done once its lease lapses.
 * dynalite lacks TransactWriteItems, one reason the state store uses single-item conditional
 * writes only.
 */
export interface EmbeddedAws {
	dynamoEndpoint: string;
	sqsEndpoint: string;
	stop(): Promise<void>;
}

export async function startEmbeddedAws(options: {
	dataDir: string;
	dynamoPort?: number;
	sqsPort?: number;
}): Promise<EmbeddedAws> {
	mkdirSync(join(options.dataDir, "dynamodb"), { recursive: true });
	const dynamo: Server = dynalite({
		path: join(options.dataDir, "dynamodb"),
		createTableMs: 0,
		deleteTableMs: 0,
	});
	dynamo.listen(options.dynamoPort ?? 0, "127.0.0.1");
	await Promise.race([
		once(dynamo, "listening"),
		once(dynamo, "error").then(([err]) => {
			throw new Error(
				`embedded DynamoDB could not listen on 127.0.0.1:${options.dynamoPort}: ${(err as Error).message}`,
			);
		}),
	]);
	let sqs: Awaited<ReturnType<typeof startFauxqs>>;
	try {
		sqs = await startFauxqs({
			port: options.sqsPort ?? 0,
			host: "127.0.0.1",
			logger: false,
		});
	} catch (err) {
		dynamo.close();
		throw new Error(`embedded SQS could not listen on 127.0.0.1:${options.sqsPort}: ${(err as Error).message}`);
	}
	const dynamoPort = (dynamo.address() as AddressInfo).port;
	return {
		dynamoEndpoint: `http://127.0.0.1:${dynamoPort}`,
		sqsEndpoint: `http://127.0.0.1:${sqs.port}`,
		async stop() {
			await sqs.stop();
			await new Promise<void>((resolve) => dynamo.close(() => resolve()));
		},
	};
}
