import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";

/** One logger and one metrics object per process, as Powertools recommends. */
export const logger = new Logger({
	serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? "ferry",
});

export const metrics = new Metrics({
	namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? "Ferry",
	serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? "ferry",
});
