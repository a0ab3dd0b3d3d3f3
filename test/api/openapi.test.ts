import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { openApiDocument } from "../../shared/api/openapi.ts";
import { RESPONSES } from "../../shared/api/responses.ts";
import { ROUTES } from "../../shared/api/routes.ts";

describe("the OpenAPI document in docs/openapi.json", () => {
	const committed = JSON.parse(readFileSync(new URL("../../docs/openapi.json", import.meta.url), "utf8"));

	it("is the one the route table generates (run `npx tsx scripts/docs.ts` after changing a route)", () => {
		expect(committed).toEqual(openApiDocument());
	});

	it("documents every route once, with a request schema wherever the route validates a body", () => {
		const documented = Object.entries(
			committed.paths as Record<
				string,
				Record<string, { operationId: string; requestBody?: unknown; "x-ferry-access"?: string }>
			>,
		).flatMap(([path, ops]) =>
			Object.entries(ops).map(([method, op]) => ({
				path,
				method: method.toUpperCase(),
				op,
			})),
		);
		expect(documented).toHaveLength(ROUTES.length);
		for (const r of ROUTES) {
			const doc = documented.find((d) => d.path === r.path && d.method === r.method);
			expect(doc?.op.operationId, `${r.method} ${r.path}`).toBe(r.operationId);
			expect(Boolean(doc?.op.requestBody), `${r.method} ${r.path} body`).toBe(Boolean(r.body));
			expect(doc?.op["x-ferry-access"], `${r.method} ${r.path} access`).toBe(r.access);
		}
		expect(new Set(ROUTES.map((r) => r.operationId)).size).toBe(ROUTES.length);
	});

	it("gives every route that answers a body the schema of that body, and a 204 none (shared/api/responses.ts)", () => {
		const unlisted = ROUTES.filter((r) => r.status !== 204 && !RESPONSES[r.operationId]).map((r) => r.operationId);
		expect(unlisted, "routes without a response schema in shared/api/responses.ts").toEqual([]);
		const bodiless = ROUTES.filter((r) => r.status === 204 && RESPONSES[r.operationId]).map((r) => r.operationId);
		expect(bodiless, "routes answering 204 (no body) with a response schema").toEqual([]);
		const routed = new Set(ROUTES.map((r) => r.operationId));
		expect(
			Object.keys(RESPONSES).filter((id) => !routed.has(id)),
			"response schemas of no route",
		).toEqual([]);
		for (const r of ROUTES) {
			const answer = committed.paths[r.path][r.method.toLowerCase()].responses[String(r.status)];
			expect(Boolean(answer.content?.["application/json"]?.schema), `${r.operationId} documented answer`).toBe(
				r.status !== 204,
			);
		}
	});
});
