import { z } from "zod";
import { ROLE_NEEDED } from "./access.ts";
import { NAMED_SCHEMAS, RESPONSES } from "./responses.ts";
import { ROUTES } from "./routes.ts";

const ERROR = {
	type: "object",
	required: ["error"],
	properties: {
		error: {
			type: "object",
			required: ["code", "message"],
			properties: {
				code: { type: "string" },
				message: { type: "string" },
				details: {},
			},
		},
	},
};

/**
 * The OpenAPI document of Ferry's API, built from the route table so the two cannot drift;
 * docs/openapi.json is this document, and a test checks the file is current.
 */
export function openApiDocument(): Record<string, unknown> {
	const { schemas, answer } = responseSchemas();
	const paths: Record<string, Record<string, unknown>> = {};
	for (const r of ROUTES) {
		const params = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
			name: m[1],
			in: "path",
			required: true,
			schema: { type: "string" },
		}));
		const op: Record<string, unknown> = {
			operationId: r.operationId,
			summary: r.summary,
			description: `Needs the ${ROLE_NEEDED[r.access]} role or higher (viewer < operator < admin).`,
			"x-ferry-access": r.access,
			parameters: params.length ? params : undefined,
			requestBody: r.body
				? {
						required: true,
						content: {
							"application/json": {
								schema: z.toJSONSchema(r.body, { io: "input" }),
							},
						},
					}
				: undefined,
			responses: {
				[String(r.status)]: {
					description: r.status === 204 ? "done" : "success",
					content: answer(r.operationId),
				},
				"400": {
					description: "malformed or invalid request",
					content: { "application/json": { schema: ERROR } },
				},
				"401": {
					description: "no caller: a missing or wrong token (local mode)",
					content: { "application/json": { schema: ERROR } },
				},
				"403": {
					description: "the caller's role is below the route's (FORBIDDEN names the role needed)",
					content: { "application/json": { schema: ERROR } },
				},
				"404": {
					description: "no such object",
					content: { "application/json": { schema: ERROR } },
				},
				"409": {
					description: "conflicts with the object's state",
					content: { "application/json": { schema: ERROR } },
				},
				"422": {
					description: "refused: the message says what to do",
					content: { "application/json": { schema: ERROR } },
				},
			},
		};
		paths[r.path] = {
			...paths[r.path],
			[r.method.toLowerCase()]: JSON.parse(JSON.stringify(op)),
		};
	}
	return {
		openapi: "3.1.0",
		info: { title: "Ferry API", version: "1" },
		security: [{ sigv4: [] }],
		components: {
			schemas,
			securitySchemes: {
				sigv4: {
					type: "apiKey",
					name: "Authorization",
					in: "header",
					description:
						"AWS SigV4 (IAM) or a Cognito user pool token in the cloud; `Bearer <token>` in local mode, one token per role",
				},
			},
		},
		paths,
	};
}

/**
 * The answers' JSON schemas (as the handlers' output) under components/schemas: the shared ones
 * by their names, each other answer as `<OperationId>Response`; `answer` gives a route's content
 * referring to its schema there, none for a route without one (204).
 */
function responseSchemas(): {
	schemas: Record<string, unknown>;
	answer(operationId: string): Record<string, unknown> | undefined;
} {
	const registry = z.registry<{ id: string }>();
	for (const [id, schema] of Object.entries(NAMED_SCHEMAS)) registry.add(schema, { id });
	for (const [operationId, schema] of Object.entries(RESPONSES)) {
		if (!registry.has(schema)) {
			registry.add(schema, { id: `${operationId[0]?.toUpperCase()}${operationId.slice(1)}Response` });
		}
	}
	const uri = (id: string) => `#/components/schemas/${id}`;
	const { schemas } = z.toJSONSchema(registry, { io: "output", uri });
	return {
		// a component is part of the document: no dialect or identity of its own
		schemas: Object.fromEntries(
			Object.entries(schemas).map(([id, { $schema: _s, $id: _i, ...schema }]) => [id, schema]),
		),
		answer(operationId) {
			const schema = RESPONSES[operationId];
			const id = schema && registry.get(schema)?.id;
			return id ? { "application/json": { schema: { $ref: uri(id) } } } : undefined;
		},
	};
}
