import { type Token, tokenize } from "./sqltext.ts";

/**
 * The check of a user's row filter (`where` in a matching rule). A filter is pasted into
 * Ferry's own statements on the source (the precheck probe, chunk planning, the copy, replay's
 * filter evaluation, verification), so it must be an expression over the table's own row and
 * nothing else: what it may contain is listed here, and everything else is refused.
 *
 * It is read as the server reads it under `FILTER_SQL_MODE` (shared/db/filter-mode.ts), the
 * session sql_mode every one of those statements runs under: strings in '...' or "..." with
 * backslash escapes and doubled quotes, identifiers in backquotes. On top of that, a filter must
 * read the same under any sql_mode, so that a statement run under another one still could not
 * be turned into something else: no backslash inside a string (NO_BACKSLASH_ESCAPES would end
 * the string there) and no `||` (OR or concatenation, by PIPES_AS_CONCAT). A "..." string stays
 * one token under ANSI_QUOTES too (as an identifier), so it is allowed.
 *
 * Allowed: the table's columns (bare or backquoted, not qualified), literals (numbers, strings,
 * hex and bit strings, charset introducers, DATE/TIME/TIMESTAMP '...'), operators, parentheses,
 * the keywords of expressions (AND, IN, BETWEEN, LIKE, CASE, CAST ... AS type, INTERVAL units,
 * COLLATE name, ...) and calls of the deterministic functions in `FUNCTIONS`. Refused: anything
 * else, in particular statement separators, comments (also /*! ... *\/), subqueries, INTO,
 * variables, placeholders, stored functions, and functions that sleep, lock, read files, read
 * the clock or the session (NOW, RAND, SLEEP, BENCHMARK, GET_LOCK, LOAD_FILE, USER, ...): a
 * filter is evaluated at different times (copy, replay, verification) and must give the same
 * answer for the same row each time.
 */

/** Why a filter is refused: the offending token and the rule it breaks. */
export interface FilterRefusal {
	token: string;
	why: string;
}

/** Functions a filter may call: deterministic functions of their arguments (the session is UTC everywhere). */
const FUNCTIONS = new Set(
	[
		// control flow and comparison
		"IF IFNULL NULLIF COALESCE ISNULL GREATEST LEAST INTERVAL STRCMP FIELD FIND_IN_SET ELT",
		// strings
		"CONCAT CONCAT_WS LENGTH CHAR_LENGTH CHARACTER_LENGTH OCTET_LENGTH BIT_LENGTH LOWER UPPER LCASE UCASE",
		"SUBSTRING SUBSTR MID LEFT RIGHT TRIM LTRIM RTRIM REPLACE REVERSE LOCATE INSTR POSITION LPAD RPAD",
		"REPEAT SPACE ASCII ORD CHAR HEX UNHEX BIN OCT CONV SUBSTRING_INDEX INSERT SOUNDEX QUOTE",
		"TO_BASE64 FROM_BASE64 MD5 SHA1 SHA SHA2 CRC32 CAST CONVERT BINARY",
		"REGEXP_LIKE REGEXP_REPLACE REGEXP_SUBSTR REGEXP_INSTR",
		// numbers
		"ABS CEIL CEILING FLOOR ROUND TRUNCATE MOD SIGN SQRT POW POWER EXP LN LOG LOG2 LOG10 PI",
		"DEGREES RADIANS SIN COS TAN COT ASIN ACOS ATAN ATAN2 BIT_COUNT",
		// dates and times of a given value (not of the clock)
		"DATE TIME TIMESTAMP YEAR MONTH DAY DAYOFMONTH DAYOFWEEK DAYOFYEAR WEEKDAY WEEK WEEKOFYEAR YEARWEEK",
		"QUARTER HOUR MINUTE SECOND MICROSECOND DAYNAME MONTHNAME DATE_FORMAT TIME_FORMAT STR_TO_DATE",
		"DATE_ADD DATE_SUB ADDDATE SUBDATE ADDTIME SUBTIME DATEDIFF TIMEDIFF TIMESTAMPDIFF TIMESTAMPADD",
		"MAKEDATE MAKETIME LAST_DAY TO_DAYS FROM_DAYS TO_SECONDS EXTRACT PERIOD_ADD PERIOD_DIFF",
		"SEC_TO_TIME TIME_TO_SEC FROM_UNIXTIME UNIX_TIMESTAMP CONVERT_TZ",
		// JSON
		"JSON_EXTRACT JSON_UNQUOTE JSON_VALUE JSON_QUERY JSON_CONTAINS JSON_CONTAINS_PATH JSON_LENGTH",
		"JSON_TYPE JSON_VALID JSON_KEYS JSON_SEARCH JSON_DEPTH",
		// network addresses
		"INET_ATON INET_NTOA INET6_ATON INET6_NTOA IS_IPV4 IS_IPV6",
	].flatMap((line) => line.split(" ")),
);

/** Functions that read the clock when called without an argument. */
const NEEDS_ARGUMENT = new Set(["UNIX_TIMESTAMP"]);

/** Keywords of expressions (operators, CASE, CAST types, INTERVAL units, TRIM/EXTRACT syntax). */
const KEYWORDS = new Set(
	[
		"AND OR NOT XOR IS NULL TRUE FALSE UNKNOWN LIKE ESCAPE IN BETWEEN REGEXP RLIKE SOUNDS DIV MOD",
		"CASE WHEN THEN ELSE END BINARY COLLATE INTERVAL AS USING CHARACTER SET CHARSET",
		"LEADING TRAILING BOTH FROM FOR",
		"CHAR NCHAR SIGNED UNSIGNED INTEGER INT DECIMAL DOUBLE FLOAT REAL DATE TIME DATETIME TIMESTAMP YEAR JSON",
		"MICROSECOND SECOND MINUTE HOUR DAY WEEK MONTH QUARTER SECOND_MICROSECOND MINUTE_MICROSECOND",
		"MINUTE_SECOND HOUR_MICROSECOND HOUR_SECOND HOUR_MINUTE DAY_MICROSECOND DAY_SECOND DAY_MINUTE",
		"DAY_HOUR YEAR_MONTH",
	].flatMap((line) => line.split(" ")),
);

/** Words after which comes a character set or collation name. */
const NAME_BEFORE = new Set(["COLLATE", "USING", "CHARSET", "SET"]);

/** Punctuation of operators and lists; everything else (`;`, `?`, `:`, `{`, `\`, `[`) is refused. */
const PUNCTUATION = new Set(["(", ")", ",", ".", "=", "<", ">", "!", "+", "-", "*", "/", "%", "&", "|", "^", "~"]);

const NUMBER = /^(\d+(e\d*)?|0x[0-9a-f]+|0b[01]+)$/i;
/** A word that prefixes a string literal: X'..', B'..', N'..', _utf8mb4'..'. */
const LITERAL_PREFIX = /^(x|b|n|_[a-z0-9]+)$/i;
const CHARSET_NAME = /^[a-z0-9_]+$/i;

/**
 * The first reason `where` is not a row filter over a table with these columns, or null when
 * it is one. The server still has to accept it (the precheck probe), which catches what is
 * merely malformed; this check is about what a filter may contain at all.
 */
export function rowFilterRefusal(where: string, columns: readonly string[]): FilterRefusal | null {
	const known = new Set(columns.map((c) => c.toLowerCase()));
	const tokens = tokenize(where);
	const next = (i: number): Token | undefined => tokens.slice(i + 1).find((t) => t.kind !== "space");
	const previous = (i: number): Token | undefined => tokens.slice(0, i).findLast((t) => t.kind !== "space");
	let depth = 0;
	for (const [i, t] of tokens.entries()) {
		const refuse = (why: string): FilterRefusal => ({ token: t.text, why });
		if (t.unterminated) return refuse(`a ${t.kind === "quoted" ? "quoted name" : t.kind} is not closed`);
		switch (t.kind) {
			case "space":
				break;
			case "comment":
				return refuse("comments are not allowed");
			case "string":
				if (t.text.includes("\\")) {
					return refuse(
						"a backslash in a string is read differently by servers with NO_BACKSLASH_ESCAPES: write the character with CHAR(92), or use LIKE ... ESCAPE '!'",
					);
				}
				break;
			case "quoted": {
				const refusal = nameRefusal(t, tokens[i - 1], tokens[i + 1], next(i), previous(i), known);
				if (refusal) return refuse(refusal);
				break;
			}
			case "word": {
				const refusal = wordRefusal(t, tokens, i, next(i), previous(i), known);
				if (refusal) return refuse(refusal);
				break;
			}
			case "punct": {
				if (!PUNCTUATION.has(t.text)) return refuse(punctuationRefusal(t.text));
				const after = tokens[i + 1];
				if (t.text === "|" && after?.text === "|") {
					return refuse("|| is OR or string concatenation depending on sql_mode: write OR, or CONCAT()");
				}
				if (t.text === "-" && after?.text === "-")
					return refuse('"--" starts a comment: write "- -" for a double minus');
				if (t.text === "(") depth += 1;
				if (t.text === ")") depth -= 1;
				if (depth < 0) return refuse('a ")" closes more than was opened');
				if (t.text === "." && joinsNames(tokens[i - 1], tokens[i + 1])) return refuse(QUALIFIED);
				break;
			}
		}
	}
	if (depth !== 0) return { token: "(", why: 'a "(" is not closed' };
	return null;
}

function punctuationRefusal(p: string): string {
	switch (p) {
		case ";":
			return "a statement separator is not allowed";
		case "?":
			return "a ? placeholder is not allowed";
		case ":":
			return "assignments are not allowed";
		default:
			return `"${p}" is not an operator a row filter may use`;
	}
}

/** A backquoted name: a column of the table, and not called like a (stored) function. */
function nameRefusal(
	t: Token,
	before: Token | undefined,
	after: Token | undefined,
	next: Token | undefined,
	previous: Token | undefined,
	known: Set<string>,
): string | null {
	if (next?.text === "(") return `${t.text}(...) would call a stored function: only built-in functions are allowed`;
	if (before?.text === "." || after?.text === ".") return QUALIFIED;
	if (previous?.kind === "word" && NAME_BEFORE.has(previous.text.toUpperCase())) return null;
	if (!known.has((t.name ?? "").toLowerCase())) return `${t.text} is not a column of the table`;
	return null;
}

const QUALIFIED = "a qualified name (database or table before the column) is not allowed: write the column alone";

function wordRefusal(
	t: Token,
	tokens: Token[],
	i: number,
	next: Token | undefined,
	previous: Token | undefined,
	known: Set<string>,
): string | null {
	const word = t.text;
	const upper = word.toUpperCase();
	if (word.includes("@")) return "variables are not allowed";
	if (NUMBER.test(word)) return null;
	if (LITERAL_PREFIX.test(word) && tokens[i + 1]?.kind === "string") return null;
	if (tokens[i - 1]?.text === "." || tokens[i + 1]?.text === ".") return QUALIFIED;
	// Keywords followed by "(" (IN (...), DECIMAL(10,2), DATE(x)) are operators, types or harmless built-ins.
	if (KEYWORDS.has(upper)) return null;
	const charsetName = previous?.kind === "word" && NAME_BEFORE.has(previous.text.toUpperCase());
	if (charsetName && next?.text !== "(" && CHARSET_NAME.test(word)) return null;
	if (next?.text === "(") {
		if (!FUNCTIONS.has(upper)) {
			return `${upper}() is not a function a row filter may call: only deterministic functions of the row's values are allowed (no clock, randomness, sleep, locks, files or session)`;
		}
		const afterParen = tokens.slice(tokens.indexOf(next) + 1).find((x) => x.kind !== "space");
		if (NEEDS_ARGUMENT.has(upper) && afterParen?.text === ")") {
			return `${upper}() without an argument reads the clock: a row filter must give the same answer at every evaluation`;
		}
		return null;
	}
	if (known.has(word.toLowerCase())) return null;
	if (upper === "SELECT") return "subqueries are not allowed";
	if (upper === "INTO") return "INTO is not allowed";
	return `${word} is not a column of the table, nor a keyword or literal a row filter may use`;
}

/** Whether a "." joins names (qualified) rather than digits (a decimal number such as 1.5 or .5). */
function joinsNames(before: Token | undefined, after: Token | undefined): boolean {
	const name = (t: Token | undefined) => t?.kind === "quoted" || (t?.kind === "word" && !/^\d/.test(t.text));
	return name(before) || name(after);
}
