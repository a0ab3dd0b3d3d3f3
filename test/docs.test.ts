import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type DdlCorpusOutcome, ddlSupportMarkdown } from "../shared/ddl/doc.ts";
import { SUPPORTED_DDL } from "../shared/ddl/support.ts";

describe("docs/ddl-support.md", () => {
	it("is current (run `npx tsx scripts/docs.ts` after changing SUPPORTED_DDL or the corpus's outcomes) and lists every form", () => {
		const doc = readFileSync(new URL("../docs/ddl-support.md", import.meta.url), "utf8");
		const corpus = JSON.parse(
			readFileSync(new URL("./replay/ddl-corpus-outcomes.json", import.meta.url), "utf8"),
		) as DdlCorpusOutcome[];
		expect(doc).toBe(ddlSupportMarkdown(corpus));
		for (const form of Object.keys(SUPPORTED_DDL)) expect(doc).toContain(`| ${form} |`);
	});
});
