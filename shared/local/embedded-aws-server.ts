// Runs the embedded DynamoDB- and SQS-compatible servers as their own process, for the
// service scripts: `tsx shared/local/embedded-aws-server.ts <dataDir> <dynamoPort> <sqsPort>`.
import { startEmbeddedAws } from "./embedded-aws.ts";

const [dataDir, dynamoPort, sqsPort] = process.argv.slice(2);
if (!dataDir || !dynamoPort || !sqsPort) {
	console.error("usage: embedded-aws-server.ts <dataDir> <dynamoPort> <sqsPort>");
	process.exit(2);
}
try {
	const aws = await startEmbeddedAws({
		dataDir,
		dynamoPort: Number(dynamoPort),
		sqsPort: Number(sqsPort),
	});
	console.log(`embedded AWS ready: dynamodb ${aws.dynamoEndpoint} sqs ${aws.sqsEndpoint}`);
	for (const signal of ["SIGTERM", "SIGINT"] as const) {
		process.on(signal, () => {
			aws.stop().finally(() => process.exit(0));
		});
	}
} catch (err) {
	console.error((err as Error).message);
	process.exit(1);
}
