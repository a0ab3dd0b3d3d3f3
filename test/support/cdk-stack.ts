import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App } from "aws-cdk-lib";
import { afterAll } from "vitest";
import { FerryStack } from "../../cdk/ferry-stack.ts";

// Template tests do not need the real handlers: stub entries in a temporary source root, bundling skipped,
// aws-cdk-lib's built-in (slow) CloudFormation validation off.
const FUNCTIONS = ["api", "scheduler", "chunk-worker"];
const sourceRoot = mkdtempSync(join(tmpdir(), "ferry-cdk-test-"));
writeFileSync(
	join(sourceRoot, "package-lock.json"),
	JSON.stringify({
		packages: Object.fromEntries(
			["@vlasky/zongji", "@platformatic/kafka", "rocketmq-client-nodejs"].map((name) => [
				`node_modules/${name}`,
				{ version: "0.0.0-test" },
			]),
		),
	}),
);
// bundling installs the broker clients beside each function (functions.ts BROKER_CLIENTS): it reads this
writeFileSync(
	join(sourceRoot, "package.json"),
	JSON.stringify({
		name: "ferry-cdk-test",
		private: true,
		dependencies: { "@platformatic/kafka": "0.0.0-test", "rocketmq-client-nodejs": "0.0.0-test" },
	}),
);
for (const name of FUNCTIONS) {
	mkdirSync(join(sourceRoot, "functions", name), { recursive: true });
	writeFileSync(join(sourceRoot, "functions", name, "handler.ts"), "export const handler = async () => {};\n");
}
afterAll(() => rmSync(sourceRoot, { recursive: true, force: true }));

export function makeStack(context: Record<string, unknown> = {}): {
	app: App;
	stack: FerryStack;
} {
	const app = new App({
		context: { "aws:cdk:bundling-stacks": [], ...context },
		builtinCloudFormationValidation: false,
	});
	const stack = new FerryStack(app, "FerryStack", { sourceRoot });
	return { app, stack };
}
