import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";
import type { RunningFunction } from "./lambda-runtime.ts";

/**
 * API Gateway's hosting cannot run here: this stand-in turns each HTTP request into the REST
 * API's Lambda proxy event (stage `v1`, resource `/{proxy+}`), with the IAM identity that
 * API Gateway adds once a SigV4 signature verified, invokes the api function and answers with
 * what it returned. So FerryClient (the CLI's client) talks to the synthesized bundle unchanged.
 */
export interface ApiGatewayStandIn {
	readonly url: string;
	/** Every event sent to the function, for assertions on their shape. */
	readonly events: APIGatewayProxyEvent[];
	close(): Promise<void>;
}

export function proxyEvent(
	req: { method: string; path: string; query: URLSearchParams; headers: Record<string, string>; body: string },
	callerArn: string,
): APIGatewayProxyEvent {
	const query = req.query.size > 0 ? Object.fromEntries(req.query) : null;
	const multi =
		req.query.size > 0 ? Object.fromEntries([...req.query.keys()].map((k) => [k, req.query.getAll(k)])) : null;
	return {
		resource: req.path === "/" ? "/" : "/{proxy+}",
		path: req.path,
		httpMethod: req.method,
		headers: req.headers,
		multiValueHeaders: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, [v]])),
		queryStringParameters: query,
		multiValueQueryStringParameters: multi,
		pathParameters: req.path === "/" ? null : { proxy: req.path.slice(1) },
		stageVariables: null,
		body: req.body === "" ? null : req.body,
		isBase64Encoded: false,
		requestContext: {
			accountId: "123456789012",
			apiId: "ferrytest1",
			authorizer: null,
			protocol: "HTTP/1.1",
			httpMethod: req.method,
			path: `/v1${req.path}`,
			stage: "v1",
			requestId: randomUUID(),
			requestTimeEpoch: Date.now(),
			resourceId: "proxy1",
			resourcePath: req.path === "/" ? "/" : "/{proxy+}",
			identity: {
				accessKey: "AKIDCALLER",
				accountId: "123456789012",
				apiKey: null,
				apiKeyId: null,
				caller: callerArn.split("/").slice(-2).join(":"),
				clientCert: null,
				cognitoAuthenticationProvider: null,
				cognitoAuthenticationType: null,
				cognitoIdentityId: null,
				cognitoIdentityPoolId: null,
				principalOrgId: null,
				sourceIp: "127.0.0.1",
				user: callerArn.split("/").slice(-2).join(":"),
				userAgent: req.headers["user-agent"] ?? "",
				userArn: callerArn,
			},
		},
	};
}

async function read(req: IncomingMessage): Promise<string> {
	const chunks: Buffer[] = [];
	for await (const c of req) chunks.push(c as Buffer);
	return Buffer.concat(chunks).toString("utf8");
}

export async function startApiGatewayStandIn(api: RunningFunction, callerArn: string): Promise<ApiGatewayStandIn> {
	const events: APIGatewayProxyEvent[] = [];
	const server: Server = createServer((req, res) => {
		const url = new URL(req.url ?? "/", "http://localhost");
		read(req)
			.then(async (body) => {
				const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
				const event = proxyEvent(
					{ method: req.method ?? "GET", path: url.pathname, query: url.searchParams, headers, body },
					callerArn,
				);
				events.push(event);
				const out = await api.invoke<APIGatewayProxyResult>(event);
				res.writeHead(out.statusCode, out.headers as Record<string, string>);
				res.end(out.body);
			})
			.catch((err: Error) => {
				// what API Gateway answers when the integration fails
				res.writeHead(502, { "content-type": "application/json" });
				res.end(JSON.stringify({ message: "Internal server error", detail: err.message }));
			});
	});
	server.listen(0, "127.0.0.1");
	await new Promise((r) => server.once("listening", r));
	return {
		url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
		events,
		close: () => new Promise((r) => server.close(() => r())),
	};
}
