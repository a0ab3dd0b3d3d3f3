import { LOB_TYPES, SPATIAL_TYPES } from "../../db/types.ts";
import { literalSql } from "../ddl.ts";
import { type ColumnSchema, isCurrentTimestamp } from "../snapshot.ts";
import { backquote } from "../sqltext.ts";
import { convertCharset } from "./charsets.ts";
import { applyRules, type DialectContext, NOT_MARIADB, type Rule, type Verdict } from "./rules.ts";

const MARIADB_COMPRESSED = /\s*\/\*M!\d+ COMPRESSED\*\//;

const isExpressionDefault = (c: ColumnSchema) => c.default.kind === "expression" && !isCurrentTimestamp(c.default.sql);
const isLiteralDefault = (c: ColumnSchema) => ["string", "bytes", "number"].includes(c.default.kind);
const isMariadbJson = (c: ColumnSchema) => c.dataType === "longtext" && c.check === `json_valid(${backquote(c.name)})`;

function retype(columnType: string, dataType: string) {
	return (c: ColumnSchema): ColumnSchema => ({
		...c,
		columnType,
		dataType,
		charset: null,
		collation: null,
	});
}
const typeChange = (before: ColumnSchema, after: ColumnSchema) => `type ${before.columnType} -> ${after.columnType}`;

const COLUMN_RULES: readonly Rule<ColumnSchema>[] = [
	{
		engines: NOT_MARIADB,
		when: (c) => c.dataType === "uuid",
		effect: {
			rewrite: retype("char(36)", "char"),
			what: typeChange,
			why: "only MariaDB has a UUID type; values are kept in its 36-character text form (they sort as text)",
		},
	},
	{
		engines: NOT_MARIADB,
		when: (c) => c.dataType === "inet6",
		effect: {
			rewrite: retype("varchar(39)", "varchar"),
			what: typeChange,
			why: "only MariaDB has an INET6 type; addresses are kept in MariaDB's text form (at most 39 characters; they sort as text, not by address)",
		},
	},
	{
		engines: NOT_MARIADB,
		when: (c) => c.dataType === "inet4",
		effect: {
			rewrite: retype("varchar(15)", "varchar"),
			what: typeChange,
			why: "only MariaDB has an INET4 type; addresses are kept as dotted text (they sort as text, not by address)",
		},
	},
	{
		engines: NOT_MARIADB,
		when: isMariadbJson,
		effect: {
			rewrite: (c) => ({ ...retype("json", "json")(c), check: null }),
			what: () => "type longtext with CHECK (json_valid(...)) -> json",
			why: "MariaDB's JSON is LONGTEXT with a json_valid CHECK; the destination's native JSON stores documents parsed, so key order and whitespace are normalised",
		},
	},
	{
		engines: ["mariadb"],
		when: (c) => c.dataType === "json",
		effect: {
			rewrite: (c) => ({
				...c,
				columnType: "longtext",
				dataType: "longtext",
				charset: "utf8mb4",
				collation: "utf8mb4_bin",
				check: `json_valid(${backquote(c.name)})`,
			}),
			what: () => "type json -> longtext with CHECK (json_valid(...))",
			why: "MariaDB's JSON is LONGTEXT with a json_valid CHECK: documents are stored as the text the source returns",
		},
	},
	{
		engines: NOT_MARIADB,
		when: (c) => MARIADB_COMPRESSED.test(c.columnType),
		effect: {
			rewrite: (c) => ({
				...c,
				columnType: c.columnType.replace(MARIADB_COMPRESSED, ""),
			}),
			what: () => "column compression dropped",
			why: "COMPRESSED columns are MariaDB's own",
		},
	},
	{
		engines: ["tidb"],
		when: (c) => SPATIAL_TYPES.has(c.dataType),
		effect: { refuse: "TiDB has no spatial (GEOMETRY) types" },
	},
	{
		engines: ["oceanbase-mysql"],
		below: "4.1.0",
		when: (c) => SPATIAL_TYPES.has(c.dataType),
		effect: {
			refuse: "OceanBase supports spatial (GEOMETRY) types from V4.1.0 (MySQL mode)",
		},
	},
	{
		engines: ["mysql"],
		below: "8.0.13",
		when: (c) => isExpressionDefault(c) || (LOB_TYPES.has(c.dataType) && isLiteralDefault(c)),
		effect: {
			refuse: "MySQL before 8.0.13 accepts no expression defaults and no defaults on BLOB, TEXT or JSON columns",
		},
	},
	{
		engines: ["mysql"],
		when: (c) => (LOB_TYPES.has(c.dataType) || SPATIAL_TYPES.has(c.dataType)) && isLiteralDefault(c),
		effect: {
			rewrite: (c) => ({
				...c,
				default: { kind: "expression", sql: literalSql(c.default) },
			}),
			what: (_, after) =>
				`default written as the expression (${after.default.kind === "expression" ? after.default.sql : ""})`,
			why: "MySQL accepts only expression defaults on BLOB, TEXT, JSON and GEOMETRY columns",
		},
	},
	{
		engines: ["tidb"],
		when: (c) => LOB_TYPES.has(c.dataType) && isLiteralDefault(c),
		effect: {
			rewrite: (c) => ({
				...c,
				default: c.nullable ? { kind: "null" } : { kind: "none" },
			}),
			what: (before) => `default ${before.default.kind === "none" ? "" : literalSql(before.default)} dropped`,
			why: "TiDB accepts no default on BLOB, TEXT and JSON columns: rows are copied with their values, but inserts that omit the column no longer get the default",
		},
	},
	{
		engines: ["tidb"],
		when: isExpressionDefault,
		effect: {
			warn: "TiDB accepts only some functions as column defaults (such as UUID(), RAND(), DATE_FORMAT(), UPPER()); if it rejects this one, creating the table fails",
		},
	},
	{
		engines: ["tidb"],
		when: (c) => c.invisible,
		effect: {
			rewrite: (c) => ({ ...c, invisible: false }),
			what: () => "made visible",
			why: "TiDB has no invisible columns: SELECT * returns this column at the destination",
		},
	},
	{
		engines: ["mysql"],
		below: "8.0.23",
		when: (c) => c.invisible,
		effect: {
			rewrite: (c) => ({ ...c, invisible: false }),
			what: () => "made visible",
			why: "MySQL has invisible columns from 8.0.23: SELECT * returns this column at the destination",
		},
	},
];

/** Converts a column's type, default and attributes, then its character set and collation. */
export function convertColumn(column: ColumnSchema, ctx: DialectContext): Verdict<ColumnSchema> {
	const verdict = applyRules(COLUMN_RULES, column, ctx);
	const { charset, collation } = verdict.value;
	if (charset !== null && collation !== null) {
		const cs = convertCharset({ charset, collation }, ctx);
		verdict.value = { ...verdict.value, ...cs.value };
		verdict.changes.push(...cs.changes);
		verdict.warnings.push(...cs.warnings);
		verdict.refusal ??= cs.refusal;
	}
	return verdict;
}
