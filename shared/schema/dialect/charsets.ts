import { applyRules, type DialectContext, type Rule, type Verdict } from "./rules.ts";

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
