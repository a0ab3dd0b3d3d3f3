import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import middy from "@middy/core";
import { AlarmStateChange, recordAlarmChange } from "../../shared/alerts/cloudwatch.ts";
import { configFromEnv } from "../../shared/config.ts";
import { contextFrom } from "../../shared/context.ts";
import { logger, metrics } from "../../shared/observability.ts";
import { advanceAll } from "../../shared/scheduler/loop.ts";

const ctx = contextFrom(configFromEnv());

/**
 * EventBridge's tick (every minute): advance every running project's state machine and evaluate
 * alerts. The same function receives the stack's CloudWatch alarm state changes (another rule)
 * and records them in the alert history.
 */
export const handler = middy()
	.use(injectLambdaContext(logger))
	.use(logMetrics(metrics))
	.handler(async (event: unknown) => {
		const alarm = AlarmStateChange.safeParse(event);
		if (alarm.success) return recordAlarmChange(ctx, alarm.data);
		const advanced = await advanceAll(ctx);
		metrics.addMetric("ProjectsAdvanced", "Count", advanced);
	});
