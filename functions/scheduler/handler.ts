import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import middy from "@middy/core";
import { configFromEnv } from "../../shared/config.ts";
import { contextFrom } from "../../shared/context.ts";
import { logger, metrics } from "../../shared/observability.ts";
import { advanceAll } from "../../shared/scheduler/loop.ts";

const ctx = contextFrom(configFromEnv());

/** EventBridge tick (every minute): advance every running project's state machine. */
export const handler = middy()
	.use(injectLambdaContext(logger))
	.use(logMetrics(metrics))
	.handler(async () => {
		const advanced = await advanceAll(ctx);
		metrics.addMetric("ProjectsAdvanced", "Count", advanced);
	});
