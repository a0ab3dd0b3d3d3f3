import type { APIGatewayProxyEvent, Context as LambdaContext } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiGatewayCaller, groupsClaim, parsePrincipalRoles, roleOfPrincipal } from "../../shared/aws/api-caller.ts";

/**
 * Who calls the API in AWS. API Gateway's hosting is mocked throughout: the events are shaped
 * after the Lambda proxy integration's input format in API Gateway's developer guide (REST API,
 * `requestContext.identity` for IAM callers, `requestContext.authorizer.claims` behind a Cognito
 * user pool authorizer, every claim a string).
 */

const ACCOUNT = "123456789012";
const OPS_ROLE = `arn:aws:iam::${ACCOUNT}:role/ferry-ops`;
const OPS_SESSION = `arn:aws:sts::${ACCOUNT}:assumed-role/ferry-ops/alice`;

function apiEvent(
	method: string,
	path: string,
	who: { userArn?: string; claims?: Record<string, string> },
	body: string | null = null,
): APIGatewayProxyEvent {
	return {
		httpMethod: method,
		path,
		body,
		isBase64Encoded: false,
		headers: {},
		queryStringParameters: null,
		requestContext: {
			httpMethod: method,
			path: `/v1${path}`,
			stage: "v1",
			identity: { userArn: who.userArn ?? null, caller: who.userArn ? "AROAEXAMPLE:alice" : null },
			...(who.claims ? { authorizer: { claims: who.claims } } : {}),
		},
	} as unknown as APIGatewayProxyEvent;
}

describe("the role map (FERRY_IAM_ROLES)", () => {
	it("gives every IAM caller the admin role when the stack passes no map", () => {
		expect(parsePrincipalRoles(undefined)).toBeUndefined();
		expect(parsePrincipalRoles("  ")).toBeUndefined();
		expect(roleOfPrincipal(OPS_SESSION, undefined)).toBe("admin");
	});

	it("matches a user, a role (any of its sessions), an assumed role with or without its session, then *", () => {
		const map = parsePrincipalRoles(
			JSON.stringify({
				[`arn:aws:iam::${ACCOUNT}:user/bob`]: "viewer",
				[OPS_ROLE]: "operator",
				[`arn:aws:sts::${ACCOUNT}:assumed-role/ferry-admins`]: "admin",
				[`arn:aws:sts::${ACCOUNT}:assumed-role/ferry-ops/carol`]: "admin",
			}),
		);
		expect(roleOfPrincipal(`arn:aws:iam::${ACCOUNT}:user/bob`, map)).toBe("viewer");
		expect(roleOfPrincipal(OPS_SESSION, map)).toBe("operator");
		expect(roleOfPrincipal(`arn:aws:sts::${ACCOUNT}:assumed-role/ferry-ops/carol`, map)).toBe("admin");
		expect(roleOfPrincipal(`arn:aws:sts::${ACCOUNT}:assumed-role/ferry-admins/dave`, map)).toBe("admin");
		// another account's role of the same name is another principal
		expect(roleOfPrincipal("arn:aws:sts::999999999999:assumed-role/ferry-ops/alice", map)).toBeUndefined();
		expect(roleOfPrincipal(`arn:aws:iam::${ACCOUNT}:user/eve`, map)).toBeUndefined();
		expect(roleOfPrincipal(`arn:aws:iam::${ACCOUNT}:user/eve`, { ...map, "*": "viewer" })).toBe("viewer");
	});

	it("refuses a map that is not JSON or names a role Ferry does not have, saying what to write", () => {
		expect(() => parsePrincipalRoles("arn:x=admin")).toThrow(/not JSON/);
		expect(() => parsePrincipalRoles(JSON.stringify({ [OPS_ROLE]: "root" }))).toThrow(/admin, operator or viewer/);
	});
});

describe("the caller of an API Gateway request (API Gateway's hosting is mocked)", () => {
	it("takes an IAM caller's principal from requestContext.identity.userArn and its role from the map", () => {
		const map = { [OPS_ROLE]: "operator" as const };
		expect(apiGatewayCaller(apiEvent("GET", "/projects", { userArn: OPS_SESSION }), map)).toEqual({
			actor: { name: OPS_SESSION, role: "operator" },
		});
		const stranger = apiGatewayCaller(apiEvent("GET", "/projects", { userArn: `arn:aws:iam::${ACCOUNT}:user/x` }), map);
		expect(stranger).toMatchObject({ refusal: expect.stringMatching(/has no role in FERRY_IAM_ROLES/) });
		expect(apiGatewayCaller(apiEvent("GET", "/projects", {}), map)).toHaveProperty("refusal");
	});

	it("takes a Cognito user's highest group from the authorizer's claims, in either of API Gateway's list forms", () => {
		const claims = (groups: string) => ({ "cognito:username": "alice", sub: "0000-1111", "cognito:groups": groups });
		const role = (groups: string) => {
			const caller = apiGatewayCaller(apiEvent("GET", "/projects", { claims: claims(groups) }), undefined);
			return "actor" in caller ? caller.actor.role : caller.refusal;
		};
		expect(role("viewer")).toBe("viewer");
		expect(role("viewer,operator")).toBe("operator");
		expect(role("[viewer admin]")).toBe("admin");
		expect(role("billing")).toMatch(/alice is in none of the groups/);
		// the claims decide, not the map: a Cognito user is not an IAM principal
		const caller = apiGatewayCaller(apiEvent("GET", "/x", { claims: claims("viewer") }), undefined);
		expect(caller).toEqual({ actor: { name: "alice", role: "viewer" } });
		expect(groupsClaim(["admin"])).toEqual(["admin"]);
		expect(groupsClaim(undefined)).toEqual([]);
	});
});

describe("the api function refuses a caller below the route's access (API Gateway's hosting is mocked)", () => {
	let handler: (event: APIGatewayProxyEvent, context: LambdaContext) => Promise<{ statusCode: number; body: string }>;
	const saved = { ...process.env };
	const lambdaContext = {
		functionName: "ferry-api",
		functionVersion: "$LATEST",
		invokedFunctionArn: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:ferry-api`,
		memoryLimitInMB: "512",
		awsRequestId: "req-1",
		getRemainingTimeInMillis: () => 29_000,
	} as unknown as LambdaContext;

	beforeAll(async () => {
		// nothing below reaches the state table or the queues: every call is refused before them
		Object.assign(process.env, {
			FERRY_STATE_TABLE: "unused",
			FERRY_COPY_QUEUE_URL: "http://127.0.0.1:1/copy",
			FERRY_VERIFY_QUEUE_URL: "http://127.0.0.1:1/verify",
			FERRY_IAM_ROLES: JSON.stringify({ [OPS_ROLE]: "operator" }),
			POWERTOOLS_LOG_LEVEL: "ERROR",
		});
		handler = (await import("../../functions/api/handler.ts")).handler as unknown as typeof handler;
	});
	afterAll(() => {
		process.env = saved;
	});

	const call = async (event: APIGatewayProxyEvent) => {
		const res = await handler(event, lambdaContext);
		return {
			status: res.statusCode,
			error: (JSON.parse(res.body) as { error: { code: string; message: string } }).error,
		};
	};

	it("answers 403 naming the role needed to a Cognito viewer and an IAM operator, before reading the body", async () => {
		const viewer = await call(
			apiEvent("POST", "/projects", { claims: { "cognito:username": "v", "cognito:groups": "viewer" } }, "{not json"),
		);
		expect(viewer).toEqual({
			status: 403,
			error: { code: "FORBIDDEN", message: "POST /projects needs the operator role (or higher); v is viewer" },
		});
		const operator = await call(apiEvent("DELETE", "/datasources/ds-1", { userArn: OPS_SESSION }));
		expect(operator.status).toBe(403);
		expect(operator.error.message).toMatch(/needs the admin role .*ferry-ops\/alice is operator/);
	});

	it("answers 403 to a principal the map does not name, and lets a known one through to routing", async () => {
		const stranger = await call(apiEvent("GET", "/projects", { userArn: `arn:aws:iam::${ACCOUNT}:user/x` }));
		expect(stranger).toMatchObject({ status: 403, error: { code: "FORBIDDEN" } });
		const known = await call(apiEvent("GET", "/no-such-route", { userArn: OPS_SESSION }));
		expect(known).toMatchObject({ status: 404, error: { code: "NO_SUCH_ROUTE" } });
	});
});
