import { readFileSync } from "node:fs";
import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import { FerryClient } from "../../shared/api/client.ts";

/**
 * The tests' API client: every successful answer is checked against the schema docs/openapi.json
 * gives its operation (found by method and path template), so each e2e run also proves the
 * document right. An answer that does not fit throws, naming the operation, where in the body
 * and the value found there.
 */

type OpenApi = {
	paths: Record<string, Record<string, { operationId: string; responses: Record<string, Answer> }>>;
	components: { schemas: Record<string, unknown> };
};
type Answer = { content?: { "application/json"?: { schema: unknown } } };

interface Operation {
	method: string;
	pattern: RegExp;
	operationId: string;
	/** The success answer's schema; undefined for an answer without a body (204). */
	validate?: ValidateFunction;
}

const DOCUMENT_ID = "ferry-openapi";

/** The operations of an OpenAPI document, each with its success answer's validator. */
export function operationsOf(doc: OpenApi): Operation[] {
	const ajv = new Ajv2020({
		allErrors: true,
		// the pattern beside it says the exact form; this catches dates that do not exist
		formats: { "date-time": (s: string) => !Number.isNaN(Date.parse(s)) },
	});
	// each answer's schema is compiled where it stands in the document, so its "#/components/..."
	// refs resolve; the document's own fields are keywords without meaning to Ajv
	ajv.addVocabulary(Object.keys(doc));
	ajv.addSchema({ ...doc, $id: DOCUMENT_ID });
	return Object.entries(doc.paths).flatMap(([path, ops]) =>
		Object.entries(ops).map(([method, op]) => {
			const [status, success] = Object.entries(op.responses).find(([s]) => s.startsWith("2")) ?? [];
			const pointer = ["paths", path, method, "responses", status, "content", "application/json", "schema"]
				.map((p) => String(p).replaceAll("~", "~0").replaceAll("/", "~1"))
				.join("/");
			return {
				method: method.toUpperCase(),
				pattern: new RegExp(`^${path.replace(/\{\w+\}/g, "[^/]+")}/?$`),
				operationId: op.operationId,
				validate: success?.content?.["application/json"]
					? ajv.compile({ $ref: `${DOCUMENT_ID}#/${pointer}` })
					: undefined,
			};
		}),
	);
}

/** Where in the body (a JSON pointer) and the value there, for an error message. */
function describe(body: unknown, e: ErrorObject): string {
	let value: unknown = body;
	for (const part of e.instancePath.split("/").slice(1)) {
		value = (value as Record<string, unknown> | undefined)?.[part.replaceAll("~1", "/").replaceAll("~0", "~")];
	}
	const extra =
		e.keyword === "additionalProperties" ? ` '${(e.params as { additionalProperty: string }).additionalProperty}'` : "";
	return `${e.instancePath || "(body)"}: ${e.message}${extra} (found ${JSON.stringify(value)?.slice(0, 300)})`;
}

/** Checks one answer against its operation's schema; throws when it does not fit. */
export function checkAnswer(operations: readonly Operation[], method: string, url: string, body: unknown): void {
	const path = url.split("?")[0] ?? url;
	const op = operations.find((o) => o.method === method && o.pattern.test(path));
	if (!op) throw new Error(`${method} ${path} is no operation of docs/openapi.json`);
	if (!op.validate) {
		if (body !== undefined) throw new Error(`${op.operationId} answered a body, but the document gives it none`);
		return;
	}
	if (op.validate(body)) return;
	const errors = (op.validate.errors ?? []).slice(0, 8).map((e) => describe(body, e));
	throw new Error(`${op.operationId} answered what docs/openapi.json does not allow:\n  ${errors.join("\n  ")}`);
}

let documented: Operation[] | undefined;

/** The operations of docs/openapi.json, as committed. */
export function documentedOperations(): Operation[] {
	documented ??= operationsOf(
		JSON.parse(readFileSync(new URL("../../docs/openapi.json", import.meta.url), "utf8")) as OpenApi,
	);
	return documented;
}

/** A FerryClient whose every successful answer must fit docs/openapi.json. */
export class ValidatingClient extends FerryClient {
	override async call<T>(method: string, path: string, body?: unknown): Promise<T> {
		const answer = await super.call<T>(method, path, body);
		checkAnswer(documentedOperations(), method, path, answer);
		return answer;
	}
}
