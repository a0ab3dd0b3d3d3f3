import type { Value } from "../../capture/change.ts";
import type { ColumnInfo } from "../../db/introspect.ts";
import { APPROXIMATE_TYPES, DECIMAL_TYPES, INTEGER_TYPES, SPATIAL_TYPES } from "../../db/types.ts";
import { type JsonValue, RawJson } from "./json.ts";
import { bitValue, javaNumber, members, setMembers } from "./values.ts";
import { geometryText } from "./wkt.ts";

/*
 * Column values as Maxwell writes them (zendesk/maxwell: schema/columndef/*ColumnDef.asJSON,
 * written by Jackson):
 *
 * | column type                        | value                                                   |
 * |------------------------------------|---------------------------------------------------------|
 * | integers                           | JSON number, exact (BIGINT UNSIGNED beyond 2^53 too)    |
 * | decimal                            | JSON number as Java's BigDecimal.toString: 1.50, 1E-10  |
 * | float / double                     | JSON number as Java's Float/Double.toString: 1.0E10     |
 * | bit(n)                             | JSON number (bit(1): 0 or 1)                            |
 * | date, datetime, timestamp, time    | MySQL text, TIMESTAMP in UTC, zero dates kept            |
 * | year                               | JSON number                                             |
 * | char, varchar, text, enum          | string; ENUM's '' error value (index 0) is null         |
 * | set                                | array of members                                        |
 * | json (MySQL)                       | the document itself, embedded (MariaDB's is LONGTEXT: a string) |
 * | binary, varbinary, blobs           | base64                                                  |
 * | geometry and the spatial types     | WKT as JTS writes it ("POINT (1 2)")                    |
 *
 * Deviations: TIME keeps the server's text (Maxwell formats it through java.sql.Time, which
 * wraps values outside 00:00:00..23:59:59); BIT(33..63) is exact (Maxwell shifts an int there).
 */

/** Java's BigDecimal.toString of an exact decimal: plain unless the exponent is below -6. */
export function bigDecimalText(text: string): string {
	const sign = text.startsWith("-") ? "-" : "";
	const [whole = "", fraction = ""] = text.slice(sign.length).split(".");
	const unscaled = (whole + fraction).replace(/^0+(?=\d)/, "");
	const adjusted = unscaled.length - 1 - fraction.length;
	if (fraction.length === 0 || adjusted >= -6) return text;
	const mantissa = unscaled.length > 1 ? `${unscaled[0]}.${unscaled.slice(1)}` : unscaled;
	return `${sign}${mantissa}E${adjusted}`;
}

function exactNumber(value: bigint | number | string): JsonValue {
	return typeof value === "number" ? value : new RawJson(String(value));
}

export function maxwellValue(column: ColumnInfo, value: Value): JsonValue {
	if (value === null) return null;
	// MySQL 8 may name a GEOMETRYCOLLECTION column geomcollection
	const spatial = SPATIAL_TYPES.has(column.dataType) || column.dataType === "geomcollection";
	if (spatial && Buffer.isBuffer(value)) return geometryText(value);
	if (Buffer.isBuffer(value)) {
		if (column.dataType !== "bit") return value.toString("base64");
		const bits = bitValue(value);
		return bits <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(bits) : exactNumber(bits);
	}
	const type = column.dataType;
	if (INTEGER_TYPES.has(type)) return exactNumber(value);
	if (DECIMAL_TYPES.has(type)) return new RawJson(bigDecimalText(String(value)));
	if (APPROXIMATE_TYPES.has(type)) return new RawJson(javaNumber(Number(value), type === "float"));
	switch (type) {
		case "enum":
			return value === "" && !members(column).includes("") ? null : value;
		case "set":
			return setMembers(String(value));
		case "json":
			return new RawJson(String(value));
		default:
			return value;
	}
}
