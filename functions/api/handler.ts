import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";
import { dispatch } from "../../shared/api/dispatch.ts";
import { configFromEnv } from "../../shared/config.ts";
import { contextFrom } from "../../shared/context.ts";
import { logger } from "../../shared/observability.ts";

const ctx = contextFrom(configFromEnv());

/** API Gateway (REST, Lambda proxy) -> Ferry's API. Authentication is IAM at the gateway. */
export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
	.use(injectLambdaContext(logger))
	.handler(async (event) => {
		const query = Object.fromEntries(Object.entries(event.queryStringParameters ?? {}));
		const body = event.body && event.isBase64Encoded ? Buffer.from(event.body, "base64").toString("utf8") : event.body;
		const res = await dispatch(ctx, {
			method: event.httpMethod,
			path: event.path,
			query,
			body,
		});
		return {
			statusCode: res.status,
			headers: { "content-type": "application/json" },
			body: res.body === undefined ? "" : JSON.stringify(res.body),
		};
	});
