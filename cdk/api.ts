import { RemovalPolicy } from "aws-cdk-lib";
import * as apigw from "aws-cdk-lib/aws-apigateway";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { acknowledge, acknowledgeWildcardResource } from "./nag.ts";

/** The API's one stage: the last part of its URL. */
const STAGE = "v1";

export interface FerryApiProps {
	readonly handler: lambda.IFunction;
	/** Encrypts the access-log group. */
	readonly encryptionKey?: kms.IKey;
}

/**
 * The REST API: every path and method (root and `{proxy+}`) goes to the api function through the Lambda
 * proxy integration, callers sign requests with SigV4 (AWS_IAM), the function validates bodies (zod).
 */
export class FerryApi extends Construct {
	readonly api: apigw.LambdaRestApi;
	readonly accessLogs: logs.LogGroup;
	/** execute-api:Invoke on every method: attach to the principals that may run projects. */
	readonly runProjectsPolicy: iam.ManagedPolicy;
	/** execute-api:Invoke on GET only: attach to the principals that may only read. */
	readonly readOnlyPolicy: iam.ManagedPolicy;

	constructor(scope: Construct, id: string, props: FerryApiProps) {
		super(scope, id);
		this.accessLogs = new logs.LogGroup(this, "AccessLogs", {
			retention: logs.RetentionDays.THREE_MONTHS,
			encryptionKey: props.encryptionKey,
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
				stageName: STAGE,
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
		this.runProjectsPolicy = this.callerPolicy(
			"RunProjectsPolicy",
			"*",
			"May call every method of the Ferry API (create and run projects). The API's own role mapping (iamRoles: admin, operator, viewer) still decides within it.",
		);
		this.readOnlyPolicy = this.callerPolicy(
			"ReadOnlyPolicy",
			"GET",
			"May call the Ferry API's GET methods only (read projects, progress, tickets). The API's own role mapping (iamRoles) still decides within it.",
		);
		acknowledge(
			this.api,
			"AwsSolutions-COG4",
			"The API is authorized with AWS_IAM (SigV4-signed requests checked against IAM policies), not a Cognito user pool.",
		);
	}

	/** A managed policy allowing `method` (or `*`) on every path of the API's stage, the root included. */
	private callerPolicy(id: string, method: string, description: string): iam.ManagedPolicy {
		const methods = this.api.arnForExecuteApi(method, "/*", STAGE);
		const policy = new iam.ManagedPolicy(this, id, {
			description,
			statements: [new iam.PolicyStatement({ actions: ["execute-api:Invoke"], resources: [methods] })],
		});
		acknowledgeWildcardResource(
			policy,
			methods,
			"Paths carry project and data-source ids, so the policy names the API's stage and method with a path wildcard; the API decides per route by role.",
		);
		return policy;
	}
}
