import { App } from "aws-cdk-lib";
import { FerryStack } from "./ferry-stack.ts";
import { addNagChecks } from "./nag.ts";

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
