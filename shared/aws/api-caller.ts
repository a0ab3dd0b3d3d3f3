import type { APIGatewayProxyEvent } from "aws-lambda";
import { z } from "zod";
import { type Actor, Role } from "../model/actor.ts";

/**
 * Who calls Ferry's API in AWS, from what API Gateway tells the function (functions/api):
 *
 * - through a Cognito user pool authorizer (the console), the token's claims arrive under
 *   `requestContext.authorizer.claims`, and the user's groups in `cognito:groups`: a user in
 *   `admin`, `operator` or `viewer` has that role (the highest, when in several);
 * - signed with SigV4 (the CLI, scripts), API Gateway's IAM authorization already decided the
 *   principal may call, and `requestContext.identity.userArn` names it; its role comes from
 *   FERRY_IAM_ROLES, a JSON object from principal to role that the stack passes in (cdk context
 *   `iamRoles`). A key is an IAM user or role ARN (`arn:aws:iam::123456789012:role/Ops` also
 *   matches every session of that role), an assumed-role ARN with or without its session, or
 *   `*` for every other principal. Without FERRY_IAM_ROLES every IAM caller is an admin, as
 *   before roles existed; with it, a principal it does not name (and no `*`) is refused.
 */

export const PrincipalRoles = z.record(z.string().min(1), Role);
export type PrincipalRoles = z.infer<typeof PrincipalRoles>;

/** FERRY_IAM_ROLES read once at start: a mistake in it fails the function's start, not each call. */
export function parsePrincipalRoles(text: string | undefined): PrincipalRoles | undefined {
	if (text === undefined || text.trim() === "") return undefined;
	let json: unknown;
	try {
		json = JSON.parse(text);
	} catch {
		throw new Error(
			'FERRY_IAM_ROLES is not JSON: give an object such as {"arn:aws:iam::123456789012:role/Ops": "operator"}',
		);
	}
	const parsed = PrincipalRoles.safeParse(json);
	if (!parsed.success) {
		throw new Error(`FERRY_IAM_ROLES must map principals to admin, operator or viewer: ${parsed.error.message}`);
	}
	return parsed.data;
}

const ASSUMED_ROLE = /^arn:([^:]+):sts::(\d+):assumed-role\/([^/]+)\/.+$/;

/** The names a principal's ARN may be listed under, most specific first. */
function namesOf(arn: string): string[] {
	const assumed = ASSUMED_ROLE.exec(arn);
	if (!assumed) return [arn];
	const [, partition, account, role] = assumed;
	return [
		arn,
		`arn:${partition}:sts::${account}:assumed-role/${role}`,
		`arn:${partition}:iam::${account}:role/${role}`,
	];
}

export function roleOfPrincipal(arn: string, map: PrincipalRoles | undefined): Role | undefined {
	if (!map) return "admin";
	for (const name of namesOf(arn)) {
		const role = map[name];
		if (role) return role;
	}
	return map["*"];
}

/**
 * `cognito:groups` as API Gateway passes it: a REST API's Cognito authorizer joins the groups
 * with commas ("admin,viewer"), an HTTP API's JWT authorizer writes "[admin viewer]"; an array
 * is taken as it is.
 */
export function groupsClaim(value: unknown): string[] {
	if (Array.isArray(value)) return value.map(String);
	if (typeof value !== "string") return [];
	return value
		.replace(/^\[|\]$/g, "")
		.split(/[\s,]+/)
		.filter(Boolean);
}

const RANKED: readonly Role[] = ["admin", "operator", "viewer"];

export type Caller = { actor: Actor } | { refusal: string };

export function apiGatewayCaller(event: APIGatewayProxyEvent, map: PrincipalRoles | undefined): Caller {
	const claims = event.requestContext.authorizer?.claims as Record<string, unknown> | undefined;
	if (claims) {
		const name = String(claims["cognito:username"] ?? claims.email ?? claims.sub ?? "unknown user");
		const groups = groupsClaim(claims["cognito:groups"]);
		const role = RANKED.find((r) => groups.includes(r));
		if (!role) return { refusal: `${name} is in none of the groups admin, operator or viewer` };
		return { actor: { name, role } };
	}
	const principal = event.requestContext.identity.userArn ?? event.requestContext.identity.caller;
	if (!principal) return { refusal: "the request names no caller: call through IAM (SigV4) or the Cognito authorizer" };
	const role = roleOfPrincipal(principal, map);
	if (!role) return { refusal: `${principal} has no role in FERRY_IAM_ROLES (name it, or give "*" a role)` };
	return { actor: { name: principal, role } };
}
