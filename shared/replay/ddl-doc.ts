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
		"Generated from `shared/replay/ddl-support.ts` by `npx tsx scripts/docs.ts`.",
		"",
		"| statement | support | what happens | example |",
		"|---|---|---|---|",
		...rows,
		"",
	].join("\n");
}
