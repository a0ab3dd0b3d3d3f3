import { type DdlSupportEntry, SUPPORTED_DDL } from "./ddl-support.ts";

/** docs/ddl-support.md, rendered from SUPPORTED_DDL so the document cannot drift from the code. */
export function ddlSupportMarkdown(): string {
	const rows = Object.entries(SUPPORTED_DDL).map(([form, e]: [string, DdlSupportEntry]) => {
		// a double-backtick code span: the logged statement quotes its names with backticks
		const logged = e.loggedAs ? ` (logged as \`\` ${e.loggedAs.sql.replaceAll("|", "\\|")} \`\` and its rows)` : "";
		return `| ${form} | ${e.support} | ${e.note.replaceAll("|", "\\|")} | \`${e.example.replaceAll("|", "\\|")}\`${logged} |`;
	});
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
		"Generated from `shared/replay/ddl-support.ts` by `npx tsx scripts/docs.ts`.",
		"",
		"| statement | support | what happens | example |",
		"|---|---|---|---|",
		...rows,
		"",
	].join("\n");
}
