// Regenerates the documents built from code: docs/openapi.json and docs/ddl-support.md (with the
// DDL corpus's recorded outcomes). `npx tsx scripts/docs.ts`; test/docs.test.ts fails when they are out of date.
import { readFileSync, writeFileSync } from "node:fs";
import { openApiDocument } from "../shared/api/openapi.ts";
import { type DdlCorpusOutcome, ddlSupportMarkdown } from "../shared/ddl/doc.ts";

const corpus = JSON.parse(
	readFileSync(new URL("../test/replay/ddl-corpus-outcomes.json", import.meta.url), "utf8"),
) as DdlCorpusOutcome[];
writeFileSync(new URL("../docs/openapi.json", import.meta.url), `${JSON.stringify(openApiDocument(), null, "\t")}\n`);
writeFileSync(new URL("../docs/ddl-support.md", import.meta.url), ddlSupportMarkdown(corpus));
