/**
 * The MySQL/MariaDB column type catalogue: type names grouped by what they hold, as
 * information_schema's DATA_TYPE (and the DDL parser's normalised data type) spells them, lower
 * case. Copy, verify, schema and replay each ask "is this an integer / a binary string / a LOB";
 * they build their own sets from these groups, so a type the server adds is added here once.
 */

function typeSet(...groups: Iterable<string>[]): ReadonlySet<string> {
	return new Set(groups.flatMap((g) => [...g]));
}

/** Exact integers, YEAR included: its value is a number and it is read and compared as one. */
export const INTEGER_TYPES = typeSet(["tinyint", "smallint", "mediumint", "int", "integer", "bigint", "year"]);

/** Fixed-point numbers. */
export const DECIMAL_TYPES = typeSet(["decimal", "numeric"]);

/** Double-precision floating point (`double precision` and `real` are its other spellings). */
export const DOUBLE_TYPES = typeSet(["double", "real", "double precision"]);

/** Floating point of either precision: FLOAT (single) and the double types. */
export const APPROXIMATE_TYPES = typeSet(["float"], DOUBLE_TYPES);

/** Dates and times (YEAR is an integer here, see INTEGER_TYPES). */
export const TEMPORAL_TYPES = typeSet(["date", "datetime", "timestamp", "time"]);

/** Character LOBs. */
export const TEXT_TYPES = typeSet(["tinytext", "text", "mediumtext", "longtext"]);

/** Binary LOBs. */
export const BLOB_TYPES = typeSet(["tinyblob", "blob", "mediumblob", "longblob"]);

/** Binary strings: the value is its bytes (unlike spatial types, whose bytes are an encoding). */
export const BINARY_STRING_TYPES = typeSet(["binary", "varbinary"], BLOB_TYPES);

/**
 * Spatial types as MariaDB and MySQL 5.7 name them. MySQL 8 may also report a GEOMETRYCOLLECTION
 * column as `geomcollection`; only the copy's LOAD DATA path lists that name today.
 */
export const SPATIAL_TYPES = typeSet([
	"geometry",
	"point",
	"linestring",
	"polygon",
	"multipoint",
	"multilinestring",
	"multipolygon",
	"geometrycollection",
]);

/** Types stored off-row as LOBs (TEXT, BLOB and JSON): limits on defaults and keys apply to them. */
export const LOB_TYPES = typeSet(TEXT_TYPES, BLOB_TYPES, ["json"]);

/** The members of an ENUM or SET type, from its COLUMN_TYPE: `enum('a','it''s')`. */
export function typeMembers(columnType: string): string[] {
	const list = columnType.slice(columnType.indexOf("(") + 1);
	return [...list.matchAll(/'((?:[^']|'')*)'/g)].map((m) => (m[1] ?? "").replaceAll("''", "'"));
}
