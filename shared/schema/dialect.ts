import { LOB_TYPES, SPATIAL_TYPES } from "../db/types.ts";
import type { Engine } from "../model/datasource.ts";

import { literalSql } from "./ddl.ts";
import type {
	CheckSchema,
	ColumnSchema,
	ForeignKeySchema,
	IndexSchema,
	ServerFlavor,
	TableOption,
	TableSchema,
} from "./snapshot.ts";
import { isCurrentTimestamp } from "./snapshot.ts";
import { backquote } from "./sqltext.ts";

/**
 * What each destination engine cannot take as the source wrote it, as tables of rules: a rule
 * names the engines (and, with `below`, the versions) it concerns, a test on the object, and one
 * effect: rewrite it (a "changed" report entry with why), refuse it (why), or warn. The planner
 * runs every object through its table; nothing engine-specific lives anywhere else.
 *
 * When the destination version is unknown, rules limited to older versions (`below`) do not
 * rewrite (a current version is assumed) and turn refusals into warnings that say which versions
 * they concern.
 */

export interface Destination {
	engine: Engine;
	/** The product version (`8.0.36`, `7.5.0` for TiDB, `4.2.1` for OceanBase), if known. */
	version?: string;
}

export interface DialectContext {
	source: ServerFlavor;
	destination: Destination;
}

export interface Change {
	what: string;
	why: string;
}

export interface Verdict<T> {
	value: T;
	changes: Change[];
	warnings: string[];
	/** Why the object cannot be created at the destination; null when it can. */
	refusal: string | null;
}

type Effect<T> =
	| { refuse: string }
	| { warn: string }
	| {
			rewrite: (subject: T, ctx: DialectContext) => T;
			what: (before: T, after: T) => string;
			why: string;
	  };

export interface Rule<T> {
	engines: readonly Engine[];
	/** The rule concerns destination versions older than this one only. */
	below?: string;
	when: (subject: T, ctx: DialectContext) => boolean;
	effect: Effect<T>;
}

const ALL: readonly Engine[] = ["mysql", "mariadb", "oceanbase-mysql", "tidb"];
const NOT_MARIADB: readonly Engine[] = ["mysql", "oceanbase-mysql", "tidb"];

export const LABEL: Record<Engine, string> = {
	mysql: "MySQL",
	mariadb: "MariaDB",
	tidb: "TiDB",
	"oceanbase-mysql": "OceanBase (MySQL mode)",
};

/** Properties of a destination that are not conversions. */
export interface DialectTraits {
	label: string;
	/** The keyword for an index the optimiser ignores. */
	invisibleIndex: "IGNORED" | "INVISIBLE";
	/** MySQL makes CHECK constraint names unique per database; MariaDB per table. */
	checkNamesPerDatabase: boolean;
}

const TRAITS: Record<Engine, DialectTraits> = {
	mariadb: {
		label: LABEL.mariadb,
		invisibleIndex: "IGNORED",
		checkNamesPerDatabase: false,
	},
	mysql: {
		label: LABEL.mysql,
		invisibleIndex: "INVISIBLE",
		checkNamesPerDatabase: true,
	},
	tidb: {
		label: LABEL.tidb,
		invisibleIndex: "INVISIBLE",
		checkNamesPerDatabase: true,
	},
	"oceanbase-mysql": {
		label: LABEL["oceanbase-mysql"],
		invisibleIndex: "INVISIBLE",
		checkNamesPerDatabase: true,
	},
};

export function traits(engine: Engine): DialectTraits {
	return TRAITS[engine];
}

function compareVersions(a: string, b: string): number {
	const pa = a.split(".").map((n) => Number.parseInt(n, 10) || 0);
	const pb = b.split(".").map((n) => Number.parseInt(n, 10) || 0);
	for (let i = 0; i < Math.max(pa.length, pb.length); i += 1) {
		const d = (pa[i] ?? 0) - (pb[i] ?? 0);
		if (d !== 0) return d;
	}
	return 0;
}

export function applyRules<T>(rules: readonly Rule<T>[], subject: T, ctx: DialectContext): Verdict<T> {
	const verdict: Verdict<T> = {
		value: subject,
		changes: [],
		warnings: [],
		refusal: null,
	};
	const { engine, version } = ctx.destination;
	for (const rule of rules) {
		if (!rule.engines.includes(engine) || !rule.when(verdict.value, ctx)) continue;
		if (rule.below && version !== undefined && compareVersions(version, rule.below) >= 0) continue;
		const uncertain = rule.below !== undefined && version === undefined;
		const effect = rule.effect;
		const maybe = (s: string) => (uncertain ? `if ${LABEL[engine]} is older than ${rule.below}: ${s}` : s);
		if ("refuse" in effect) {
			if (uncertain) verdict.warnings.push(maybe(effect.refuse));
			else verdict.refusal ??= effect.refuse;
		} else if ("warn" in effect) {
			verdict.warnings.push(maybe(effect.warn));
		} else if (!uncertain) {
			const before = verdict.value;
			verdict.value = effect.rewrite(before, ctx);
			verdict.changes.push({
				what: effect.what(before, verdict.value),
				why: effect.why,
			});
		}
	}
	return verdict;
}

// ---------------------------------------------------------------- character sets and collations

export interface CharsetPair {
	charset: string;
	collation: string;
}

const TIDB_CHARSETS = new Set(["ascii", "latin1", "binary", "utf8", "utf8mb4", "gbk"]);
const TIDB_COLLATIONS = new Set([
	"ascii_bin",
	"binary",
	"gbk_bin",
	"gbk_chinese_ci",
	"latin1_bin",
	"utf8_bin",
	"utf8_general_ci",
	"utf8_unicode_ci",
	"utf8mb4_bin",
	"utf8mb4_general_ci",
	"utf8mb4_unicode_ci",
	"utf8mb4_0900_ai_ci",
	"utf8mb4_0900_bin",
]);
const OCEANBASE_CHARSETS = new Set(["binary", "utf8mb4", "gbk", "gb18030", "utf16", "latin1"]);
const OCEANBASE_COLLATIONS = new Set([
	"binary",
	"utf8mb4_general_ci",
	"utf8mb4_bin",
	"utf8mb4_unicode_ci",
	"gbk_chinese_ci",
	"gbk_bin",
	"gb18030_chinese_ci",
	"gb18030_bin",
	"utf16_general_ci",
	"utf16_bin",
	"utf16_unicode_ci",
	"latin1_swedish_ci",
	"latin1_bin",
]);

/** The collation a closed list falls back to: binary stays binary, case-insensitive goes to the charset's default. */
function closest(pair: CharsetPair, supported: Set<string>, defaults: Record<string, string>): string {
	const binary = /_(bin|cs)$/.test(pair.collation) || pair.collation === "binary";
	if (binary && supported.has(`${pair.charset}_bin`)) return `${pair.charset}_bin`;
	return defaults[pair.charset] ?? `${pair.charset}_bin`;
}

const TIDB_DEFAULTS: Record<string, string> = {
	utf8mb4: "utf8mb4_general_ci",
	utf8: "utf8_general_ci",
	gbk: "gbk_chinese_ci",
	latin1: "latin1_bin",
	ascii: "ascii_bin",
	binary: "binary",
};
const OCEANBASE_DEFAULTS: Record<string, string> = {
	utf8mb4: "utf8mb4_general_ci",
	gbk: "gbk_chinese_ci",
	gb18030: "gb18030_chinese_ci",
	utf16: "utf16_general_ci",
	latin1: "latin1_swedish_ci",
	binary: "binary",
};

const describePair = (before: CharsetPair, after: CharsetPair) =>
	before.charset === after.charset
		? `collation ${before.collation} -> ${after.collation}`
		: `character set ${before.charset} (${before.collation}) -> ${after.charset} (${after.collation})`;

/** MariaDB's UCA 14.0.0 collations: `utf8mb4_uca1400_[language_][nopad_](ai|as)_(ci|cs)`. */
const UCA1400 = /^(utf8mb[34])_uca1400_(?:[a-z]+_)?(?:nopad_)?(ai|as)_(ci|cs)$/;

function toMysql0900(pair: CharsetPair): CharsetPair {
	const m = UCA1400.exec(pair.collation);
	if (!m) return pair;
	if (m[1] === "utf8mb3") return { charset: "utf8mb3", collation: "utf8mb3_unicode_520_ci" };
	// MySQL has no accent-insensitive, case-sensitive 0900 collation; as_cs is the closest.
	const accent = m[3] === "cs" ? "as" : m[2];
	return { charset: "utf8mb4", collation: `utf8mb4_0900_${accent}_${m[3]}` };
}

const CHARSET_RULES: readonly Rule<CharsetPair>[] = [
	{
		engines: ["tidb"],
		when: (p) => p.charset === "utf8mb3",
		effect: {
			rewrite: (p) => ({
				charset: "utf8",
				collation: p.collation.replace(/^utf8mb3_/, "utf8_"),
			}),
			what: describePair,
			why: "TiDB names the 3-byte UTF-8 character set utf8, not utf8mb3",
		},
	},
	{
		engines: ["tidb"],
		when: (p) => !TIDB_CHARSETS.has(p.charset),
		effect: {
			rewrite: (p) => ({
				charset: "utf8mb4",
				collation: closest({ ...p, charset: "utf8mb4" }, TIDB_COLLATIONS, TIDB_DEFAULTS),
			}),
			what: describePair,
			why: "TiDB stores only ascii, latin1, binary, utf8, utf8mb4 and gbk; the values are converted to utf8mb4 when copied, which holds every character",
		},
	},
	{
		engines: ["oceanbase-mysql"],
		below: "4.0.0",
		when: (p) => p.charset !== "utf8mb4" && p.charset !== "binary",
		effect: {
			rewrite: (p) => ({
				charset: "utf8mb4",
				collation: closest({ ...p, charset: "utf8mb4" }, OCEANBASE_COLLATIONS, OCEANBASE_DEFAULTS),
			}),
			what: describePair,
			why: "OceanBase before V4.0 stores only utf8mb4 and binary; the values are converted to utf8mb4 when copied",
		},
	},
	{
		engines: ["oceanbase-mysql"],
		when: (p) => !OCEANBASE_CHARSETS.has(p.charset),
		effect: {
			rewrite: (p) => ({
				charset: "utf8mb4",
				collation: closest({ ...p, charset: "utf8mb4" }, OCEANBASE_COLLATIONS, OCEANBASE_DEFAULTS),
			}),
			what: describePair,
			why: "OceanBase stores only utf8mb4, gbk, gb18030, utf16, latin1 and binary; the values are converted to utf8mb4 when copied, which holds every character",
		},
	},
	{
		engines: ["tidb"],
		below: "7.4.0",
		when: (p) => p.collation.startsWith("utf8mb4_0900_"),
		effect: {
			rewrite: (p) => ({
				...p,
				collation: closest(p, TIDB_COLLATIONS, TIDB_DEFAULTS),
			}),
			what: describePair,
			why: "TiDB supports the utf8mb4_0900 collations from v7.4.0",
		},
	},
	{
		engines: ["tidb"],
		when: (p) => !TIDB_COLLATIONS.has(p.collation),
		effect: {
			rewrite: (p) => ({
				...p,
				collation: closest(p, TIDB_COLLATIONS, TIDB_DEFAULTS),
			}),
			what: describePair,
			why: "TiDB's new collation framework has only a few collations: comparisons and sort order can differ (for latin1 and ascii only binary comparison exists)",
		},
	},
	{
		engines: ["oceanbase-mysql"],
		when: (p) => !OCEANBASE_COLLATIONS.has(p.collation),
		effect: {
			rewrite: (p) => ({
				...p,
				collation: closest(p, OCEANBASE_COLLATIONS, OCEANBASE_DEFAULTS),
			}),
			what: describePair,
			why: "OceanBase has only a few collations per character set: comparisons and sort order can differ",
		},
	},
	{
		engines: ["mysql"],
		when: (p) => UCA1400.test(p.collation),
		effect: {
			rewrite: toMysql0900,
			what: describePair,
			why: "MySQL has no UCA 14.0.0 (uca1400) collations; its utf8mb4_0900 collations (UCA 9.0.0) are the closest, but they are NO PAD: trailing spaces count in comparisons, and language tailoring is dropped",
		},
	},
	{
		engines: ["mysql"],
		when: (p) => p.collation === "utf8mb4_nopad_bin",
		effect: {
			rewrite: (p) => ({ ...p, collation: "utf8mb4_0900_bin" }),
			what: describePair,
			why: "MySQL's binary NO PAD collation for utf8mb4 is utf8mb4_0900_bin",
		},
	},
	{
		engines: ["mysql"],
		when: (p) => /_nopad_/.test(p.collation),
		effect: {
			rewrite: (p) => ({
				...p,
				collation: p.collation.replace("_nopad_", "_"),
			}),
			what: describePair,
			why: "MySQL has no NO PAD variants of these collations: trailing spaces are ignored in comparisons at the destination",
		},
	},
	{
		engines: ["mysql"],
		below: "8.0.0",
		when: (p) => p.collation.startsWith("utf8mb4_0900_"),
		effect: {
			rewrite: (p) => ({
				...p,
				collation: p.collation === "utf8mb4_0900_bin" ? "utf8mb4_bin" : "utf8mb4_unicode_520_ci",
			}),
			what: describePair,
			why: "MySQL before 8.0 has no utf8mb4_0900 collations; utf8mb4_unicode_520_ci is the newest UCA collation it has",
		},
	},
	{
		engines: ["mariadb"],
		when: (p) => p.collation.startsWith("utf8mb4_0900_"),
		effect: {
			rewrite: (p) => ({
				...p,
				collation:
					p.collation === "utf8mb4_0900_bin"
						? "utf8mb4_nopad_bin"
						: p.collation.replace(/^utf8mb4_(?:[a-z]+_)?0900_(a[is])_(c[is])$/, "utf8mb4_uca1400_nopad_$1_$2"),
			}),
			what: describePair,
			why: "MariaDB has no utf8mb4_0900 collations; its uca1400 NO PAD collations compare the same way on a newer Unicode version (language tailoring is dropped)",
		},
	},
	{
		engines: ["mariadb"],
		below: "10.10.0",
		when: (p) => UCA1400.test(p.collation),
		effect: {
			rewrite: (p) => ({
				...p,
				collation: /_nopad_/.test(p.collation) ? `${p.charset}_unicode_520_nopad_ci` : `${p.charset}_unicode_520_ci`,
			}),
			what: describePair,
			why: "MariaDB before 10.10 has no uca1400 collations; unicode_520 is the newest it has",
		},
	},
];

export function convertCharset(pair: CharsetPair, ctx: DialectContext): Verdict<CharsetPair> {
	return applyRules(CHARSET_RULES, pair, ctx);
}

// ---------------------------------------------------------------- columns

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
