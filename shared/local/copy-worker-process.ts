// A local-mode chunk worker: the copy-worker Lambda handler fed from the copy and the verify
// queues (in AWS, two functions with the same handler), as a child process of `ferry local`
// (so it can be killed and restarted like a Lambda container).

import { handler } from "../../functions/copy-worker/handler.ts";
import { sqsClient } from "../aws/clients.ts";
import { configFromEnv } from "../config.ts";
import { closePools } from "../control/chunk-runner.ts";
import { pollIntoHandler } from "./lambda-poller.ts";

const config = configFromEnv();
const stop = new AbortController();
const quit = () => stop.abort();
process.on("SIGTERM", quit);
process.on("SIGINT", quit);
process.on("disconnect", quit); // the parent died: don't linger

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
await closePools();
process.exit(0);
