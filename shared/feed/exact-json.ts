/*
 * JSON read without losing integers. TiCDC writes 64-bit values as bare JSON numbers: commit TSOs
 * (above 2^53, so JSON.parse rounds their low bits away), BIGINT and BIGINT UNSIGNED values, BIT
 * and SET values. The reviver reads each number from its source text (JSON.parse source text
 * access), so an integer never passes through a JavaScript number.
 */

/** JSON as parsed here: every integer is a bigint; a number with a fraction or an exponent stays a number. */
export type ExactJson = null | boolean | string | number | bigint | ExactJson[] | { [member: string]: ExactJson };

const INTEGER = /^-?\d+$/;

function exactNumber(this: unknown, _key: string, value: unknown, context?: { source?: string }): unknown {
	if (typeof value !== "number") return value;
	const source = context?.source;
	if (source === undefined) throw new Error("JSON.parse gave no source text (Node.js 24 or later is needed)");
	return INTEGER.test(source) ? BigInt(source) : value;
}

/** Parses JSON text (or UTF-8 bytes) with its integers as bigints. Throws a SyntaxError on bad JSON. */
export function parseExactJson(text: string | Buffer): ExactJson {
	return JSON.parse(typeof text === "string" ? text : text.toString("utf8"), exactNumber) as ExactJson;
}

/** A parsed JSON object, or undefined for any other value. */
export function asObject(value: ExactJson | undefined): { [member: string]: ExactJson } | undefined {
	return value !== null && typeof value === "object" && !Array.isArray(value) ? value : undefined;
}
