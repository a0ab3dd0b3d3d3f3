import type { Engine } from "../../model/datasource.ts";
import type {
	CheckSchema,
	ForeignKeySchema,
	IndexSchema,
	ServerFlavor,
	TableOption,
	TableSchema,
} from "../snapshot.ts";
import { convertCharset } from "./charsets.ts";
import { ALL, applyRules, type DialectContext, NOT_MARIADB, type Rule, type Verdict } from "./rules.ts";

// ---------------------------------------------------------------- indexes

const INDEX_RULES: readonly Rule<IndexSchema>[] = [
	{
		engines: ["tidb"],
		when: (i) => i.kind === "fulltext",
		effect: {
			refuse: "TiDB has no FULLTEXT indexes (it parses the syntax and rejects the index)",
		},
	},
	{
		engines: ["oceanbase-mysql"],
		below: "4.3.1",
		when: (i) => i.kind === "fulltext",
		effect: { refuse: "OceanBase supports FULLTEXT indexes from V4.3.1" },
	},
	{
		engines: ["oceanbase-mysql"],
		when: (i) => i.kind === "fulltext",
		effect: {
			warn: "OceanBase builds full-text indexes only on CHAR, VARCHAR and TEXT with its own tokenizers: MATCH ... AGAINST results and relevance can differ",
		},
	},
	{
		engines: ["tidb"],
		when: (i) => i.kind === "spatial",
		effect: { refuse: "TiDB has no SPATIAL indexes" },
	},
	{
		engines: ["oceanbase-mysql"],
		below: "4.1.0",
		when: (i) => i.kind === "spatial",
		effect: { refuse: "OceanBase supports SPATIAL indexes from V4.1.0" },
	},
	{
		engines: NOT_MARIADB,
		when: (i) => i.hash,
		effect: {
			refuse:
				"only MariaDB enforces uniqueness of whole BLOB/TEXT values (a UNIQUE ... USING HASH key); a prefix key would reject rows that differ after the prefix",
		},
	},
	{
		engines: ["mariadb"],
		when: (i) => i.parts.some((p) => p.expression !== undefined),
		effect: {
			refuse: "MariaDB has no functional key parts: index a generated column instead",
		},
	},
	{
		engines: ["tidb"],
		when: (i) => i.parts.some((p) => p.descending),
		effect: {
			rewrite: ascending,
			what: () => "descending key parts made ascending",
			why: "TiDB parses DESC in index definitions but builds ascending indexes (it reads them backwards)",
		},
	},
	{
		engines: ["mysql"],
		below: "8.0.0",
		when: (i) => i.parts.some((p) => p.descending),
		effect: {
			rewrite: ascending,
			what: () => "descending key parts made ascending",
			why: "MySQL before 8.0 parses DESC in index definitions but builds ascending indexes",
		},
	},
	{
		engines: ["mariadb"],
		below: "10.8.0",
		when: (i) => i.parts.some((p) => p.descending),
		effect: {
			rewrite: ascending,
			what: () => "descending key parts made ascending",
			why: "MariaDB before 10.8 parses DESC in index definitions but builds ascending indexes",
		},
	},
	{
		engines: ["mysql"],
		below: "8.0.0",
		when: (i) => i.invisible,
		effect: {
			rewrite: (i) => ({ ...i, invisible: false }),
			what: () => "made visible",
			why: "MySQL before 8.0 has no invisible indexes: the optimiser may use this one",
		},
	},
];

function ascending(i: IndexSchema): IndexSchema {
	return { ...i, parts: i.parts.map((p) => ({ ...p, descending: false })) };
}

export function convertIndex(index: IndexSchema, ctx: DialectContext): Verdict<IndexSchema> {
	return applyRules(INDEX_RULES, index, ctx);
}

// ---------------------------------------------------------------- tables

const MYSQL_ENGINES = new Set(["innodb", "myisam", "memory", "csv", "archive", "blackhole", "mrg_myisam", "federated"]);
/** Table options every MySQL-compatible destination that keeps options understands. */
const PORTABLE_OPTIONS = new Set([
	"row_format",
	"key_block_size",
	"stats_persistent",
	"stats_auto_recalc",
	"stats_sample_pages",
	"checksum",
	"pack_keys",
	"delay_key_write",
	"max_rows",
	"min_rows",
	"avg_row_length",
]);
const SOURCE_FAMILY: Record<ServerFlavor, Engine> = {
	mariadb: "mariadb",
	mysql: "mysql",
	tidb: "tidb",
	oceanbase: "oceanbase-mysql",
};

const listOptions = (options: TableOption[]) => options.map((o) => `${o.name.toUpperCase()}=${o.value}`).join(" ");

const TABLE_RULES: readonly Rule<TableSchema>[] = [
	{
		engines: ["tidb", "oceanbase-mysql"],
		when: (t) => t.engine !== null && t.engine.toLowerCase() !== "innodb",
		effect: {
			rewrite: (t) => ({ ...t, engine: "InnoDB" }),
			what: (before) => `ENGINE=${before.engine} -> InnoDB`,
			why: "the destination has one transactional storage engine and accepts ENGINE=InnoDB as its name; non-transactional behaviour is not kept",
		},
	},
	{
		engines: ["mysql"],
		when: (t) => t.engine !== null && !MYSQL_ENGINES.has(t.engine.toLowerCase()),
		effect: {
			rewrite: (t) => ({ ...t, engine: "InnoDB" }),
			what: (before) => `ENGINE=${before.engine} -> InnoDB`,
			why: "MySQL has no such storage engine",
		},
	},
	{
		engines: ["tidb", "oceanbase-mysql"],
		when: (t) => t.options.length > 0,
		effect: {
			rewrite: (t) => ({ ...t, options: [] }),
			what: (before) => `table options ${listOptions(before.options)} dropped`,
			why: "the destination manages storage itself and ignores these options",
		},
	},
	{
		engines: ["mysql", "mariadb"],
		when: (t, ctx) =>
			SOURCE_FAMILY[ctx.source] !== ctx.destination.engine && t.options.some((o) => !PORTABLE_OPTIONS.has(o.name)),
		effect: {
			rewrite: (t) => ({
				...t,
				options: t.options.filter((o) => PORTABLE_OPTIONS.has(o.name)),
			}),
			what: (before) =>
				`table options ${listOptions(before.options.filter((o) => !PORTABLE_OPTIONS.has(o.name)))} dropped`,
			why: "these options belong to the source's engine family",
		},
	},
	{
		engines: ALL,
		when: (t) => t.partitioned,
		effect: {
			rewrite: (t) => ({ ...t, partitioned: false }),
			what: () => "partitioning not carried over",
			why: "Ferry does not copy partitioning definitions yet: to keep them, create the table partitioned at the destination before the migration (an existing empty table with the same columns is reused)",
		},
	},
	{
		engines: ["tidb"],
		when: (t) => t.autoIncrement !== null,
		effect: {
			warn: "TiDB allocates AUTO_INCREMENT values in batches per server: new values are unique but not consecutive or in insert order",
		},
	},
];

/** Converts table-level properties: engine, options, partitioning, default character set. */
export function convertTable(table: TableSchema, ctx: DialectContext): Verdict<TableSchema> {
	const verdict = applyRules(TABLE_RULES, table, ctx);
	const cs = convertCharset({ charset: table.charset, collation: table.collation }, ctx);
	verdict.value = { ...verdict.value, ...cs.value };
	verdict.changes.push(...cs.changes.map((c) => ({ ...c, what: `default ${c.what}` })));
	verdict.warnings.push(...cs.warnings);
	return verdict;
}

// ---------------------------------------------------------------- constraints

const FOREIGN_KEY_RULES: readonly Rule<ForeignKeySchema>[] = [
	{
		engines: ["tidb"],
		below: "8.5.0",
		when: () => true,
		effect: {
			warn: "TiDB enforces foreign keys from v6.6.0 (experimental until v8.5.0); older versions parse and ignore them",
		},
	},
];

export function convertForeignKey(fk: ForeignKeySchema, ctx: DialectContext): Verdict<ForeignKeySchema> {
	return applyRules(FOREIGN_KEY_RULES, fk, ctx);
}

const CHECK_RULES: readonly Rule<CheckSchema>[] = [
	{
		engines: ["mysql"],
		below: "8.0.16",
		when: () => true,
		effect: {
			warn: "MySQL before 8.0.16 parses CHECK constraints and ignores them",
		},
	},
	{
		engines: ["tidb"],
		when: () => true,
		effect: {
			warn: "TiDB enforces CHECK constraints only from v7.2.0 and with tidb_enable_check_constraint=ON; otherwise it ignores them",
		},
	},
];

export function convertCheck(check: CheckSchema, ctx: DialectContext): Verdict<CheckSchema> {
	return applyRules(CHECK_RULES, check, ctx);
}
