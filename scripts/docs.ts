// Regenerates the documents built from code: docs/openapi.json and docs/ddl-support.md.
// `npx tsx scripts/docs.ts`; test/docs.test.ts fails when they are out of date.
import { writeFileSync } from "node:fs";
import { openApiDocument } from "../shared/api/openapi.ts";
import { ddlSupportMarkdown } from "../shared/replay/ddl-doc.ts";

writeFileSync(new URL("../docs/openapi.json", import.meta.url), `${JSON.stringify(openApiDocument(), null, "\t")}\n`);
writeFileSync(new URL("../docs/ddl-support.md", import.meta.url), ddlSupportMarkdown());
