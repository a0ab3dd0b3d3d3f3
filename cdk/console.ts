import { existsSync } from "node:fs";
import { join } from "node:path";
import { Aws, CfnOutput, Duration, Fn, RemovalPolicy, Stack } from "aws-cdk-lib";
import * as apigw from "aws-cdk-lib/aws-apigateway";
import * as cloudfront from "aws-cdk-lib/aws-cloudfront";
import * as origins from "aws-cdk-lib/aws-cloudfront-origins";
import * as cognito from "aws-cdk-lib/aws-cognito";
import type * as kms from "aws-cdk-lib/aws-kms";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as s3deploy from "aws-cdk-lib/aws-s3-deployment";
import { Construct } from "constructs";
import { acknowledge, acknowledgeWildcardResource } from "./nag.ts";

export interface FerryConsoleProps {
	/** The api function: the console's API ("ConsoleApi") calls the same one as the CLI's. */
	readonly handler: lambda.IFunction;
	/** The built console (console/build.ts; cdk/app.ts builds it first when missing). */
	readonly distDir: string;
	/** The managed-login domain's prefix, unique in the region (default `ferry-<account>`). */
	readonly domainPrefix?: string;
	/** Encrypts the console API's access logs (the Ferry construct's `encryptionKey`). */
	readonly encryptionKey?: kms.IKey;
}

/** The groups a console user is put in; the api function maps `cognito:groups` to Ferry's roles (shared/aws/api-caller.ts). */
export const CONSOLE_GROUPS = ["admin", "operator", "viewer"] as const;

/**
 * The web console in AWS: its files in a private bucket behind CloudFront (Origin Access
 * Control), the API on the same origin under `/api/*` (no CORS) through a second REST API whose
 * methods take a Cognito user pool's ID token, and sign-in through the pool's managed login
 * (authorization code with PKCE, a public client without a secret).
 */
export class FerryConsole extends Construct {
	readonly bucket: s3.Bucket;
	readonly distribution: cloudfront.Distribution;
	readonly userPool: cognito.UserPool;
	readonly client: cognito.UserPoolClient;
	readonly api: apigw.LambdaRestApi;
	/** The managed login's host (`<prefix>.auth.<region>.amazoncognito.com`). */
	readonly authDomain: string;

	constructor(scope: Construct, id: string, props: FerryConsoleProps) {
		super(scope, id);
		if (!existsSync(join(props.distDir, "index.html"))) {
			throw new Error(`the console is not built in ${props.distDir}: run \`npm run build:console\` first`);
		}

		this.userPool = new cognito.UserPool(this, "Users", {
			userPoolName: "ferry-console",
			selfSignUpEnabled: false,
			signInAliases: { email: true },
			autoVerify: { email: true },
			accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
			passwordPolicy: {
				minLength: 12,
				requireLowercase: true,
				requireUppercase: true,
				requireDigits: true,
				requireSymbols: true,
				tempPasswordValidity: Duration.days(3),
			},
			mfa: cognito.Mfa.REQUIRED,
			mfaSecondFactor: { otp: true, sms: false },
			featurePlan: cognito.FeaturePlan.ESSENTIALS,
			deletionProtection: true,
			removalPolicy: RemovalPolicy.RETAIN,
		});
		acknowledge(
			this.userPool,
			"AwsSolutions-COG8",
			"The Plus feature plan is billed per user for threat protection; see COG3.",
		);
		acknowledge(
			this.userPool,
			"AwsSolutions-COG3",
			"Threat protection (advanced security) needs the Plus feature plan, billed per user; MFA is required and there is no self sign-up, so an operator invites every user. Turn it on with FeaturePlan.PLUS where compromised-credential checks are wanted.",
		);
		for (const group of CONSOLE_GROUPS) {
			new cognito.UserPoolGroup(this, `Group-${group}`, {
				userPool: this.userPool,
				groupName: group,
				description: `Ferry's ${group} role in the console`,
			});
		}
		const prefix = props.domainPrefix ?? `ferry-${Aws.ACCOUNT_ID}`;
		const domain = this.userPool.addDomain("Login", {
			cognitoDomain: { domainPrefix: prefix },
			managedLoginVersion: cognito.ManagedLoginVersion.NEWER_MANAGED_LOGIN,
		});
		this.authDomain = Fn.join("", [domain.domainName, ".auth.", Aws.REGION, ".amazoncognito.com"]);

		this.api = this.consoleApi(props.handler, props.encryptionKey);

		this.bucket = new s3.Bucket(this, "Files", {
			blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
			enforceSSL: true,
			objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
			encryption: s3.BucketEncryption.S3_MANAGED,
			versioned: false,
			removalPolicy: RemovalPolicy.DESTROY,
		});
		acknowledge(
			this.bucket,
			"AwsSolutions-S1",
			"Holds only the console's built files, written by this stack's deployment and read by CloudFront through Origin Access Control; the API calls, which carry the data, are logged by ConsoleApi's access log.",
		);

		const headers = this.securityHeaders();
		const apiOrigin = new origins.RestApiOrigin(this.api);
		this.distribution = new cloudfront.Distribution(this, "Cdn", {
			comment: "Ferry web console",
			defaultRootObject: "index.html",
			httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
			priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
			defaultBehavior: {
				origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
				viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
				cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
				responseHeadersPolicy: headers,
			},
			additionalBehaviors: {
				"/api/*": {
					origin: apiOrigin,
					viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
					cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
					allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
					// API Gateway refuses a request carrying the viewer's Host (the distribution's)
					originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
					responseHeadersPolicy: headers,
				},
			},
		});
		acknowledge(
			this.distribution,
			"AwsSolutions-CFR1",
			"Ferry's operators may work from anywhere; every API call needs a signed-in Cognito user, so a geo restriction adds nothing a deployer cannot add for their own countries.",
		);
		acknowledge(
			this.distribution,
			"AwsSolutions-CFR2",
			"The console's files are static and cached; its API needs a Cognito ID token checked by API Gateway and is throttled per stage. Attach a WAF web ACL where the console faces untrusted networks at scale.",
		);
		acknowledge(
			this.distribution,
			"AwsSolutions-CFR3",
			"CloudFront's standard logs need an ACL-enabled log bucket; the calls that matter (the API) are logged by ConsoleApi's access log with the caller, and the static files hold no data.",
		);
		acknowledge(
			this.distribution,
			"AwsSolutions-CFR4",
			"The default *.cloudfront.net certificate cannot pin a minimum TLS version; give the distribution a custom domain with an ACM certificate and TLS_V1_2_2021 to enforce it.",
		);

		const url = `https://${this.distribution.distributionDomainName}/`;
		this.client = this.userPool.addClient("Console", {
			userPoolClientName: "ferry-console",
			generateSecret: false,
			authFlows: {},
			preventUserExistenceErrors: true,
			enableTokenRevocation: true,
			idTokenValidity: Duration.hours(1),
			accessTokenValidity: Duration.hours(1),
			refreshTokenValidity: Duration.hours(12),
			supportedIdentityProviders: [cognito.UserPoolClientIdentityProvider.COGNITO],
			oAuth: {
				flows: { authorizationCodeGrant: true, implicitCodeGrant: false, clientCredentials: false },
				scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
				callbackUrls: [url],
				logoutUrls: [url],
			},
		});
		// the newer managed login shows a page only for a client with a style: Cognito's own
		new cognito.CfnManagedLoginBranding(this, "LoginBranding", {
			userPoolId: this.userPool.userPoolId,
			clientId: this.client.userPoolClientId,
			useCognitoProvidedValues: true,
		}).node.addDependency(domain);

		// hashed files first (cached for a year), then the pages naming them (revalidated every time)
		const files = new s3deploy.BucketDeployment(this, "DeployFiles", {
			sources: [s3deploy.Source.asset(props.distDir, { exclude: ["index.html", "config.json"] })],
			destinationBucket: this.bucket,
			prune: false,
			cacheControl: [s3deploy.CacheControl.fromString("public, max-age=31536000, immutable")],
		});
		const pages = new s3deploy.BucketDeployment(this, "DeployPages", {
			sources: [
				s3deploy.Source.asset(props.distDir, { exclude: ["assets", "config.json"] }),
				s3deploy.Source.jsonData("config.json", {
					apiBase: "/api",
					auth: { kind: "cognito", domain: this.authDomain, clientId: this.client.userPoolClientId },
				}),
			],
			destinationBucket: this.bucket,
			prune: false,
			cacheControl: [s3deploy.CacheControl.noCache()],
		});
		pages.node.addDependency(files);
		this.acknowledgeDeployment();

		new CfnOutput(this, "ConsoleUrl", { key: "ConsoleUrl", value: url });
		new CfnOutput(this, "ConsoleUserPoolId", { key: "ConsoleUserPoolId", value: this.userPool.userPoolId });
	}

	/** The console's REST API: the api function behind a Cognito user pool authorizer on every method. */
	private consoleApi(handler: lambda.IFunction, encryptionKey?: kms.IKey): apigw.LambdaRestApi {
		const accessLogs = new logs.LogGroup(this, "ApiAccessLogs", {
			retention: logs.RetentionDays.THREE_MONTHS,
			encryptionKey,
		});
		const authorizer = new apigw.CognitoUserPoolsAuthorizer(this, "Authorizer", {
			cognitoUserPools: [this.userPool],
			authorizerName: "ferry-console-users",
			resultsCacheTtl: Duration.minutes(5),
		});
		const api = new apigw.LambdaRestApi(this, "ConsoleApi", {
			restApiName: "ConsoleApi",
			handler,
			proxy: true,
			description: "Ferry's API for the web console (Cognito ID tokens), behind its CloudFront distribution",
			endpointTypes: [apigw.EndpointType.REGIONAL],
			defaultMethodOptions: { authorizationType: apigw.AuthorizationType.COGNITO, authorizer },
			// the account's API Gateway logging role is the CLI API's (api.ts)
			cloudWatchRole: false,
			deployOptions: {
				stageName: "v1",
				tracingEnabled: true,
				metricsEnabled: true,
				loggingLevel: apigw.MethodLoggingLevel.ERROR,
				dataTraceEnabled: false,
				throttlingRateLimit: 50,
				throttlingBurstLimit: 100,
				accessLogDestination: new apigw.LogGroupLogDestination(accessLogs),
				accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields(),
			},
		});
		acknowledge(
			api,
			"AwsSolutions-APIG2",
			"Lambda proxy integration for every route; the api function validates each request with zod schemas and answers 400 itself.",
		);
		acknowledge(
			api,
			"AwsSolutions-APIG3",
			"Every method needs a Cognito ID token of the console's user pool, checked by API Gateway before the function; stage throttling caps the rest. Attach a WAF web ACL to the distribution for untrusted networks.",
		);
		return api;
	}

	/** The browser's rules for the console: only its own scripts, calls to itself and to the managed login. */
	private securityHeaders(): cloudfront.ResponseHeadersPolicy {
		const login = `https://${this.authDomain}`;
		return new cloudfront.ResponseHeadersPolicy(this, "Headers", {
			comment: "Ferry console: CSP and security headers",
			securityHeadersBehavior: {
				contentSecurityPolicy: {
					override: true,
					// uPlot sizes its canvas with style attributes: 'unsafe-inline' for styles only, as locally
					contentSecurityPolicy: Fn.join("", [
						"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; ",
						`connect-src 'self' ${login}; frame-ancestors 'none'; base-uri 'none'; form-action 'self' ${login}`,
					]),
				},
				strictTransportSecurity: {
					override: true,
					accessControlMaxAge: Duration.days(365),
					includeSubdomains: true,
				},
				contentTypeOptions: { override: true },
				frameOptions: { override: true, frameOption: cloudfront.HeadersFrameOption.DENY },
				referrerPolicy: { override: true, referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER },
			},
		});
	}

	/** BucketDeployment's handler is one function per stack, beside this construct rather than in it. */
	private acknowledgeDeployment(): void {
		const handler = Stack.of(this).node.children.find((c) => c.node.id.startsWith("Custom::CDKBucketDeployment"));
		if (!handler) throw new Error("BucketDeployment's handler was not found in the stack");
		acknowledge(
			handler,
			"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
			"CDK's BucketDeployment handler writes its logs with AWSLambdaBasicExecutionRole; it is a deploy-time custom resource, not part of the running service.",
		);
		const why =
			"BucketDeployment's grants to its deploy-time handler: read the CDK asset bucket, write this console bucket; the object-level wildcards are CDK's.";
		for (const action of ["s3:GetObject*", "s3:GetBucket*", "s3:List*", "s3:DeleteObject*", "s3:Abort*"]) {
			acknowledge(handler, `AwsSolutions-IAM5[Action::${action}]`, why);
		}
		acknowledgeWildcardResource(handler, `${this.bucket.bucketArn}/*`, why);
		// the default bootstrap's asset bucket, named by the stack's account and region (literal in a user's env-bound stack)
		const stack = Stack.of(this);
		acknowledgeWildcardResource(
			handler,
			`arn:${Aws.PARTITION}:s3:::cdk-hnb659fds-assets-${stack.account}-${stack.region}/*`,
			why,
		);
		acknowledge(
			handler,
			"AwsSolutions-L1",
			"BucketDeployment's handler runtime is chosen by aws-cdk-lib and moves with its upgrades.",
		);
	}
}
