import { type DdlSupportEntry, SUPPORTED_DDL } from "./support.ts";

/**
 * One statement of the differential DDL corpus and what replay made of it
 * (test/replay/ddl-differential.test.ts records them in test/replay/ddl-corpus-outcomes.json).
 */
export interface DdlCorpusOutcome {
	group: string;
	sql: string;
	/** identical at both ends; differs as the message says; refused; ignored; translated (text only). */
	outcome: "identical" | "differs" | "refused" | "ignored" | "translated";
	message?: string;
}

const OUTCOME_TEXT: Record<DdlCorpusOutcome["outcome"], string> = {
	identical: "identical",
	differs: "applied, differs as stated",
	refused: "refused",
	ignored: "ignored",
	translated: "translated",
};

const cell = (text: string) => text.replaceAll("|", "\\|").replaceAll("\n", " ");

/** A code span that holds backquotes: fenced by a longer run of them (CommonMark). */
function code(text: string): string {
	const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
	const fence = "`".repeat(longest + 1);
	return longest === 0 ? `${fence}${cell(text)}${fence}` : `${fence} ${cell(text)} ${fence}`;
}

/** docs/ddl-support.md, rendered from SUPPORTED_DDL and the corpus's outcomes so the document cannot drift from the code. */
export function ddlSupportMarkdown(corpus: readonly DdlCorpusOutcome[]): string {
	const rows = Object.entries(SUPPORTED_DDL).map(([form, e]: [string, DdlSupportEntry]) => {
		const logged = e.loggedAs ? ` (logged as ${code(e.loggedAs.sql)} and its rows)` : "";
		return `| ${form} | ${e.support} | ${cell(e.note)} | ${code(e.example)}${logged} |`;
	});
	const groups = [...new Set(corpus.map((o) => o.group))];
	const count = (outcome: DdlCorpusOutcome["outcome"]) => corpus.filter((o) => o.outcome === outcome).length;
	const tested = groups.flatMap((group) => [
		"",
		`### ${group}`,
		"",
		"| statement | outcome | what replay said |",
		"|---|---|---|",
		...corpus
			.filter((o) => o.group === group)
			.map((o) => `| ${code(o.sql)} | ${OUTCOME_TEXT[o.outcome]} | ${cell(o.message ?? "")} |`),
	]);
	return [
		"# DDL during incremental migration",
		"",
		"What replay does with each DDL statement it reads from the source's binlog. Supported",
		"statements are converted to the destination's dialect with the project's renames applied;",
		"ignored ones change nothing at the destination; a refused one stops replay with a ticket that",
		"names the statement: do the change by hand at the destination, then skip it (`ferry project skip <id>`).",
		"A skipped statement's effect on the project's tables is taken, and replay then writes every",
		"column both ends have: no column's values are left out unless a rule's column selection says so.",
		"",
		"Once the destination takes the writes (after a switchover, or all along in two-way sync),",
		"reverse replay carries the destination's DDL back to the source the same way, with the rules",
		"turned round; a table created at the destination goes back when the rules would migrate a",
		"source table of that name to it. Reverse replay does not run trigger DDL (the switchover moved",
		"the triggers), and stops with a ticket on DROP DATABASE and on a DROP TABLE of a table the source",
		"still has (MariaDB logs DROP TABLE without Ferry's mark, so it cannot be told from forward replay's);",
		"in two-way sync it passes over view DDL (MariaDB logs CREATE VIEW without the mark either).",
		"",
		"A statement runs at the destination in the source statement's own session (sql_mode, time zone,",
		"explicit_defaults_for_timestamp, as the binlog records them), and once only, even when a crash",
		"makes replay meet it again.",
		"Generated from `shared/ddl/support.ts` and the tested statements below by `npx tsx scripts/docs.ts`.",
		"",
		"| statement | support | what happens | example |",
		"|---|---|---|---|",
		...rows,
		"",
		"## Tested statements",
		"",
		`Each statement below ran at a MariaDB source, came back through Ferry's capture, translation and`,
		"replay into a MariaDB destination, and both ends were compared by SHOW CREATE TABLE and by their",
		"rows (test/replay/ddl-differential.test.ts, which also runs every replayed statement a second time",
		"as after a crash). `shop` stands for the migrated database, which keeps its name. MySQL-only syntax",
		"is translated from a MySQL 8.0 source without a server; its outcome shows the text MariaDB gets.",
		`Of ${corpus.length}: ${count("identical")} identical, ${count("differs")} applied with a stated difference, ${count("refused")} refused, ${count("ignored")} ignored, ${count("translated")} translated.`,
		...tested,
		"",
	].join("\n");
}
