import { RemovalPolicy } from "aws-cdk-lib";
import * as apigw from "aws-cdk-lib/aws-apigateway";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { acknowledge } from "./nag.ts";

export interface FerryApiProps {
	readonly handler: lambda.IFunction;
}

/**
 * The REST API: every path and method (root and `{proxy+}`) goes to the api function through the Lambda
 * proxy integration, callers sign requests with SigV4 (AWS_IAM), the function validates bodies (zod).
 */
export class FerryApi extends Construct {
	readonly api: apigw.LambdaRestApi;
	readonly accessLogs: logs.LogGroup;

	constructor(scope: Construct, id: string, props: FerryApiProps) {
		super(scope, id);
		this.accessLogs = new logs.LogGroup(this, "AccessLogs", {
			retention: logs.RetentionDays.THREE_MONTHS,
		});
		this.api = new apigw.LambdaRestApi(this, "Api", {
			handler: props.handler,
			proxy: true,
			description: "Ferry control plane API",
			endpointTypes: [apigw.EndpointType.REGIONAL],
			defaultMethodOptions: { authorizationType: apigw.AuthorizationType.IAM },
			// Execution logging needs the account-level API Gateway CloudWatch role; kept on stack deletion
			// because other APIs in the account may rely on it.
			cloudWatchRole: true,
			cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
			deployOptions: {
				stageName: "v1",
				tracingEnabled: true,
				metricsEnabled: true,
				loggingLevel: apigw.MethodLoggingLevel.ERROR,
				dataTraceEnabled: false,
				throttlingRateLimit: 50,
				throttlingBurstLimit: 100,
				accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogs),
				accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields(),
			},
		});
		acknowledge(
			this.api,
			"AwsSolutions-APIG2",
			"Lambda proxy integration for every route; the api function validates each request with zod schemas and answers 400 itself.",
		);
		acknowledge(
			this.api,
			"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
			"The API Gateway account-level logging role uses the AWS managed policy API Gateway documents for it; only apigateway.amazonaws.com can assume the role.",
		);
		acknowledge(
			this.api,
			"AwsSolutions-APIG3",
			"Every method requires SigV4 (AWS_IAM), so unsigned traffic is refused by API Gateway before the function; stage throttling caps the rest. Attach a WAF web ACL if the API is ever opened to untrusted signers.",
		);
		acknowledge(
			this.api,
			"AwsSolutions-COG4",
			"The API is authorized with AWS_IAM (SigV4-signed requests checked against IAM policies), not a Cognito user pool.",
		);
	}
}
