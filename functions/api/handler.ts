import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";
import { dispatch, type HttpResponse } from "../../shared/api/dispatch.ts";
import { apiGatewayCaller, parsePrincipalRoles } from "../../shared/aws/api-caller.ts";
import { configFromEnv } from "../../shared/config.ts";
import { contextFrom } from "../../shared/context.ts";
import { logger } from "../../shared/observability.ts";

const ctx = contextFrom(configFromEnv());
const principalRoles = parsePrincipalRoles(process.env.FERRY_IAM_ROLES);

const answer = (res: HttpResponse): APIGatewayProxyResult => ({
	statusCode: res.status,
	headers: { "content-type": "application/json" },
	body: res.body === undefined ? "" : JSON.stringify(res.body),
});

/**
 * API Gateway (REST, Lambda proxy) -> Ferry's API. The gateway authenticates (IAM, or a Cognito
 * authorizer); the caller's role comes from shared/aws/api-caller.ts.
 */
export const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>()
	.use(injectLambdaContext(logger))
	.handler(async (event) => {
		const caller = apiGatewayCaller(event, principalRoles);
		if ("refusal" in caller)
			return answer({ status: 403, body: { error: { code: "FORBIDDEN", message: caller.refusal } } });
		const query = Object.fromEntries(Object.entries(event.queryStringParameters ?? {}));
		const body = event.body && event.isBase64Encoded ? Buffer.from(event.body, "base64").toString("utf8") : event.body;
		return answer(
			await dispatch(ctx, { method: event.httpMethod, path: event.path, query, body, actor: caller.actor }),
		);
	});
