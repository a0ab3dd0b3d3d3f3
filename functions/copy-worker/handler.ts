import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import middy from "@middy/core";
import type { SQSEvent, SQSRecord } from "aws-lambda";
import { configFromEnv } from "../../shared/config.ts";
import { runChunk } from "../../shared/control/chunk-runner.ts";
import type { ChunkMessage } from "../../shared/control/chunks.ts";
import { contextFrom } from "../../shared/control/context.ts";
import { logger, metrics } from "../../shared/observability.ts";

const ctx = contextFrom(configFromEnv());
const processor = new BatchProcessor(EventType.SQS);

async function record(r: SQSRecord): Promise<void> {
	const message = JSON.parse(r.body) as ChunkMessage;
	const outcome = await runChunk(ctx, message);
	metrics.addMetric(outcome === "failed" ? "ChunksFailed" : "ChunksProcessed", "Count", 1);
	logger.info("chunk processed", {
		projectId: message.projectId,
		chunk: message.sk,
		outcome,
	});
}

/**
 * SQS copy-chunks -> one full-migration chunk per record. A record that throws (a chunk held
 * by another worker, an unreadable message) is reported as a partial batch failure and comes
 * back; a chunk whose copy fails is recorded on the chunk and retried by the scheduler.
 */
export const handler = middy<SQSEvent>()
	.use(injectLambdaContext(logger))
	.use(logMetrics(metrics))
	.handler(async (event, context) => processPartialResponse(event, record, processor, { context }));
