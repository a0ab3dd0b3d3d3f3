import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { App } from "aws-cdk-lib";
import { buildConsole } from "../console/build.ts";
import { FerryStack } from "./ferry-stack.ts";
import { addNagChecks } from "./nag.ts";

// the console's files are an asset of the stack: a fresh checkout has not built them yet
if (!existsSync(fileURLToPath(new URL("../console/dist/index.html", import.meta.url)))) await buildConsole();

const app = new App();
new FerryStack(app, "FerryStack", {
	description: "Ferry: online migration of MySQL-compatible databases",
	env: {
		account: process.env.CDK_DEFAULT_ACCOUNT,
		region: process.env.CDK_DEFAULT_REGION,
	},
});
addNagChecks(app);
app.synth();
