// A local-mode chunk worker: the chunk-worker Lambda handler fed from the copy and the verify
// queues (in AWS, two functions with the same handler), as a child process of `ferry local`
// (so it can be killed and restarted like a Lambda container).

import { handler } from "../../functions/chunk-worker/handler.ts";
import { sqsClient } from "../aws/clients.ts";
import { configFromEnv } from "../config.ts";
import { logger } from "../observability.ts";
import { closePools } from "../scheduler/chunks/worker.ts";
import { pollIntoHandler } from "./lambda-poller.ts";

const config = configFromEnv();
const stop = new AbortController();
const quit = () => stop.abort();
process.on("SIGTERM", quit);
process.on("SIGINT", quit);
process.on("disconnect", quit); // the parent died: don't linger

/** A parent that died took the embedded queue servers with it: its IPC channel closes around the same time. */
async function parentGone(): Promise<boolean> {
	for (let i = 0; i < 20 && process.connected && !stop.signal.aborted; i++) {
		await new Promise((r) => setTimeout(r, 50));
	}
	return stop.signal.aborted || !process.connected;
}

try {
	await Promise.all(
		[
			{ queueUrl: config.copyQueueUrl, functionName: "copy-worker" },
			{ queueUrl: config.verifyQueueUrl, functionName: "verify-worker" },
		].map((q) =>
			pollIntoHandler({
				sqs: sqsClient(config.region, config.sqsEndpoint),
				...q,
				handler: (event, context) => handler(event, context),
				batchSize: 1,
				signal: stop.signal,
			}),
		),
	);
} catch (err) {
	// once the parent is gone, a failed queue call is how the worker learns it: exit quietly
	if (!(await parentGone())) {
		logger.error("chunk worker stopped: its queues failed", { error: (err as Error).message });
		await closePools();
		process.exit(1);
	}
}
await closePools();
process.exit(0);
