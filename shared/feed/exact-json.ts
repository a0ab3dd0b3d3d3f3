/*
 * JSON read without losing integers. TiCDC writes 64-bit values as bare JSON numbers: commit TSOs
 * (above 2^53, so JSON.parse rounds their low bits away), BIGINT and BIGINT UNSIGNED values, BIT
 * and SET values. The reviver reads each number from its source text (JSON.parse source text
 * access), so an integer never passes through a JavaScript number.
 */

/** JSON as parsed here: every integer is a bigint; a number with a fraction or an exponent stays a number. */
export type ExactJson = null | boolean | string | number | bigint | ExactJson[] | { [member: string]: ExactJson };

const INTEGER = /^-?\d+$/;

/** A JSON.parse reviver that turns integers into bigints read from their text: all of them, or only those beyond 2^53. */
function exactIntegers(all: boolean) {
	return (_key: string, value: unknown, context?: { source?: string }): unknown => {
		if (typeof value !== "number" || (!all && Number.isSafeInteger(value))) return value;
		const source = context?.source;
		if (source === undefined) throw new Error("JSON.parse gave no source text (Node.js 24 or later is needed)");
		return INTEGER.test(source) ? BigInt(source) : value;
	};
}

/** Parses JSON text (or UTF-8 bytes) with its integers as bigints. Throws a SyntaxError on bad JSON. */
export function parseExactJson(text: string | Buffer): ExactJson {
	return JSON.parse(typeof text === "string" ? text : text.toString("utf8"), exactIntegers(true)) as ExactJson;
}

/** Parses JSON with integers that a double holds exactly as numbers, and larger ones as bigints. */
export function parseJsonKeepingLargeIntegers(text: string | Buffer): unknown {
	return JSON.parse(typeof text === "string" ? text : text.toString("utf8"), exactIntegers(false));
}

/** A parsed JSON object, or undefined for any other value. */
export function asObject(value: ExactJson | undefined): { [member: string]: ExactJson } | undefined {
	return value !== null && typeof value === "object" && !Array.isArray(value) ? value : undefined;
}
