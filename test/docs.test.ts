import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ddlSupportMarkdown } from "../shared/replay/ddl-doc.ts";
import { SUPPORTED_DDL } from "../shared/replay/ddl-support.ts";

describe("docs/ddl-support.md", () => {
	it("is current (run `npx tsx scripts/docs.ts` after changing SUPPORTED_DDL) and lists every form", () => {
		const doc = readFileSync(new URL("../docs/ddl-support.md", import.meta.url), "utf8");
		expect(doc).toBe(ddlSupportMarkdown());
		for (const form of Object.keys(SUPPORTED_DDL)) expect(doc).toContain(`| ${form} |`);
	});
});
