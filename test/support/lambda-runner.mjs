// A stand-in for Lambda's Node.js runtime (no Lambda runs here): loads the handler named by
// _HANDLER from LAMBDA_TASK_ROOT the way the runtime does (an ES module, `index.handler`), then
// runs each invocation its parent sends over IPC and answers with the result or the error.
// Plain JavaScript, so the process is a bare Node with no loader: what loads here loads in Lambda.
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [file, name] = (process.env._HANDLER ?? "").split(".");
const started = Date.now();
let handler;
try {
	const module = await import(pathToFileURL(join(process.env.LAMBDA_TASK_ROOT ?? ".", `${file}.mjs`)).href);
	handler = module[name];
	if (typeof handler !== "function") throw new Error(`${process.env._HANDLER} is not a function`);
	process.send?.({ type: "ready", initMs: Date.now() - started });
} catch (err) {
	process.send?.({ type: "init-error", error: String(err?.stack ?? err) });
	process.exit(1);
}

const timeoutMs = Number(process.env.FERRY_TEST_TIMEOUT_SECONDS ?? 60) * 1000;

process.on("message", async ({ id, event }) => {
	const deadline = Date.now() + timeoutMs;
	const context = {
		awsRequestId: randomUUID(),
		functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
		functionVersion: "$LATEST",
		invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION}:123456789012:function:${process.env.AWS_LAMBDA_FUNCTION_NAME}`,
		memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
		logGroupName: `/aws/lambda/${process.env.AWS_LAMBDA_FUNCTION_NAME}`,
		logStreamName: "test",
		callbackWaitsForEmptyEventLoop: true,
		getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
	};
	try {
		const result = await handler(event, context);
		process.send?.({ type: "result", id, result: result ?? null });
	} catch (err) {
		process.send?.({ type: "error", id, error: String(err?.stack ?? err) });
	}
});
process.on("disconnect", () => process.exit(0));
