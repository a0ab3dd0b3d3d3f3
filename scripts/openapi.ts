// Writes docs/openapi.json from the API's route table: `npx tsx scripts/openapi.ts`.
import { writeFileSync } from "node:fs";
import { openApiDocument } from "../shared/api/openapi.ts";

writeFileSync(new URL("../docs/openapi.json", import.meta.url), `${JSON.stringify(openApiDocument(), null, "\t")}\n`);
