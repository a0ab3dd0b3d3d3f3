import type { RowImage, Value } from "../../capture/change.ts";
import { type ColumnInfo, columnOfType } from "../../db/introspect.ts";
import { typeMembers } from "../../db/types.ts";
import type { SinkTable } from "../event.ts";

/*
 * What more than one format needs to turn capture's values (shared/capture/change.ts `Value`) into
 * its own: the columns of an image with their types, ENUM/SET members, BIT values as numbers, and
 * FLOAT/DOUBLE written the way Java writes them (the peers are Java programs).
 */

/**
 * The columns of a row image in the table's ordinal order, with their types. A column the
 * catalog does not know (a backlog read across a schema change) follows with an empty type, and
 * the formats encode it by its value alone.
 */
export function imageColumns(table: SinkTable, image: RowImage): ColumnInfo[] {
	const known = table.columns.filter((c) => Object.hasOwn(image, c.name));
	if (known.length === Object.keys(image).length) return known;
	const names = new Set(known.map((c) => c.name));
	const unknown = Object.keys(image)
		.filter((name) => !names.has(name))
		.map((name) => columnOfType(name, ""));
	return [...known, ...unknown];
}

/**
 * The key columns' values in `image`, in key order, encoded by `encode`: what the formats put in
 * their message keys. Null for a table without a key.
 */
export function keyValues<T>(
	table: SinkTable,
	image: RowImage,
	encode: (column: ColumnInfo, value: Value) => T,
): Map<string, T> | null {
	const columns = imageColumns(table, image)
		.filter((c) => table.key.includes(c.name))
		.sort((a, b) => table.key.indexOf(a.name) - table.key.indexOf(b.name));
	return columns.length === 0 ? null : new Map(columns.map((c) => [c.name, encode(c, image[c.name] ?? null)]));
}

/** The image a row event is identified by: the row after the change, or before it for a delete. */
export function identifyingImage(after: RowImage | undefined, before: RowImage | undefined): RowImage {
	return after ?? before ?? {};
}

/** The numbers in a column type's parentheses: `decimal(10,2)` [10, 2], `datetime(6)` [6], `text` none. */
export function typeArgs(column: ColumnInfo): [number | undefined, number | undefined] {
	const m = /^[a-z ]+\((\d+)(?:,(\d+))?\)/.exec(column.columnType);
	return [m?.[1] === undefined ? undefined : Number(m[1]), m?.[2] === undefined ? undefined : Number(m[2])];
}

export function isUnsigned(column: ColumnInfo): boolean {
	return /\bunsigned\b/.test(column.columnType);
}

/** The members of an ENUM or SET column, from its type: `enum('a','it''s')`. */
export function members(column: ColumnInfo): string[] {
	return typeMembers(column.columnType);
}

/** A SET value ('a,b') as its members. */
export function setMembers(value: string): string[] {
	return value === "" ? [] : value.split(",");
}

/** A BIT value (big-endian bytes) as an unsigned number. */
export function bitValue(bytes: Buffer): bigint {
	return bytes.length === 0 ? 0n : BigInt(`0x${bytes.toString("hex")}`);
}

/**
 * The shortest decimal digits that read back as `value` (a FLOAT column's value is a float32
 * widened to a double, so its digits are the shortest that read back as that float32), and the
 * decimal exponent of the first digit.
 */
export function shortestDigits(value: number, float32: boolean): { digits: string; exponent: number } {
	let text = Math.abs(value).toExponential();
	if (float32) {
		for (let precision = 1; precision <= 9; precision++) {
			const candidate = Number(Math.abs(value).toPrecision(precision));
			if (Math.fround(candidate) === Math.abs(value)) {
				text = candidate.toExponential();
				break;
			}
		}
	}
	const [mantissa = "0", exponent = "0"] = text.split("e");
	return { digits: mantissa.replace(".", ""), exponent: Number(exponent) };
}

/** Plain decimal notation of `digits` x 10^(exponent - digits + 1), with at least one fraction digit. */
export function plainDecimal(digits: string, exponent: number): string {
	if (exponent < 0) return `0.${"0".repeat(-exponent - 1)}${digits}`;
	const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, "0");
	return `${whole}.${digits.slice(exponent + 1) || "0"}`;
}

/**
 * Java's Float.toString / Double.toString: plain notation with at least one fraction digit from
 * 10^-3 up to 10^7 ("100.0", "0.001"), computerized scientific notation outside ("1.0E10",
 * "1.234E-5"); the digits are the shortest that read back (Java 19 and later; older Javas
 * sometimes print one more digit).
 */
export function javaNumber(value: number, float32: boolean): string {
	const sign = value < 0 || Object.is(value, -0) ? "-" : "";
	if (value === 0) return `${sign}0.0`;
	const { digits, exponent } = shortestDigits(value, float32);
	if (exponent >= -3 && exponent < 7) return sign + plainDecimal(digits, exponent);
	return `${sign}${digits[0]}.${digits.slice(1) || "0"}E${exponent}`;
}

/** YEAR as its four digits ('0000' for the zero year). */
export function yearText(value: Value): string {
	return String(value).padStart(4, "0");
}
