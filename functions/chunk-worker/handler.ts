import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import middy from "@middy/core";
import type { SQSEvent, SQSRecord } from "aws-lambda";
import { configFromEnv } from "../../shared/config.ts";
import { contextFrom } from "../../shared/context.ts";
import { ChunkMessage } from "../../shared/model/chunk-message.ts";
import { logger, metrics } from "../../shared/observability.ts";
import { runChunk } from "../../shared/scheduler/chunks/worker.ts";

const ctx = contextFrom(configFromEnv());
const processor = new BatchProcessor(EventType.SQS);

async function record(r: SQSRecord): Promise<void> {
	const message = ChunkMessage.parse(JSON.parse(r.body));
	const outcome = await runChunk(ctx, message);
	metrics.addMetric(outcome === "failed" ? "ChunksFailed" : "ChunksProcessed", "Count", 1);
	logger.info("chunk processed", {
		projectId: message.projectId,
		chunk: message.sk,
		outcome,
	});
}

/**
 * The chunk worker: SQS copy-chunks or verify-chunks (two functions, this one handler) -> one
 * chunk per record, copied or verified (scheduler/chunks/worker.ts). A record is parsed by the
 * message schema, never cast. A record that throws (a chunk held by another
 * worker, a message the schema refuses) is reported as a partial batch failure and comes back
 * (to the dead-letter queue in the end); a chunk whose work fails is recorded on the chunk and
 * retried by the scheduler.
 */
export const handler = middy<SQSEvent>()
	.use(injectLambdaContext(logger))
	.use(logMetrics(metrics))
	.handler(async (event, context) => processPartialResponse(event, record, processor, { context }));
