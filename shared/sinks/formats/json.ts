/*
 * JSON text for the formats. JSON.stringify cannot write what the peers write: Maxwell puts
 * BIGINT UNSIGNED, DECIMAL and BIT values and MySQL JSON documents into the message as raw JSON
 * (numbers beyond 2^53, `1.50`, `1.0E10`, nested objects whose member order a JS object would
 * change), and column names such as "1" would be moved to the front of a JS object. So values are
 * built from these pieces and written here.
 */

/** JSON text written as it is (a number in its exact form, an embedded document). */
export class RawJson {
	constructor(readonly text: string) {}
}

/**
 * A JSON value. A Map keeps its insertion order whatever the keys (row images); a plain object is
 * for fixed field names, and its undefined members are left out (optional fields).
 */
export type JsonValue =
	| null
	| boolean
	| number
	| string
	| RawJson
	| JsonValue[]
	| Map<string, JsonValue>
	| { [field: string]: JsonValue | undefined };

function write(value: JsonValue): string {
	if (value === null) return "null";
	if (value instanceof RawJson) return value.text;
	if (typeof value === "number") return Number.isFinite(value) ? String(value) : "null";
	if (typeof value !== "object") return JSON.stringify(value);
	if (Array.isArray(value)) return `[${value.map(write).join(",")}]`;
	const members: string[] = [];
	const entries = value instanceof Map ? value.entries() : Object.entries(value);
	for (const [name, member] of entries) {
		if (member !== undefined) members.push(`${JSON.stringify(name)}:${write(member)}`);
	}
	return `{${members.join(",")}}`;
}

export function jsonText(value: JsonValue): string {
	return write(value);
}

export function jsonBuffer(value: JsonValue): Buffer {
	return Buffer.from(write(value), "utf8");
}
