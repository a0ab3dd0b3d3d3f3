import { App } from "aws-cdk-lib";
import { afterAll } from "vitest";
import { FerryStack } from "../../cdk/ferry-stack.ts";
import { FAST_APP, stubSourceRoot } from "../cdk/stub-source.ts";

/** FerryStack on stub entries (test/cdk/stub-source.ts), with extra CDK context; removed after the file's tests. */
export function makeStack(context: Record<string, unknown> = {}): { app: App; stack: FerryStack } {
	const { sourceRoot, remove } = stubSourceRoot("cdk-stack");
	afterAll(remove);
	const app = new App({ ...FAST_APP, context: { ...FAST_APP.context, ...context } });
	const stack = new FerryStack(app, "FerryStack", { sourceRoot });
	return { app, stack };
}
